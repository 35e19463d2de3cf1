"""The Graph connector's parts without the simulator (its mapping: test_mapping.py):
credentials, Retry-After, error mapping, and the client and batcher against a scripted Graph
(see fakes.py for why)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import ssl
import time
import uuid
from typing import Any

import httpx
import pytest

from credsync.connectors.base import Account, PasswordOptions, StepOutcome
from credsync.connectors.graph._auth import parse_credential
from credsync.connectors.graph._checks import permissions_step, roles_step
from credsync.connectors.graph._errors import graph_error, retry_after, tls_reason, token_error
from credsync.connectors.registry import open_connector
from credsync.errors import (
    AccountNotFound,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryUnreachable,
    NotSupported,
    PermanentConnectorError,
    PolicyRejected,
    TransientConnectorError,
)
from credsync.testing.conformance import run
from credsync.types import Secret

from .fakes import GRAPH, FakeIdentity, config, connector, error, user_json

COMPLEXITY = (
    "The specified password does not comply with password complexity requirements. Please "
    "provide a different password."
)
ON_PREMISES = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)


# --- credentials ----------------------------------------------------------------------------
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIC+zCCAeOg\n-----END CERTIFICATE-----\n"


def test_credentials_are_told_apart() -> None:
    assert parse_credential("s3cr3t~value", "") == ("secret", "s3cr3t~value")
    for text in (KEY + CERT, CERT + KEY):
        kind, value = parse_credential(text, "")
        assert kind == "certificate"
        assert value == {"private_key": KEY.strip(), "public_certificate": CERT.strip()}
    assert parse_credential(KEY + CERT, "secret")[0] == "secret"


def test_unusable_certificate_credentials_are_refused_without_quoting_them() -> None:
    encrypted = KEY.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
    for text, words in (
        (encrypted + CERT, "encrypted, which is not supported"),
        (CERT, "one private key and the certificate"),
        ("just-a-secret", "one private key and the certificate"),
    ):
        with pytest.raises(DirectoryAuthFailed, match=words) as caught:
            parse_credential(text, "certificate")
        assert "MII" not in str(caught.value)
        assert "just-a-secret" not in str(caught.value)
    with pytest.raises(DirectoryAuthFailed, match="neither"):
        parse_credential("x", "password")


# --- errors ---------------------------------------------------------------------------------
def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": "0.5"}) == 0.5
    assert retry_after({}) is None
    assert retry_after({"Retry-After": "soon"}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    found = retry_after({"Retry-After": later})
    assert found is not None
    assert 25 <= found <= 31


def _body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def test_graph_answers_map_to_the_error_tree() -> None:
    def make(status: int, message: str = "m", **options: Any) -> Exception:
        return graph_error(status, _body("Code", message), name="d", where="w", **options)

    assert type(make(401)) is DirectoryAuthFailed
    denied = make(403, "Insufficient privileges to complete the operation.", denied_hint="hint")
    assert type(denied) is DirectoryDenied
    assert str(denied) == (
        "d: w: HTTP 403 Code: Insufficient privileges to complete the operation. (hint)"
    )
    assert type(make(404)) is AccountNotFound
    assert type(make(404, not_found=PermanentConnectorError)) is PermanentConnectorError
    throttled = graph_error(429, {}, name="d", where="w", headers={"Retry-After": "9"})
    assert type(throttled) is DirectoryUnreachable
    assert throttled.retry_after == 9.0
    assert type(make(500)) is TransientConnectorError
    assert type(make(400, COMPLEXITY, password_sent=True)) is PolicyRejected
    assert type(make(400, COMPLEXITY)) is PermanentConnectorError  # no password was sent
    assert type(make(400, ON_PREMISES, password_sent=True)) is PermanentConnectorError


def test_token_errors_keep_the_aadsts_text_without_trace_lines() -> None:
    err = token_error(
        {
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.\r\n"
            "Trace ID: abc\r\nCorrelation ID: def\r\nTimestamp: 2026-11-22 07:41:03Z",
        },
        name="d",
        where="get a token",
    )
    assert (
        str(err) == "d: get a token: invalid_client: AADSTS7000215: Invalid client secret provided."
    )


def test_tls_reasons_are_found_in_wrapped_errors() -> None:
    inner = ssl.SSLCertVerificationError(1, "certificate verify failed")
    inner.verify_message = "unable to get local issuer certificate"
    outer = httpx.ConnectError("boom")
    outer.__cause__ = inner
    assert tls_reason(outer) == "unable to get local issuer certificate"
    text = "HTTPSConnectionPool: (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
    text += "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
    text += "(_ssl.c:1006)')))"
    assert tls_reason(OSError(text)) == "self-signed certificate"
    assert tls_reason(OSError("connection refused")) is None


# --- the connector against a scripted Graph --------------------------------------------------
def test_registered_as_entra_and_no_password_checks() -> None:
    conn = open_connector(config())
    try:
        assert type(conn).__name__ == "GraphConnector"
        assert "fake-client-secret-value" not in repr(conn)
        assert "tenant=" in repr(conn)
        account = Account(id=str(uuid.uuid4()), username="a@b.test")
        with pytest.raises(NotSupported, match="cannot check a password"):
            run(conn.verify_password(account, Secret("x")))
    finally:
        run(conn.close())


class Batches:
    """A scripted $batch endpoint: ``answer(request item, attempt)`` -> (status, body,
    headers); records every batch's requests."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.batches: list[list[dict[str, Any]]] = []
        self.tries: dict[tuple[str, str], int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1.0/$batch", request.url
        items = json.loads(request.content)["requests"]
        self.batches.append(items)
        responses = []
        for item in items:
            key = (item["method"], item["url"].split("?")[0])
            self.tries[key] = self.tries.get(key, 0) + 1
            status, body, headers = self.answer(item, self.tries[key])
            responses.append({"id": item["id"], "status": status, "headers": headers,
                              "body": body})  # fmt: skip
        return httpx.Response(200, json={"responses": list(reversed(responses))})


def _ok(item: dict[str, Any], _: int) -> tuple[int, Any, dict[str, str]]:
    if item["method"] == "PATCH":
        return 204, None, {}
    uid = item["url"].split("/")[2].split("?")[0]
    return 200, user_json(uid, lastPasswordChangeDateTime="2026-11-22T08:00:00Z"), {}


def _push(conn: Any, ids: list[str], options: PasswordOptions | None = None) -> list[Any]:
    async def go() -> list[Any]:
        return list(
            await asyncio.gather(
                *(
                    conn.set_password(
                        Account(id=i, username=i),
                        Secret("Pw-1234-x!"),
                        options or PasswordOptions(),
                    )
                    for i in ids
                ),
                return_exceptions=True,
            )
        )

    return run(go())


def test_concurrent_pushes_go_out_in_full_batches_with_pairs_together() -> None:
    graph = Batches(_ok)
    conn = connector(graph)
    ids = [str(uuid.uuid4()) for _ in range(45)]
    try:
        results = _push(conn, ids)
    finally:
        run(conn.close())
    assert [r.password_stamp for r in results] == ["2026-11-22T08:00:00Z"] * 45
    assert sorted(len(b) for b in graph.batches) == [10, 20, 20, 20, 20]
    for batch in graph.batches:
        by_id = {item["id"]: item for item in batch}
        for item in batch:
            if item["method"] == "GET":
                [patch_id] = item["dependsOn"]
                assert by_id[patch_id]["url"] == item["url"].split("?")[0]
            else:
                assert item["body"]["passwordProfile"]["forceChangePasswordNextSignIn"] is False
                assert "passwordPolicies" not in item["body"]


def test_a_throttled_patch_is_sent_again_with_its_get_after_retry_after() -> None:
    def answer(item: dict[str, Any], attempt: int) -> tuple[int, Any, dict[str, str]]:
        if item["method"] == "PATCH" and attempt == 1:
            return 429, _body("TooManyRequests", "slow down"), {"Retry-After": "1"}
        if item["method"] == "GET" and attempt == 1:
            return 424, _body("FailedDependency", "prerequisite failed"), {}
        return _ok(item, attempt)

    graph = Batches(answer)
    conn = connector(graph)
    try:
        started = time.monotonic()
        [result] = _push(conn, [str(uuid.uuid4())])
        elapsed = time.monotonic() - started
    finally:
        run(conn.close())
    assert isinstance(result, Account)
    assert elapsed >= 0.95
    assert [len(b) for b in graph.batches] == [2, 2]
    assert graph.batches[1][1]["dependsOn"] == [graph.batches[1][0]["id"]]


def test_a_throttled_read_back_is_sent_again_alone() -> None:
    def answer(item: dict[str, Any], attempt: int) -> tuple[int, Any, dict[str, str]]:
        if item["method"] == "GET" and attempt == 1:
            return 429, _body("TooManyRequests", "slow down"), {"Retry-After": "0"}
        return _ok(item, attempt)

    graph = Batches(answer)
    conn = connector(graph)
    try:
        [result] = _push(conn, [str(uuid.uuid4())])
    finally:
        run(conn.close())
    assert isinstance(result, Account)
    assert [[i["method"] for i in b] for b in graph.batches] == [["PATCH", "GET"], ["GET"]]
    assert "dependsOn" not in graph.batches[1][0]


def test_push_refusals_map_per_user() -> None:
    ids = [str(uuid.uuid4()) for _ in range(4)]
    said = {
        ids[0]: (400, _body("Request_BadRequest", COMPLEXITY)),
        ids[1]: (400, _body("Request_BadRequest", ON_PREMISES)),
        ids[2]: (403, _body("Authorization_RequestDenied",
                            "Insufficient privileges to complete the operation.")),
        ids[3]: (404, _body("Request_ResourceNotFound", "Resource does not exist.")),
    }  # fmt: skip

    def answer(item: dict[str, Any], attempt: int) -> tuple[int, Any, dict[str, str]]:
        uid = item["url"].split("/")[2].split("?")[0]
        if item["method"] == "PATCH":
            status, body = said[uid]
            return status, body, {}
        return 424, _body("FailedDependency", "prerequisite failed"), {}

    conn = connector(Batches(answer))
    try:
        results = _push(conn, ids)
    finally:
        run(conn.close())
    assert [type(r) for r in results] == [
        PolicyRejected, PermanentConnectorError, DirectoryDenied, AccountNotFound,
    ]  # fmt: skip
    assert COMPLEXITY in str(results[0])
    assert "User-PasswordProfile.ReadWrite.All" in str(results[2])
    assert all("Pw-1234-x!" not in str(r) for r in results)


def test_never_expires_adds_to_the_current_policies() -> None:
    def answer(item: dict[str, Any], attempt: int) -> tuple[int, Any, dict[str, str]]:
        if item["method"] == "GET":
            uid = item["url"].split("/")[2].split("?")[0]
            return 200, user_json(uid, passwordPolicies="DisableStrongPassword"), {}
        return 204, None, {}

    graph = Batches(answer)
    conn = connector(graph)
    try:
        _push(conn, [str(uuid.uuid4())], PasswordOptions(must_change=True, never_expires=True))
    finally:
        run(conn.close())
    [patch] = [i for b in graph.batches for i in b if i["method"] == "PATCH"]
    assert patch["body"]["passwordPolicies"] == "DisableStrongPassword, DisablePasswordExpiration"
    assert patch["body"]["passwordProfile"]["forceChangePasswordNextSignIn"] is True


def test_a_401_renews_the_token_once_then_fails() -> None:
    identity = FakeIdentity()
    uid = str(uuid.uuid4())
    answers = iter([error(401, "InvalidAuthenticationToken", "Access token has expired.")])

    def graph(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or httpx.Response(200, json=user_json(uid))

    conn = connector(graph, identity)
    try:
        assert run(conn.get_account(uid)).id == uid
        assert identity.tokens == 2
    finally:
        run(conn.close())

    def always(request: httpx.Request) -> httpx.Response:
        return error(401, "InvalidAuthenticationToken", "Access token validation failure.")

    identity = FakeIdentity()
    conn = connector(always, identity)
    try:
        with pytest.raises(DirectoryAuthFailed, match="Access token validation failure"):
            run(conn.get_account(uid))
        assert identity.tokens == 2
    finally:
        run(conn.close())


def test_retries_end_in_directory_unreachable_with_retry_after() -> None:
    calls = 0

    def graph(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return error(503, "ServiceUnavailable", "busy", retry_after="0")

    conn = connector(graph)
    try:
        with pytest.raises(DirectoryUnreachable) as caught:
            run(conn.get_account(str(uuid.uuid4())))
    finally:
        run(conn.close())
    assert calls == 8
    assert caught.value.retry_after == 0.0
    assert "ServiceUnavailable" in str(caught.value)


def test_a_429_holds_back_the_other_requests() -> None:
    uid = str(uuid.uuid4())
    sent: list[float] = []
    first = False  # the warm-up call below is answered at once

    def graph(request: httpx.Request) -> httpx.Response:
        nonlocal first
        sent.append(time.monotonic())
        if first:
            first = False
            return error(429, "TooManyRequests", "slow down", retry_after="1")
        return httpx.Response(200, json=user_json(uid))

    conn = connector(graph)

    async def go() -> None:
        await conn.get_account(uid)  # token and connection ready
        sent.clear()
        nonlocal first
        first = True
        await asyncio.gather(*(conn.get_account(uid) for _ in range(5)))

    try:
        run(go())
    finally:
        run(conn.close())
    assert len(sent) == 6
    start = sent[0]
    assert sum(1 for t in sent if t - start >= 0.95) >= 1  # the retry waited
    late = [t for t in sent[1:] if t - start < 0.95]
    assert len(late) <= 4  # the others were under way already or waited too


def test_next_links_off_the_graph_host_are_refused() -> None:
    def graph(request: httpx.Request) -> httpx.Response:
        body = {
            "value": [user_json(str(uuid.uuid4()))],
            "@odata.nextLink": "https://evil.test/v1.0/users?x=1",
        }
        return httpx.Response(200, json=body)

    conn = connector(graph)

    async def collect() -> list[Account]:
        return [a async for a in conn.iter_accounts()]

    try:
        with pytest.raises(PermanentConnectorError, match="off its host"):
            run(collect())
    finally:
        run(conn.close())


def test_delta_rereads_objects_sent_with_few_properties() -> None:
    kept, partial, gone, removed = (str(uuid.uuid4()) for _ in range(4))
    link = f"{GRAPH}/v1.0/users/delta?$deltatoken=abc"

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1.0/$batch":
            items = json.loads(request.content)["requests"]
            out = []
            for item in items:
                uid = item["url"].split("/")[2].split("?")[0]
                if uid == gone:
                    out.append({"id": item["id"], "status": 404,
                                "body": _body("Request_ResourceNotFound", "gone")})  # fmt: skip
                else:
                    out.append({"id": item["id"], "status": 200, "body": user_json(uid)})
            return httpx.Response(200, json={"responses": out})
        if request.url.path == "/v1.0/auditLogs/directoryAudits":
            return httpx.Response(200, json={"value": []})  # who changed them: nobody logged
        assert request.url.path == "/v1.0/users/delta"
        assert request.headers["Prefer"] == "odata.maxpagesize=999"  # not 100 a page
        return httpx.Response(200, json={
            "value": [
                user_json(kept),
                {"id": partial, "lastPasswordChangeDateTime": "2026-11-22T09:00:00Z"},
                {"id": gone, "displayName": "x"},
                {"id": removed, "@removed": {"reason": "deleted"}},
                {"id": kept, **user_json(kept, displayName="Renamed")},
            ],
            "@odata.deltaLink": link,
        })  # fmt: skip

    conn = connector(graph)
    try:
        cursor = run(conn.changes_since(None)).cursor
        result = run(conn.changes_since(cursor))
    finally:
        run(conn.close())
    assert not result.full
    assert [a.id for a in result.changed] == [partial, kept]
    assert result.changed[1].display_name == "Renamed"
    assert set(result.removed) == {gone, removed}


def test_permissions_and_roles_steps() -> None:
    outcome, detail = permissions_step(["Directory.Read.All"])
    assert outcome is StepOutcome.WARNING
    assert "User-PasswordProfile.ReadWrite.All is missing" in detail
    assert permissions_step(["Group.Read.All"])[0] is StepOutcome.FAILED
    full = permissions_step(["User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All"])
    assert full == (
        StepOutcome.OK,
        "application permissions granted: User-PasswordProfile.ReadWrite.All, User.ReadWrite.All",
    )
    default_user = "b79fbf4d-3ef9-4689-8143-76b194e85509"
    outcome, detail = roles_step([default_user])
    assert outcome is StepOutcome.WARNING
    assert default_user not in detail
    outcome, detail = roles_step(
        ["fe930be7-5e62-47db-91af-98c3a49a38b1", "62e90394-69f5-4237-9190-012177145e10"]
    )
    assert outcome is StepOutcome.OK
    assert detail.startswith("directory roles: Global Administrator (may reset the password of")


def test_a_refused_token_is_directory_auth_failed_in_aadsts_words() -> None:
    identity = FakeIdentity(refuse="AADSTS7000215: Invalid client secret provided.")
    conn = connector(lambda r: httpx.Response(500), identity)
    try:
        with pytest.raises(DirectoryAuthFailed, match="AADSTS7000215") as caught:
            run(conn.get_account(str(uuid.uuid4())))
        assert "fake-client-secret-value" not in str(caught.value)
        assert "Trace ID" not in str(caught.value)
    finally:
        run(conn.close())


@pytest.mark.parametrize(
    ("status", "code", "said"),
    [
        (403, "Authorization_RequestDenied", "grant it AuditLog.Read.All"),
        (400, "Request_UnsupportedQuery", "not known this run"),
    ],
)
def test_an_unreadable_audit_log_is_a_note_not_a_failed_read(
    status: int, code: str, said: str
) -> None:
    """Who changed a password is optional: a refused audit log read leaves a note for the
    run's message and the delta's accounts as they are."""
    uid = str(uuid.uuid4())

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1.0/auditLogs/directoryAudits":
            return httpx.Response(status, json=_body(code, "no"))
        return httpx.Response(200, json={
            "value": [user_json(uid)],
            "@odata.deltaLink": f"{GRAPH}/v1.0/users/delta?$deltatoken=abc",
        })  # fmt: skip

    conn = connector(graph)
    try:
        result = run(conn.changes_since(None))
    finally:
        run(conn.close())
    assert [a.id for a in result.changed] == [uid]
    assert result.changed[0].password_changed_by is None
    [note] = result.notes
    assert said in note


def test_a_handshake_the_peer_closes_is_unreachable_not_tls() -> None:
    """Graph's endpoint gone mid-handshake (an EOF): the network's failure, retried, not a
    certificate to fix; as connectors._tls reads it for LDAP."""
    import socket
    import threading

    from credsync.connectors.graph._errors import translate
    from credsync.errors import DirectoryUnreachable

    listener = socket.create_server(("127.0.0.1", 0))

    def peer() -> None:
        conn, _ = listener.accept()
        conn.close()

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    with httpx.Client(trust_env=False) as client, pytest.raises(httpx.ConnectError) as raised:
        client.get(f"https://127.0.0.1:{port}/v1.0/users")
    thread.join(5)
    listener.close()
    assert tls_reason(raised.value) is None
    assert type(translate(raised.value, name="t", where="list users")) is DirectoryUnreachable
