"""The OpenLDAP test world itself (scripts/slapd + credsync.testing.slapd), with plain ldap3:
TLS with its own CA, StartTLS, the ppolicy rules the connector tests rely on, and the
server's life cycle."""

from __future__ import annotations

import os
import socket
import ssl
import uuid
from pathlib import Path

import pytest
from ldap3 import BASE, MODIFY_REPLACE, NONE, Connection, Server
from ldap3.core import exceptions as lx

from credsync.connectors._tls import ContextTls, make_context
from credsync.testing.slapd import LdapOu, SlapdAdmin, SlapdFacts, SlapdServer

pytestmark = pytest.mark.slapd

PUBLIC_CAS = Path("/etc/ssl/certs/ca-certificates.crt")
SYNC_REQUEST = "1.3.6.1.4.1.4203.1.9.1.1"
PPOLICY = "1.3.6.1.4.1.42.2.27.8.5.1"
PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def connection(
    facts: SlapdFacts,
    user: str | None = None,
    password: str | None = None,
    *,
    starttls: bool = False,
    ca: Path | None = None,
) -> Connection:
    """A plain ldap3 connection, the CA and name checked (by our context: ldap3's own name
    check uses the deprecated ssl.match_hostname)."""
    context = make_context(facts.directory_config(ca_file=ca or facts.ca_file))
    tls = ContextTls(context, facts.host)
    url = facts.ldap_url if starttls else facts.ldaps_url
    server = Server(facts.host, port=port(url), use_ssl=not starttls, tls=tls, get_info=NONE)
    conn = Connection(server, user, password, raise_exceptions=True, receive_timeout=10)
    conn.open()
    if starttls:
        conn.start_tls()
    if user is not None:
        conn.bind()
    return conn


def as_credsync(facts: SlapdFacts) -> Connection:
    return connection(facts, facts.bind_dn, facts.bind_password)


def root_dse(facts: SlapdFacts) -> dict[str, list[str]]:
    conn = connection(facts)
    try:
        conn.search("", "(objectClass=*)", BASE, attributes=["+"])
        raw = conn.response[0]["raw_attributes"]
        return {k: [bytes(v).decode() for v in vs] for k, vs in raw.items()}
    finally:
        conn.unbind()


# --- TLS ----------------------------------------------------------------------------------------
def test_ldaps_with_the_worlds_ca_and_name(slapd: SlapdFacts) -> None:
    context = ssl.create_default_context(cafile=str(slapd.ca_file))
    with (
        socket.create_connection((slapd.host, port(slapd.ldaps_url)), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert()
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]
    assert ("DNS", "localhost") in cert["subjectAltName"]
    with pytest.raises(lx.LDAPSocketOpenError, match="certificate verify failed"):
        connection(slapd, ca=PUBLIC_CAS)


def test_starttls_and_no_bind_in_clear(slapd: SlapdFacts) -> None:
    conn = connection(slapd, slapd.bind_dn, slapd.bind_password, starttls=True)
    assert conn.extend.standard.who_am_i() == f"dn:{slapd.bind_dn}"
    conn.unbind()
    clear = Connection(
        Server(slapd.host, port=port(slapd.ldap_url), get_info=NONE),
        slapd.bind_dn,
        slapd.bind_password,
        raise_exceptions=True,
    )
    with pytest.raises(lx.LDAPConfidentialityRequiredResult):
        clear.bind()
    clear.unbind()


def test_root_dse_offers_what_the_connector_uses(slapd: SlapdFacts) -> None:
    dse = root_dse(slapd)
    assert slapd.base_dn in dse["namingContexts"]
    assert {SYNC_REQUEST, PPOLICY} <= set(dse["supportedControl"])
    assert PASSWORD_MODIFY in dse["supportedExtension"]


def test_plain_server_has_no_overlays(slapd_plain: SlapdFacts) -> None:
    dse = root_dse(slapd_plain)
    assert not {SYNC_REQUEST, PPOLICY} & set(dse["supportedControl"])
    assert PASSWORD_MODIFY in dse["supportedExtension"]
    assert slapd_plain.policy_dn is None
    world = LdapOu.create(slapd_plain)
    try:
        user = world.create_user()
        state = world.admin.read(user.dn, ["entryUUID", "entryCSN", "modifyTimestamp", "+"])
        assert state["entryUUID"] == [user.uuid]
        assert "pwdChangedTime" not in state
        conn = as_credsync(slapd_plain)
        assert conn.extend.standard.modify_password(user.dn, new_password="x")  # no policy
        conn.unbind()
    finally:
        world.close()


# --- the bind identity ------------------------------------------------------------------------
def test_credsync_identity_reads_and_sets_passwords_only(ldap_ou: LdapOu) -> None:
    facts = ldap_ou.facts
    assert facts.bind_dn != facts.root_dn
    user = ldap_ou.create_user()
    conn = as_credsync(facts)
    try:
        conn.search(user.dn, "(objectClass=*)", BASE, attributes=["*", "+"])
        attrs = conn.response[0]["raw_attributes"]
        assert attrs["uid"] == [user.name.encode()]
        assert attrs["entryUUID"] == [user.uuid.encode()]
        assert attrs["entryCSN"]
        assert attrs["pwdChangedTime"]
        with pytest.raises(lx.LDAPInsufficientAccessRightsResult):
            conn.modify(user.dn, {"cn": [(MODIFY_REPLACE, ["someone else"])]})
        new = f"Pw-{uuid.uuid4().hex}"
        assert conn.extend.standard.modify_password(user.dn, new_password=new)
        conn.modify(user.dn, {"pwdReset": [(MODIFY_REPLACE, ["TRUE"])]})
    finally:
        conn.unbind()
    assert ldap_ou.admin.state(user.dn)["pwdReset"] == ["TRUE"]


# --- ppolicy ------------------------------------------------------------------------------------
def test_lockout_after_the_threshold_only_for_that_account(ldap_ou: LdapOu) -> None:
    user, neighbour = ldap_ou.create_user(), ldap_ou.create_user()
    ldap_ou.admin.bad_binds(user.dn, 4)
    assert ldap_ou.admin.bind_answer(user.dn, user.password)[0] == 0  # 4 < 5: still in
    ldap_ou.admin.bad_binds(user.dn, 5)
    state = ldap_ou.admin.state(user.dn)
    assert state["pwdAccountLockedTime"]
    assert ldap_ou.admin.bind_answer(user.dn, user.password)[0] == 49  # right, but locked
    assert ldap_ou.admin.bind_answer(neighbour.dn, neighbour.password)[0] == 0
    assert "pwdFailureTime" not in ldap_ou.admin.state(neighbour.dn)
    ldap_ou.admin.unlock(user.dn)
    assert ldap_ou.admin.bind_answer(user.dn, user.password)[0] == 0


def test_a_policy_of_the_users_own(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    policy = ldap_ou.admin.apply_policy(user.dn, pwdMaxFailure="2")
    assert ldap_ou.admin.state(user.dn)["pwdPolicySubentry"] == [policy]
    ldap_ou.admin.bad_binds(user.dn, 2)
    assert ldap_ou.admin.state(user.dn)["pwdAccountLockedTime"]


def test_quality_and_history_refusals_for_the_credsync_identity(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    conn = as_credsync(ldap_ou.facts)
    try:
        with pytest.raises(lx.LDAPConstraintViolationResult) as short:
            conn.extend.standard.modify_password(user.dn, new_password="short")
        assert short.value.message == "Password fails quality checking policy"
        with pytest.raises(lx.LDAPConstraintViolationResult) as same:
            conn.extend.standard.modify_password(user.dn, new_password=user.password)
        assert same.value.message == "Password is not being changed from existing value"
        assert conn.extend.standard.modify_password(user.dn, new_password=f"Pw-{uuid.uuid4()}")
        with pytest.raises(lx.LDAPConstraintViolationResult) as history:
            conn.extend.standard.modify_password(user.dn, new_password=user.password)
        assert history.value.message == "Password is in history of old passwords"
    finally:
        conn.unbind()
    # The rootdn (password administrator) is not checked.
    ldap_ou.admin.reset_password(user.dn, "short")
    assert ldap_ou.admin.bind_answer(user.dn, "short")[0] == 0


def test_pwd_changed_time_follows_changes(ldap_ou: LdapOu) -> None:
    user = ldap_ou.create_user()
    before = ldap_ou.admin.state(user.dn)
    assert before["pwdChangedTime"][0].endswith("Z")
    ldap_ou.admin.age_password(user.dn, "20200101000000Z")
    new = f"Pw-{uuid.uuid4().hex}"
    ldap_ou.admin.change_password_as_user(user.dn, user.password, new)
    after = ldap_ou.admin.state(user.dn)
    assert after["pwdChangedTime"][0] > "20200101000000Z"
    assert len(after["pwdHistory"]) == 1
    assert ldap_ou.admin.bind_answer(user.dn, new)[0] == 0


def test_disabled_expired_and_must_change_as_binds_see_them(ldap_ou: LdapOu) -> None:
    disabled, aged, reset = (ldap_ou.create_user() for _ in range(3))
    ldap_ou.admin.disable(disabled.dn)
    assert ldap_ou.admin.bind_answer(disabled.dn, disabled.password)[0] == 49
    ldap_ou.admin.age_password(aged.dn)
    # passwordExpired (0) in the control: only with the right password.
    assert ldap_ou.admin.bind_answer(aged.dn, aged.password) == (49, b"0\x03\x81\x01\x00")
    assert ldap_ou.admin.bind_answer(aged.dn, "wrong-one") == (49, b"0\x00")
    ldap_ou.admin.expire_password(reset.dn)
    # changeAfterReset (2): the bind succeeds, and says the password must be changed.
    assert ldap_ou.admin.bind_answer(reset.dn, reset.password) == (0, b"0\x03\x81\x01\x02")


# --- life cycle ---------------------------------------------------------------------------------
def test_a_server_of_its_own_starts_resets_and_stops(tmp_path: Path) -> None:
    server = SlapdServer()
    facts = server.start()
    directory = facts.state_dir
    try:
        assert server.running()
        assert facts.pid is not None
        admin = SlapdAdmin(facts)
        ou = admin.new_ou()
        admin.close()
        again = server.reset()
        assert (again.ldaps_url, again.ca_file) == (facts.ldaps_url, facts.ca_file)
        with SlapdAdmin(again) as admin:
            assert ou not in admin.children(again.base_dn)
            assert f"ou=services,{again.base_dn}" in admin.children(again.base_dn)
    finally:
        server.stop()
    assert not directory.exists()
    assert not server.running()
    with pytest.raises(ProcessLookupError):
        os.kill(facts.pid, 0)
