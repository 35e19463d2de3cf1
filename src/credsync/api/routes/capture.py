"""Capture: a directory's capture key, its enrolled forwarders (operators, with
directory.setup), and the forwarders' own two routes under ``/agents/{forwarder_id}``
(authenticated by their signature alone: no bearer token, no session; see the README's
"Two-way sync and capture" for the wire format)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from credsync.api.deps import Caller, State
from credsync.api.errors import ApiError, error_body, status_of
from credsync.api.routing import api_router, body_limit
from credsync.crypto.agent_keys import SIGNATURE_HEADER as AGENT_SIGNATURE_HEADER
from credsync.crypto.agent_keys import TIME_HEADER as AGENT_TIME_HEADER
from credsync.errors import CaptureSequence, CredsyncError
from credsync.vault.capture import CaptureKeyJson, EnrolmentJson, ForwarderJson
from credsync.vault.capture_agent import AgentCaptures
from credsync.vault.capture_batch import MAX_BATCH_BYTES
from credsync.vault.capture_intake import AcceptedJson, BatchResultJson

__all__ = ["CAPTURE_DESCRIPTION", "router"]

router = api_router(tags=["capture"])

CAPTURE_DESCRIPTION = """\
A batch of password changes captured at a domain controller, from an enrolled forwarder
(`credsync capture enroll DIRECTORY --json` gives its id and token, once).

**Authentication**: the signature alone. Header `Credsync-Signature: ed25519 <base64 of the
64-byte signature>` over exactly `b"credsync-capture-v1\\n" + path + b"\\n" + body` (the path
`/api/v1/agents/{forwarder_id}/captures`, ASCII; the raw body as sent), made with the
Ed25519 key whose 32-byte seed is the token's last part (`csf1.<forwarder_id>.<base64url
seed>`). No bearer token; a forwarder's token works on no other route.

**Body** (JSON, at most 4 MiB and 1,000 events): `forwarder_id` (the path's), `seq` (an
integer greater than the forwarder's last accepted one), `nonce` (32 lower-case hex digits,
random), `sent_at` (RFC 3339 UTC, `...Z`), `events`: each `{kind: password | deleted |
disabled | changed, object_guid (canonical lower-case UUID of objectGUID), object_sid, sam,
upn, uac, pwd_last_set (NT time), kvno, ciphertext_format, ciphertext, captured_at, dc}`
(all but kind, object_guid and captured_at may be null).

**Ciphertext formats**: `openpgp`: Samba's `virtualSambaGPG` as it is, an ASCII-armoured
OpenPGP message of the password in UTF-16-LE, encrypted to the directory's capture key
(`GET /directories/{ref}/capture/key`). For the Windows password-filter agent, the format of
the capture key's encryption subkey: `x25519-hkdf-sha256+a256gcm` (a Curve25519 key, the kind
made now): base64 of an ephemeral X25519 public key (32 bytes) || a 12-byte nonce || the
AES-256-GCM ciphertext and tag of the UTF-16-LE password, the AES key being HKDF-SHA256 (no
salt, 32 bytes) of the X25519 shared secret with info `"credsync-capture
x25519-hkdf-sha256+a256gcm v1" || ephemeral public key || subkey public key`;
`rsa-oaep-sha256+a256gcm` (an RSA-3072 key made before): base64 of an
RSA-OAEP(SHA-256, MGF1-SHA-256)-wrapped 32-byte AES key (to the capture key's RSA encryption
subkey) || a 12-byte nonce || the AES-256-GCM ciphertext and tag of the UTF-16-LE password.
Both with associated data `object_guid + "\\n" + str(pwd_last_set)` (UTF-8).
`lsa-x25519-hkdf-sha256+a256gcm`: the Windows password filter's spool record as it is (ASCII
lines `credsync-lsa-capture v1`, `domain`, `account`, `rid`, `notified_at`, `format
x25519-hkdf-sha256+a256gcm`, `ciphertext`), sealed as above but with the record's first five
values joined by `"\\n"` as associated data (lsass knows no objectGUID or pwdLastSet); it
opens only when its account is the event's `sam`, its RID the last part of `object_sid`, and
`pwd_last_set` is at most 120 s after its `notified_at`. Any other format,
a format of the other kind of key, or a ciphertext that does not open, is `rejected` (and
does not take the event's idempotency key: a corrected one may follow).

**Answers**, checked in this order: 401 `capture_unauthenticated` (unknown or revoked
forwarder, bad or missing signature, a body naming another forwarder); 400 naming the field
(a malformed body); 401 `capture_stale` (`sent_at` more than 300 s from the server's clock);
409 `capture_replayed` (a nonce the forwarder sent in the last 24 hours); 409
`capture_sequence` with `last_seq` (go on from the one after). Every refusal is audited.
Else 200 `{seq, results}`: one result per event, in order, each `{object_guid, pwd_last_set,
outcome, detail}` with outcome `accepted` (applied: a new version, a confirmation, a flag, a
pending capture: the detail says which), `duplicate` (this object_guid, pwd_last_set and kvno
were already received: nothing done), `stale` (older than a change already applied to the
account), `unlinked` (no credential linked to the account in this directory: nothing kept),
`out_of_scope`, `held` (a two-way change past the directory's inbound threshold: held in
quarantine, not applied), `ignored` or `rejected` (the detail says why). A 200 means all of it is
durably recorded: the forwarder may drop those events from its spool.
"""


class AcceptIn(BaseModel):
    """The flags whose captured passwords to accept."""

    model_config = ConfigDict(extra="forbid")

    flags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=500, description="Flag ids (or 8+ characters of each)."
    )


class AcceptedOut(TypedDict):
    results: list[AcceptedJson]
    """One per flag, in the order given."""


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=400, description="A name to know it by.")


async def _raw_body(request: Request) -> bytes:
    """The body as sent (its signature covers these bytes), within the batch limit."""
    declared = request.headers.get("content-length", "")
    too_large = ApiError(413, "too_large", "a capture batch is at most 4 MiB")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise too_large
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BATCH_BYTES:
            raise too_large
    return bytes(data)


RawBody = Annotated[bytes, Depends(_raw_body)]
Signature = Annotated[
    str | None,
    Header(alias="Credsync-Signature", description="ed25519 <base64 signature>"),
]
AgentSignature = Annotated[
    str | None,
    Header(alias=AGENT_SIGNATURE_HEADER, description="ed25519 <base64 signature>"),
]
AgentTime = Annotated[
    str | None, Header(alias=AGENT_TIME_HEADER, description="The request's unix time.")
]


# -- operators -------------------------------------------------------------------------------------
@router.get("/directories/{ref}/capture/key", response_model=CaptureKeyJson)
def capture_key(ref: str, actor: Caller, state: State) -> CaptureKeyJson:
    """The directory's capture key (made on first ask): ``fingerprint`` and the
    ASCII-armoured ``public_key`` to install on its DCs (smb.conf's ``password hash gpg key
    ids``). The secret part never leaves the vault's key store. Needs directory.setup."""
    return state.vault.capture.key(actor, ref, state.keys).to_json()


@router.post("/directories/{ref}/capture/forwarders", response_model=EnrolmentJson, status_code=201)
def enroll_forwarder(
    ref: str, actor: Caller, state: State, body: EnrolIn | None = None
) -> EnrolmentJson:
    """Enrol a forwarder for the directory: its ``forwarder_id`` and ``token``, shown this
    once (the vault keeps only its public key). Needs directory.setup."""
    name = body.name if body is not None else None
    return state.vault.capture.enroll(actor, ref, name).to_json()


@router.get("/directories/{ref}/capture/forwarders", response_model=list[ForwarderJson])
def list_directory_forwarders(ref: str, actor: Caller, state: State) -> list[ForwarderJson]:
    """The directory's forwarders, revoked ones too. Needs directory.setup."""
    return [f.to_json() for f in state.vault.capture.list(actor, ref)]


@router.get("/capture/forwarders", response_model=list[ForwarderJson])
def list_forwarders(
    actor: Caller,
    state: State,
    directory: str | None = Query(None, max_length=100, description="Only this directory's."),
) -> list[ForwarderJson]:
    """Forwarders of every directory within the operator's client access (or of one).
    Needs directory.setup."""
    return [f.to_json() for f in state.vault.capture.list(actor, directory)]


@router.post("/capture/forwarders/{forwarder_id}/revoke", response_model=ForwarderJson)
def revoke_forwarder(forwarder_id: str, actor: Caller, state: State) -> ForwarderJson:
    """Revoke a forwarder: its next request is refused. Needs directory.setup."""
    return state.vault.capture.revoke(actor, forwarder_id).to_json()


@router.post("/flags/accept", response_model=AcceptedOut)
def accept_captures(body: AcceptIn, actor: Caller, state: State) -> AcceptedOut:
    """Accept the passwords captured in the directory that these flags hold (report mode's
    ``changed_in_directory`` flags, and ``conflict`` flags the vault won): each becomes its
    credential's current password (source ``directory``) and its flag closes as
    ``accepted_capture``. Each flag has its own result, in the order given: ``accepted``
    (with the new ``secret_version``) or ``refused`` (no such flag, already resolved, nothing
    captured waiting) with the reason. Needs vault.read and vault.write."""
    done = state.vault.capture_intake.accept_many(actor, state.keys, body.flags)
    return AcceptedOut(results=[a.to_json() for a in done])


# -- forwarders ------------------------------------------------------------------------------------
def _refused(err: CredsyncError) -> JSONResponse:
    status, code = status_of(err)
    body: dict[str, Any] = error_body(status, code, str(err))
    if isinstance(err, CaptureSequence) and err.last_seq is not None:
        body["last_seq"] = err.last_seq
        body["error"]["last_seq"] = err.last_seq
    return JSONResponse(body, status)


@router.get("/agents/{forwarder_id}/capture-key", response_model=CaptureKeyJson)
def forwarder_capture_key(forwarder_id: str, state: State, signature: Signature = None) -> Any:
    """The capture key of the forwarder's directory, for ``credsync capture samba-setup``:
    signed like a batch, over an empty body. 404 until an operator made the key."""
    return state.vault.capture.key_for_forwarder(forwarder_id, signature).to_json()


@router.post(
    "/agents/{forwarder_id}/captures",
    response_model=BatchResultJson,
    description=CAPTURE_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@body_limit(MAX_BATCH_BYTES, "a capture batch is at most 4 MiB")
def post_captures(
    forwarder_id: str, body: RawBody, state: State, signature: Signature = None
) -> Any:
    try:
        result = state.vault.capture_intake.receive(forwarder_id, signature, body, state.keys)
    except CaptureSequence as err:
        return _refused(err)
    return result.to_json()


# -- remote agents' captures ----------------------------------------------------------------------
AGENT_CAPTURE_DESCRIPTION = """\
A batch of password changes captured at a domain controller, from a capture forwarder that
signs with a remote agent's credential (docs/remote-agent.md, "Captures") instead of a
forwarder token: `{directory}` is one of the agent's directories (its id or name).

**Authentication**: the agent's own request signature, as on its other routes:
`Credsync-Agent-Time: <unix seconds>` and `Credsync-Agent-Signature: ed25519 <base64>` over
`b"credsync-agent-v1\\n" + agent_id + "\\n" + time + "\\n" + path + "\\n" + body`, the
path with `{directory}` as given (not percent-encoded). 401 `agent_unauthenticated` (unknown,
revoked, rotated or unregistered agent, a time more than 300 s off, a bad signature); 403
`capture_forbidden` (a directory the agent is not bound to). Both audited.

**Body and answers**: as a forwarder's batch (`POST /agents/{forwarder_id}/captures`), with
`forwarder_id` = the agent's id. Its `seq` and nonces are the agent's for this directory.
"""


@router.get(
    "/remote-agents/{agent_id}/directories/{directory}/capture-key",
    response_model=CaptureKeyJson,
)
def agent_capture_key(
    agent_id: str,
    directory: str,
    state: State,
    signature: AgentSignature = None,
    when: AgentTime = None,
) -> Any:
    """The capture key of one of the agent's directories, for ``credsync capture
    samba-setup --agent-credential``: signed by the agent over an empty body. 404 until an
    operator made the key."""
    agents = AgentCaptures(state.vault.db, state.vault.audit)
    return agents.key(agent_id, directory, signature, when).to_json()


@router.post(
    "/remote-agents/{agent_id}/directories/{directory}/captures",
    response_model=BatchResultJson,
    description=AGENT_CAPTURE_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
@body_limit(MAX_BATCH_BYTES, "a capture batch is at most 4 MiB")
def post_agent_captures(
    agent_id: str,
    directory: str,
    body: RawBody,
    state: State,
    signature: AgentSignature = None,
    when: AgentTime = None,
) -> Any:
    intake = state.vault.capture_intake
    try:
        result = intake.receive_from_agent(agent_id, directory, signature, when, body, state.keys)
    except CaptureSequence as err:
        return _refused(err)
    return result.to_json()
