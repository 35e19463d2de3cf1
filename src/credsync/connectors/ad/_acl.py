"""May the bind identity reset passwords? A best-effort reading of an AD security descriptor.

AD grants "Reset Password" as the extended right ``00299570-246d-11d0-a768-00aa006e0529``
(a control-access right, 0x100) on user objects, or through broader grants: control access
with no object type (all extended rights), GENERIC_ALL. We read the DACL of an account in scope
(its nTSecurityDescriptor with the SD flags control asking for the DACL only, which a
non-administrator may read) - so what is evaluated is the ACL AD itself checks, inherited ACEs
included - and walk its ACEs in order for the bind identity's SIDs (its objectSid, its
tokenGroups, Everyone, Authenticated Users): the first ACE that denies or allows the right
decides, as Windows' access check does for one right. With no account in scope we read the
base DN and keep only ACEs that children of class user inherit.

Limits, said in the step's detail where they matter: privileged accounts (adminCount=1) get
their ACL from AdminSDHolder, so we prefer an unprotected account; the owner's implicit rights
and object-specific ACEs on other accounts are not considered.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RESET_PASSWORD", "Ace", "Decision", "parse_dacl", "reset_password_decision", "sid_text"]

RESET_PASSWORD = uuid.UUID("00299570-246d-11d0-a768-00aa006e0529")
USER_CLASS = uuid.UUID("bf967aba-0de6-11d0-a285-00aa003049e2")
EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"

_ALLOWED, _DENIED, _ALLOWED_OBJECT, _DENIED_OBJECT = 0x00, 0x01, 0x05, 0x06
_INHERIT_ONLY, _CONTAINER_INHERIT = 0x08, 0x02
_CONTROL_ACCESS, _GENERIC_ALL = 0x100, 0x10000000
_OBJECT_TYPE_PRESENT, _INHERITED_TYPE_PRESENT = 0x1, 0x2


def sid_text(raw: bytes, offset: int = 0) -> str:
    revision, count = raw[offset], raw[offset + 1]
    authority = int.from_bytes(raw[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", raw, offset + 8)
    return f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs)


@dataclass(frozen=True)
class Ace:
    allow: bool
    flags: int
    mask: int
    sid: str
    object_type: uuid.UUID | None = None
    inherited_object_type: uuid.UUID | None = None

    def grants_reset(self) -> bool:
        if self.mask & _GENERIC_ALL:
            return True
        if not self.mask & _CONTROL_ACCESS:
            return False
        return self.object_type in (None, RESET_PASSWORD)


def parse_dacl(descriptor: bytes) -> list[Ace]:
    """The ACEs of a self-relative security descriptor's DACL (other ACE types skipped)."""
    dacl_offset = struct.unpack_from("<I", descriptor, 16)[0]
    if dacl_offset == 0:
        return []
    count = struct.unpack_from("<H", descriptor, dacl_offset + 4)[0]
    pos = dacl_offset + 8
    aces = []
    for _ in range(count):
        ace_type, flags, size = struct.unpack_from("<BBH", descriptor, pos)
        body = pos + 4
        if ace_type in (_ALLOWED, _DENIED, _ALLOWED_OBJECT, _DENIED_OBJECT):
            mask = struct.unpack_from("<I", descriptor, body)[0]
            body += 4
            object_type = inherited = None
            if ace_type in (_ALLOWED_OBJECT, _DENIED_OBJECT):
                present = struct.unpack_from("<I", descriptor, body)[0]
                body += 4
                if present & _OBJECT_TYPE_PRESENT:
                    object_type = uuid.UUID(bytes_le=descriptor[body : body + 16])
                    body += 16
                if present & _INHERITED_TYPE_PRESENT:
                    inherited = uuid.UUID(bytes_le=descriptor[body : body + 16])
                    body += 16
            aces.append(
                Ace(
                    allow=ace_type in (_ALLOWED, _ALLOWED_OBJECT),
                    flags=flags,
                    mask=mask,
                    sid=sid_text(descriptor, body),
                    object_type=object_type,
                    inherited_object_type=inherited,
                )
            )
        pos += size
    return aces


@dataclass(frozen=True)
class Decision:
    allowed: bool | None  # None: no ACE decides
    sid: str | None = None


def reset_password_decision(
    aces: Iterable[Ace], sids: Iterable[str], *, on_container: bool = False
) -> Decision:
    """Whether ``sids`` (the bind identity's token) hold Reset Password under these ACEs.
    ``on_container``: the ACEs are a container's, so only those inherited by users count."""
    token = {*sids, EVERYONE, AUTHENTICATED_USERS}
    for ace in aces:
        if on_container:
            if not ace.flags & _CONTAINER_INHERIT:
                continue
            if ace.inherited_object_type not in (None, USER_CLASS):
                continue
        elif ace.flags & _INHERIT_ONLY:
            continue
        if ace.sid in token and ace.grants_reset():
            return Decision(ace.allow, ace.sid)
    return Decision(None)
