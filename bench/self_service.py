"""Self-service latency: a person's password change until it is set in Samba AD and in the
Office 365 tenant.

    python bench/self_service.py [--quick] [--changes N] [--people N]

A SQLite vault with a client whose directories are an OU of its own on the shared Samba AD DC
and a tenant of the Graph simulator in this process; N people (default 10), each linked to an
AD user and a cloud user, each with an authenticator app. Each person signs in to the portal
once (password + code), then, ``--changes`` times in turn (default 100), submits the change
page (``POST /my/{client}/password``: current password, a code, the new password twice)
through the real app in-process (Starlette's TestClient): the clock runs from the submit until
the page answers, which is after both pushes are done (the page shows their results). The
person's clock for codes is the vault's own (moved 30 s a change so every code is new). Each
change is then checked: an LDAP bind with the new password works and the tenant signs the user
in with it (ROPC).

Target (issue 17): p95 < 2 s. Baseline, in the same run: a bare connector ``set_password`` on
each directory (AD, Graph), and both at once, through connectors already open.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient
from ldap3 import Connection, Server

import _common as c
from credsync.api.state import ServerState
from credsync.connectors._tls import ContextTls, make_context
from credsync.connectors.base import PasswordOptions
from credsync.connectors.registry import open_connector
from credsync.server.app import create_app
from credsync.storage import people as people_rows
from credsync.sync.connect import directory_config, load_directory
from credsync.testing.graphsim import GraphSimulator, sign_in
from credsync.testing.samba import OuWorld, SambaDC
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft

NOW = time.time()


def strong() -> str:
    return f"Ss-{uuid.uuid4().hex[:14]}-Q7!"


class Person:
    def __init__(self, username: str, dn: str, upn: str, guid: str, cloud_id: str) -> None:
        self.username, self.dn, self.upn, self.guid, self.cloud_id = (
            username,
            dn,
            upn,
            guid,
            cloud_id,
        )
        self.password = ""
        self.secret = ""
        self.browser: TestClient | None = None
        self.csrf = ""


def binds(facts: Any, dn: str, password: str) -> bool:
    server = Server(
        facts.host,
        port=636,
        use_ssl=True,
        get_info="NO_INFO",
        tls=ContextTls(make_context(facts.directory_config()), facts.tls_server_name),
    )
    conn = Connection(server, dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def build(ou: OuWorld, sim: GraphSimulator, tmp: Path, people: int) -> tuple[Any, ...]:
    vault, admin, keys = c.make_vault(f"sqlite:///{tmp / 'vault.db'}")
    facts = ou.facts
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    ad_id = c.add_ad_directory(vault, admin, keys, "Bench", facts, ou.dn).id
    tenant = sim.add_tenant(users=0, groups=0)
    entra_id = c.add_entra_directory(
        vault, admin, keys, "Bench", sim.info(tenant),
        tenant_id=tenant.id, authority=sim.url, ca_pem=sim.ca_pem,
    ).id  # fmt: skip
    made = []
    for n in range(people):
        password = strong()
        user = ou.create_user(
            name=f"ssb{uuid.uuid4().hex[:10]}", password=password, display_name=f"Bench Person {n}"
        )
        cloud = tenant.create_user(upn=f"{user.name}@{tenant.domain}", password=password)
        cred = vault.credentials.add(
            admin,
            keys,
            "Bench",
            make_draft(title=f"Bench Person {n}", username=user.name, password=Secret(password)),
        )
        person = vault.people.add(
            admin,
            "Bench",
            {"username": user.name, "credential": cred.id, "display_name": f"Bench Person {n}"},
        )
        with vault.db.write() as conn:
            for directory_id, object_id in ((ad_id, user.guid), (entra_id, str(cloud.id))):
                people_rows.link_account(
                    conn,
                    people_rows.AccountRow(person.id, directory_id, object_id, utcnow(), "bench"),
                )
        enrolment = vault.person_auth.begin_totp(person.id)
        vault.person_auth.confirm_totp(person.id, pyotp.TOTP(enrolment.seed.reveal()).at(NOW))
        p = Person(user.name, user.dn, cloud.upn, user.guid, str(cloud.id))
        p.password, p.secret = password, enrolment.seed.reveal()
        made.append(p)
    return vault, admin, keys, made, ad_id, entra_id


async def baseline(
    vault: Any, keys: Any, ad_id: str, entra_id: str, people: list[Person], rounds: int
) -> dict[str, list[float]]:
    ad = open_connector(directory_config(vault.db, keys, load_directory(vault.db, ad_id)))
    graph = open_connector(directory_config(vault.db, keys, load_directory(vault.db, entra_id)))
    out: dict[str, list[float]] = {"ad": [], "graph": [], "both": []}
    try:
        for n in range(rounds):
            p = people[n % len(people)]
            ad_account = await ad.get_account(p.guid)
            cloud_account = await graph.get_account(p.cloud_id)
            secret = Secret(strong())  # the directories' only: the vault keeps p.password
            started = time.perf_counter()
            await ad.set_password(ad_account, secret, PasswordOptions())
            out["ad"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await graph.set_password(cloud_account, secret, PasswordOptions())
            out["graph"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await asyncio.gather(
                ad.set_password(ad_account, secret, PasswordOptions()),
                graph.set_password(cloud_account, secret, PasswordOptions()),
            )
            out["both"].append(time.perf_counter() - started)
    finally:
        await ad.close()
        await graph.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--time-limit", type=int, default=1200)
    args = parser.parse_args()
    if args.quick:
        args.changes, args.people = 10, 3
    c.header("self_service: a person's change -> set in AD and the tenant", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("self_service")
    dc = SambaDC()
    facts = dc.acquire()
    ou = OuWorld.create(facts, prefix="selfservice-bench")
    try:
        with tempfile.TemporaryDirectory() as tmp, GraphSimulator(port=0, seed=17) as sim:
            vault, _admin, keys, people, ad_id, entra_id = build(ou, sim, Path(tmp), args.people)
            client_id = vault.clients.get(_admin, "Bench").id
            base = asyncio.run(
                baseline(vault, keys, ad_id, entra_id, people, min(args.changes, 30))
            )
            app = create_app(ServerState(vault, keys))
            step = 0
            vault.person_auth.clock = lambda: NOW + 30 * step
            for p in people:  # sign in once: password, then a code
                step += 1
                p.browser = TestClient(app, follow_redirects=True)
                page = p.browser.get(f"/my/{client_id}/sign-in")
                token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
                answer = p.browser.post(
                    f"/my/{client_id}/sign-in",
                    data={"csrf_token": token, "username": p.username, "password": p.password},
                )
                assert answer.url.path.endswith("/sign-in/code"), (answer.url, answer.text[-1500:])
                answer = p.browser.post(
                    f"/my/{client_id}/sign-in/code",
                    data={
                        "csrf_token": token,
                        "code": pyotp.TOTP(p.secret).at(NOW + 30 * step),
                        "next": f"/my/{client_id}/password",
                    },
                )
                assert answer.url.path.endswith("/password"), answer.text[-500:]
                p.csrf = re.findall(r'name="csrf_token" value="([^"]+)"', answer.text)[0]
            samples: list[float] = []
            for n in range(args.changes):
                p = people[n % len(people)]
                step += 1
                new = strong()
                assert p.browser is not None
                started = time.perf_counter()
                answer = p.browser.post(
                    f"/my/{client_id}/password",
                    data={
                        "csrf_token": p.csrf,
                        "current_password": p.password,
                        "code": pyotp.TOTP(p.secret).at(NOW + 30 * step),
                        "new_password": new,
                        "new_password_again": new,
                    },
                )
                samples.append(time.perf_counter() - started)
                done = re.findall(r'data-status="(\w+)"', answer.text)
                assert answer.status_code == 200, answer.text[-800:]
                assert done == ["done", "done"], (answer.status_code, done, answer.text[-800:])
                p.password = new
            for p in people:
                assert binds(facts, p.dn, p.password), f"{p.username}: the AD bind failed"
                assert sign_in(sim, p.upn, p.password).ok, f"{p.upn}: the tenant refused"
            print(
                c.latency_table(
                    verdicts,
                    ("bare set_password, AD and Graph at once", base["both"]),
                    [
                        ("bare set_password, AD alone", base["ad"]),
                        ("bare set_password, Graph alone", base["graph"]),
                        ("change page submit -> both pushes done", samples),
                    ],
                )
            )
            p95 = c.percentile(samples, 95)
            verdicts.figures["p50 ms"] = round(c.median(samples) * 1000, 1)
            verdicts.figures["max ms"] = round(max(samples) * 1000, 1)
            verdicts.check(
                p95 < 2.0,
                f"self-service change p95 {p95 * 1000:.0f} ms < 2000 ms "
                f"over {len(samples)} changes (AD and the tenant)",
            )
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        ou.close()
        dc.release()
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
