"""A remote agent's credential carries its directories' captures (docs/remote-agent.md,
"Captures"): a batch signed with the agent's key, to its route for one of its directories,
goes through the same intake as a forwarder's (seq, nonces, clock window, idempotency), with
its state in a capture row the agent owns. Refused, and audited: a directory not bound to
the agent, a revoked agent, a rotated agent's old key, a bad signature, a signature made for
another route, a replayed nonce, an operator's token on the agent's route and the agent's
signature on an operator's route."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from credsync.crypto.agent_keys import SIGNATURE_HEADER, TIME_HEADER, AgentKeys
from credsync.testing.samba import OuWorld
from credsync.types import SyncMode
from sync.helpers import build_sync_world

from .conftest import CaptureWorld
from .helpers import batch_body, gpg_encrypt, now_text, password_event


@dataclass
class TestAgent:
    """A registered remote agent posting signed batches for one directory."""

    __test__ = False

    http: TestClient
    agent_id: str
    name: str
    keys: AgentKeys = field(repr=False)
    directory: str
    seq: int = 0

    def path(self, what: str = "captures", directory: str | None = None) -> str:
        where = directory or self.directory
        return f"/api/v1/remote-agents/{self.agent_id}/directories/{where}/{what}"

    def body(self, events: list[dict[str, Any]], **overrides: Any) -> bytes:
        self.seq += 1
        return batch_body(self.agent_id, self.seq, events, overrides)

    def headers(
        self, path: str, body: bytes, *, keys: AgentKeys | None = None, when: str | None = None
    ) -> dict[str, str]:
        when = when or str(int(time.time()))
        signer = keys or self.keys
        return {
            "Content-Type": "application/json",
            TIME_HEADER: when,
            SIGNATURE_HEADER: signer.sign(self.agent_id, when, path, body),
        }

    def post_raw(
        self,
        body: bytes,
        *,
        directory: str | None = None,
        headers: dict[str, str] | None = None,
        keys: AgentKeys | None = None,
    ) -> Response:
        path = self.path(directory=directory)
        sent = headers if headers is not None else self.headers(path, body, keys=keys)
        return self.http.post(path, content=body, headers=sent)

    def post(self, events: list[dict[str, Any]], **overrides: Any) -> Response:
        return self.post_raw(self.body(events, **overrides))

    def key(self, directory: str | None = None) -> Response:
        path = self.path("capture-key", directory)
        return self.http.get(path, headers=self.headers(path, b""))


def _agent(cw: CaptureWorld, name: str, directory: str | None = None) -> TestAgent:
    where = directory or cw.sw.directory
    made = cw.http.post("/api/v1/remote-agents", json={"name": name, "directories": [where]})
    assert made.status_code == 201, made.text
    keys = AgentKeys.generate()
    registered = cw.anonymous.post(
        "/api/v1/remote-agents/register",
        json={"token": made.json()["token"], "sign_key": keys.sign_public,
              "box_key": keys.box_public},
    )  # fmt: skip
    assert registered.status_code == 200, registered.text
    return TestAgent(cw.anonymous, registered.json()["id"], name, keys, where)


def _code(answer: Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def _denials(cw: CaptureWorld) -> list[dict[str, Any]]:
    entries = cw.sw.vault.audit.list(cw.sw.admin, action="capture.denied")
    return [e.to_json() for e in entries]  # type: ignore[misc]


def _linked(cw: CaptureWorld, mode: SyncMode = SyncMode.TWO_WAY):  # type: ignore[no-untyped-def]
    user = cw.sw.ad.create_user()
    cred = cw.sw.add(user, mode=mode)
    assert cw.sw.run().state == "done"
    return user, cred


def test_an_agent_s_batch_sets_the_password_and_is_listed(cw: CaptureWorld) -> None:
    user, cred = _linked(cw)
    agent = _agent(cw, "site-a")
    stamp = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"] + 10
    blob = gpg_encrypt(cw.public_key, cw.fingerprint, "Agent-Carried-1!")
    answer = agent.post([password_event(user.guid, stamp, blob)])
    assert answer.status_code == 200, answer.text
    assert answer.json()["seq"] == 1
    assert [r["outcome"] for r in answer.json()["results"]] == ["accepted"]
    assert cw.sw.reveal(cred) == "Agent-Carried-1!"
    newest = max(cw.sw.vault.credentials.history(cw.sw.admin, None, cred.id),
                 key=lambda v: v.version)  # fmt: skip
    assert (newest.source, newest.created_by) == ("directory", "forwarder agent site-a")
    # the same event again (Samba delivering it twice): a duplicate, nothing done
    again = agent.post([password_event(user.guid, stamp, blob)])
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate"]
    # what the agent delivered, in both lists
    listed = cw.http.get("/api/v1/remote-agents").json()
    mine = next(a for a in listed if a["name"] == "site-a")
    assert [(c["directory"], c["last_seq"]) for c in mine["captures"]] == [(cw.sw.directory, 2)]
    assert mine["captures"][0]["last_seen_at"] is not None
    rows = [f for f in cw.http.get("/api/v1/capture/forwarders").json()
            if f["remote_agent_id"] == agent.agent_id]  # fmt: skip
    assert [(r["id"], r["name"], r["last_seq"]) for r in rows] == [
        (mine["captures"][0]["forwarder_id"], "agent site-a", 2)
    ]
    enrolled = cw.sw.vault.audit.list(cw.sw.admin, action="capture.enrolled")
    [entry] = [e for e in enrolled if e.target_id == rows[0]["id"]]
    assert entry.actor == "agent:site-a"
    assert entry.details["remote_agent"] == "site-a"
    assert "name" not in entry.details


def test_the_directory_may_be_named_or_given_by_id_and_the_key_is_read_signed(
    cw: CaptureWorld,
) -> None:
    agent = _agent(cw, "site-a")
    key = agent.key()
    assert key.status_code == 200, key.text
    assert (key.json()["fingerprint"], key.json()["public_key"]) == (cw.fingerprint,
                                                                     cw.public_key)  # fmt: skip
    directory_id = cw.sw.vault.directories.get(cw.sw.admin, cw.sw.directory).id
    assert agent.key(directory_id).json()["fingerprint"] == cw.fingerprint
    # one capture row per directory, whichever way it is named
    assert agent.post([]).status_code == 200
    assert agent.post_raw(agent.body([]), directory=directory_id).status_code == 200
    rows = [f for f in cw.http.get("/api/v1/capture/forwarders").json()
            if f["remote_agent_id"] == agent.agent_id]  # fmt: skip
    assert [r["last_seq"] for r in rows] == [2]


def test_a_directory_not_bound_to_the_agent_is_403_and_audited(
    cw: CaptureWorld, ad_ou: OuWorld
) -> None:
    other_ou = OuWorld.create(ad_ou.facts)
    try:
        sw_b = build_sync_world(cw.sw.vault_world, other_ou)
        assert cw.http.get(f"/api/v1/directories/{sw_b.directory}/capture/key").status_code == 200
        mine = _agent(cw, "site-a")
        theirs = _agent(cw, "site-b", sw_b.directory)
        answer = mine.post_raw(mine.body([]), directory=sw_b.directory)
        assert _code(answer) == (403, "capture_forbidden")
        assert sw_b.directory in answer.json()["error"]["message"]
        assert _code(mine.key(sw_b.directory)) == (403, "capture_forbidden")
        assert _code(mine.post_raw(mine.body([]), directory="no-such-dir")) == (
            403,
            "capture_forbidden",
        )
        # signed by one agent, sent as the other's (the path names it): not its key
        body = theirs.body([])
        forged = theirs.headers(theirs.path(), body, keys=mine.keys)
        assert _code(theirs.post_raw(body, headers=forged)) == (401, "agent_unauthenticated")
        # the other agent's own batch for its own directory is taken
        assert theirs.post([]).status_code == 200
    finally:
        other_ou.close()
    denials = [(e["target_type"], e["details"]["check"]) for e in _denials(cw)]
    # the key asked for B: the same refusal as the batch's, audited once a minute
    assert denials.count(("remote_agent", "directory")) == 2
    assert ("remote_agent", "signature") in denials


def test_a_revoked_agent_and_a_rotated_agent_s_old_key_are_refused_at_once(
    cw: CaptureWorld,
) -> None:
    revoked = _agent(cw, "site-r")
    assert revoked.post([]).status_code == 200
    assert cw.http.post("/api/v1/remote-agents/site-r/revoke").status_code == 200
    assert _code(revoked.post([])) == (401, "agent_unauthenticated")
    assert _code(revoked.key()) == (401, "agent_unauthenticated")
    listed = next(a for a in cw.http.get("/api/v1/remote-agents").json() if a["name"] == "site-r")
    assert listed["captures"][0]["revoked_at"] is not None  # its capture row too
    rotated = _agent(cw, "site-o")
    assert rotated.post([]).status_code == 200
    token = cw.http.post("/api/v1/remote-agents/site-o/rotate").json()["token"]
    assert _code(rotated.post([])) == (401, "agent_unauthenticated")
    # registered again with new keys: the same capture row goes on (its seq kept)
    new_keys = AgentKeys.generate()
    again = cw.anonymous.post(
        "/api/v1/remote-agents/register",
        json={"token": token, "sign_key": new_keys.sign_public, "box_key": new_keys.box_public},
    )
    assert again.status_code == 200, again.text
    assert _code(rotated.post([])) == (401, "agent_unauthenticated")  # the old key still
    assert rotated.post_raw(rotated.body([]), keys=new_keys).status_code == 200
    denials = [(e["target_type"], e["details"]["check"]) for e in _denials(cw)]
    assert ("remote_agent", "revoked") in denials
    assert ("remote_agent", "registered") in denials
    assert ("remote_agent", "signature") in denials


def test_bad_signatures_stale_times_and_other_routes_signatures_are_401(
    cw: CaptureWorld,
) -> None:
    agent = _agent(cw, "site-a")
    body = agent.body([])
    path = agent.path()
    unsigned = {"Content-Type": "application/json", TIME_HEADER: str(int(time.time()))}
    assert _code(agent.post_raw(body, headers=unsigned)) == (401, "agent_unauthenticated")
    assert _code(agent.post_raw(body, keys=AgentKeys.generate())) == (
        401,
        "agent_unauthenticated",
    )
    stale = agent.headers(path, body, when=str(int(time.time()) - 400))
    assert _code(agent.post_raw(body, headers=stale)) == (401, "agent_unauthenticated")
    # a signature the agent made for its poll route, and one for the key route, sent here
    for other in (f"/api/v1/remote-agents/{agent.agent_id}/poll", agent.path("capture-key")):
        assert _code(agent.post_raw(body, headers=agent.headers(other, body))) == (
            401,
            "agent_unauthenticated",
        )
    # the batch's own clock window, as a forwarder's
    assert _code(agent.post([], sent_at=now_text(-400))) == (401, "capture_stale")
    # a body naming another sender than the path's agent
    assert _code(agent.post([], forwarder_id=cw.enroll().forwarder_id)) == (
        401,
        "capture_unauthenticated",
    )
    assert agent.post_raw(body).status_code == 200  # the untouched batch, well signed
    checks = [(e["target_type"], e["details"]["check"]) for e in _denials(cw)]
    # no signature, and a bad one: the same bad one again is audited once a minute
    assert checks.count(("remote_agent", "signature")) == 2
    assert checks.count(("remote_agent", "time")) == 1
    assert ("forwarder", "sent_at") in checks
    assert ("forwarder", "forwarder_id") in checks


def test_a_replayed_nonce_and_an_old_seq_are_409_as_for_a_forwarder(cw: CaptureWorld) -> None:
    agent = _agent(cw, "site-a")
    body = agent.body([])
    assert agent.post_raw(body).status_code == 200
    assert _code(agent.post_raw(body)) == (409, "capture_replayed")  # signed afresh, same body
    old = agent.post([], seq=1)
    assert _code(old) == (409, "capture_sequence")
    assert old.json()["last_seq"] == 1
    assert agent.post([], seq=5).status_code == 200
    checks = sorted(e["details"]["check"] for e in _denials(cw))
    assert checks == ["nonce", "seq"]


def test_operator_tokens_and_agent_signatures_do_not_cross(cw: CaptureWorld) -> None:
    agent = _agent(cw, "site-a")
    body = agent.body([])
    # an operator's token on the agent's capture routes
    bearer = {"Authorization": cw.http.headers["Authorization"], "Content-Type": "application/json"}
    assert _code(agent.http.post(agent.path(), content=body, headers=bearer)) == (
        401,
        "agent_unauthenticated",
    )
    assert _code(agent.http.get(agent.path("capture-key"), headers=bearer)) == (
        401,
        "agent_unauthenticated",
    )
    # the agent's signature on operators' routes
    for method, path in (
        ("GET", "/api/v1/capture/forwarders"),
        ("GET", f"/api/v1/directories/{cw.sw.directory}/capture/key"),
        ("POST", f"/api/v1/directories/{cw.sw.directory}/capture/forwarders"),
    ):
        sent = b"" if method == "GET" else b"{}"
        answer = agent.http.request(
            method, path, content=sent or None, headers=agent.headers(path, sent)
        )
        assert answer.status_code == 401, (path, answer.text)
    # nor on the forwarders' route, with the agent's capture row as the forwarder
    assert agent.post_raw(body).status_code == 200
    row = next(f for f in cw.http.get("/api/v1/capture/forwarders").json()
               if f["remote_agent_id"] == agent.agent_id)  # fmt: skip
    forwarder_path = f"/api/v1/agents/{row['id']}/captures"
    as_forwarder = agent.http.post(
        forwarder_path, content=body, headers=agent.headers(forwarder_path, body)
    )
    assert _code(as_forwarder) == (401, "capture_unauthenticated")
    checks = [(e["target_type"], e["details"]["check"]) for e in _denials(cw)]
    assert ("forwarder", "remote_agent") in checks
