"""What the chaos tests read of the shared Samba DC: how many times each account's password
was written, and whether a password binds.

Windows constructs ``msDS-ReplAttributeMetaData`` (the per-attribute replication metadata as
XML); Samba does not (the attribute comes back empty), but it keeps the same metadata in
``replPropertyMetaData`` (MS-DRSR's ``replPropertyMetaDataBlob``, version 1: a 16-byte header
with the entry count, then 48-byte entries: attid, version, originating time, invocation id,
originating USN, local USN). The version of ``unicodePwd``'s entry goes up by one with every
password write, whoever made it: that is the count of writes."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from ldap3 import BASE, Connection

from credsync.testing.samba_admin import OuWorld

UNICODE_PWD_ATTID = 0x0009005A  # unicodePwd's attribute id (MS-ADA3)


def password_versions(ad: OuWorld, dns: Iterable[str]) -> dict[str, int]:
    """The version of unicodePwd in each account's replication metadata."""
    found: dict[str, int] = {}
    conn = ad.admin.conn
    for dn in dns:
        conn.search(dn, "(objectClass=*)", BASE, attributes=["replPropertyMetaData"])
        [blob] = conn.response[0]["raw_attributes"]["replPropertyMetaData"]
        version, _, count, _ = struct.unpack_from("<IIII", blob, 0)
        assert version == 1, f"{dn}: replPropertyMetaData version {version}"
        for n in range(count):
            attid, attr_version = struct.unpack_from("<II", blob, 16 + 48 * n)
            if attid == UNICODE_PWD_ATTID:
                found[dn] = attr_version
                break
        else:
            found[dn] = 0
    return found


def binds(ad: OuWorld, dn: str, password: str) -> bool:
    """Whether ``password`` is the account's (one simple bind over LDAPS)."""
    conn = Connection(ad.admin._server(), dn, password, raise_exceptions=False)
    try:
        return bool(conn.bind())
    finally:
        conn.password = None
        conn.unbind()


def pwd_last_set(ad: OuWorld) -> dict[str, int]:
    """Every account of the OU: its pwdLastSet (one subtree search)."""
    from ldap3 import SUBTREE

    conn = ad.admin.conn
    conn.search(ad.dn, "(objectClass=user)", SUBTREE, attributes=["pwdLastSet"])
    return {
        e["dn"]: int(e["raw_attributes"]["pwdLastSet"][0] or 0)
        for e in conn.response
        if e.get("type") == "searchResEntry" and e["raw_attributes"].get("pwdLastSet")
    }
