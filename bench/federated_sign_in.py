"""Federated sign-in to Office 365 through the vault: the vault's page submitted (password +
TOTP) until the simulator's login.srf has signed the person in.

    python bench/federated_sign_in.py [--quick] [--people N] [--seconds S] [--processes P]
                                      [--workers W]

A SQLite vault served over HTTPS by ``credsync serve --workers W --no-agent`` (default 2: one
server process per core of the 2-core machine the targets are for), as an operator runs it, in
processes of its own, with a throwaway test CA's certificate (Entra wants an https
passiveSignInUri) with client Fabrikam, N people (default 300; 40 with
``--quick``) each with a password and an authenticator app, their domain federated (SAML 2.0)
to the vault in the Graph simulator, each person's Entra user with the matching immutable id.
The simulator runs in a process of its own (``_graphsim_server.py``, as ``credsync simulate
graph`` runs it): it plays Microsoft's cloud, whose CPU is not the vault server's.

1. **Latency**, one person after the other, each in a browser-like client of its own:
   Entra's sign-in hop (the simulator's AuthnRequest, not timed), the vault's sign-in
   address, the portal's sign-in page (not timed); then, timed, the password posted, the code
   posted, the continue step answering the signed response, and login.srf accepting it. The
   figure is the sum of those four requests' times (the "server time" of a sign-in: over
   loopback, with this process's client on the same 2 cores).
   Baseline in the same run and server: ``GET /api/v1/auth/whoami`` with an API token.
   Target: p95 under 200 ms.
2. **Throughput**: the same people, signed in at the vault (their portal sessions), sign in
   to Office 365 again and again from P client processes for S seconds (default 10 s, 4
   processes, so that the clients' work is not in the server's process): each
   sign-in is the simulator's hop, the vault's sign-in address, the continue step (the
   signed response, audited) and login.srf. Target: 200 sign-ins per second without an
   error. (The whole portal sign-in can't be repeated at that rate: a TOTP code is good once
   per person and 30-second step.) The load's clients speak HTTP/1.1 with keep-alive over
   TLS through ``http.client`` (a fraction of httpx's CPU per request: on two cores the
   clients' CPU is taken from the servers'). Each process's CPU per sign-in is printed (the
   vault server, the simulator, the clients): what the machine's two cores are spent on.
"""

from __future__ import annotations

import argparse
import html
import http.client
import multiprocessing
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode, urljoin, urlsplit

import httpx

import _common as c
from _simproc import SimProcess as Sim

LATENCY_TARGET_S = 0.200
RATE_TARGET = 200.0
PASSWORD = "Bench-Federated-Pa55!"
_HIDDEN = re.compile(r'<input type="?hidden"? name="([^"]+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
_BASE64ISH = re.compile(r"[A-Za-z0-9+/=._~-]*")


def form_body(form: dict[str, str]) -> str:
    """``urlencode(form)``, with a value of base64's alphabet (a SAMLResponse: ~9 kB) escaped by
    three replacements: ``urlencode`` quotes such a value a character at a time in Python,
    ~0.9 ms of the client's CPU per sign-in (bench/README.md), more than its four requests."""
    return "&".join(
        f"{quote_plus(k)}="
        + (
            v.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
            if _BASE64ISH.fullmatch(v)
            else quote_plus(v)
        )
        for k, v in form.items()
    )


@dataclass
class Person:
    username: str
    upn: str
    totp: Any
    http: httpx.Client | None = None


def _form(text: str) -> tuple[str, dict[str, str]]:
    action = _ACTION.search(text)
    if action is None:
        raise RuntimeError(f"no form in the page: {text[:300]}")
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(text)}
    return html.unescape(action.group(1)), fields


class CliServer:
    """``credsync serve --workers N --no-agent`` over HTTPS as a process of its own (the
    product's command, as an operator runs it), on a free port; its CPU is read from /proc
    (the supervisor and every process it forked)."""

    def __init__(self, tmp: Path, url: str, cert: Path, key: Path, workers: int) -> None:
        env = {
            **os.environ,
            "CREDSYNC_HOME": str(tmp / "home"),
            "CREDSYNC_DATABASE_URL": url,
            "CREDSYNC_PASSPHRASE": c.PASSPHRASE,
            "CREDSYNC_OPERATOR": c.ADMIN,
            "CREDSYNC_OPERATOR_PASSWORD": c.ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "credsync", "serve", "--port", "0", "--no-agent",
             "--workers", str(workers), "--tls-cert", str(cert), "--tls-key", str(key)],
            env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.url = ""

    def __enter__(self) -> CliServer:
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        found = re.search(r"(https://127\.0\.0\.1:\d+)/", line)
        if found is None:
            self.proc.kill()
            raise SystemExit(f"credsync serve did not start: {line}{self.proc.stderr.read()}")
        self.url = found.group(1)
        return self

    def cpu(self) -> float:
        """CPU seconds so far of the server's processes (those alive now)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def setup(vault: Any, admin: Any, keys: Any, sim: Sim, base_url: str, people: int) -> list[Person]:
    import pyotp

    from credsync.errors import InvalidInput
    from credsync.types import CredentialType, Secret, SyncMode
    from credsync.vault.directory_input import DirectoryInput
    from credsync.vault.drafts import make_draft
    from credsync.vault.federated_domains import FederatedIdentity

    client = vault.clients.add(admin, keys, "Fabrikam")
    bind = vault.credentials.add(
        admin, keys, client.id,
        make_draft(title="bind", username="svc", password=Secret("Bind-Pa55word-1!"),
                   type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF),
    )  # fmt: skip
    given = DirectoryInput.of(
        {"url": "ldaps://127.0.0.1:1", "base_dn": "DC=fabrikam,DC=test", "bind_credential": bind.id}
    )
    directory = vault.directories.add(admin, client.id, "fabrikam-365", "active_directory", given)
    domain = "fed.fabrikam-bench.test"  # a fresh simulator: the name stays as given
    vault.federated_domains.record(
        admin, client.id, domain, directory_id=directory.id, base_url=base_url,
        login_url=f"{sim.authority}/login.srf", protocol="saml",
        mfa_behavior="enforceMfaByFederatedIdp",
    )  # fmt: skip
    fed = vault.federated_domains.set_state(admin, client.id, domain, "federated")
    current, _ = vault.idp_keys.certificates(client.id, keys=keys)
    made: list[Person] = []
    identities = []
    users = []
    for i in range(people):
        username = f"person{i:05d}"
        cred = vault.credentials.add(
            admin, keys, client.id,
            make_draft(title=username, username=username, password=Secret(PASSWORD)),
        )  # fmt: skip
        person = vault.people.add(admin, client.id, {"username": username, "credential": cred.id})
        seed = vault.person_auth.begin_totp(person.id).seed.reveal()
        totp = pyotp.TOTP(seed)
        # The previous step's code (the current one stays unspent for the sign-in), taken per
        # person: on a loaded machine making 300 people outlasts the one-step window. Taken
        # again once when refused: a step that ended between the code and the vault's check
        # made it two steps old (a loaded machine failed the setup so, 2026-12-08).
        for attempt in (1, 2):
            try:
                vault.person_auth.confirm_totp(person.id, totp.at(time.time() - 30))
                break
            except InvalidInput:
                if attempt == 2:
                    raise
        upn = f"{username}@{domain}"
        immutable = f"imm{uuid.uuid4().hex[:20]}"
        users.append({"upn_alias": username, "display_name": username, "immutable_id": immutable})
        identities.append(FederatedIdentity(person.id, immutable, upn))
        made.append(Person(username, upn, totp))
    federation = {
        "issuerUri": fed.issuer_uri, "signingCertificate": current.b64,
        "nextSigningCertificate": None, "passiveSignInUri": fed.sign_in_uri,
        "signOutUri": fed.sign_out_uri, "preferredAuthenticationProtocol": "saml",
        "federatedIdpMfaBehavior": "enforceMfaByFederatedIdp",
    }  # fmt: skip
    answer = sim.ask("federate", {"domain": domain, "federation": federation, "users": users})
    if answer.get("domain") != domain:
        raise SystemExit(f"the simulator added the domain as {answer.get('domain')!r}")
    vault.federated_domains.set_identities(admin, client.id, domain, identities)
    return made


def _hop(http: httpx.Client, sim_url: str, tenant_id: str, upn: str) -> tuple[str, dict[str, str]]:
    answer = http.get(f"{sim_url}/{tenant_id}/login", params={"user": upn})
    answer.raise_for_status()
    return _form(answer.text)


def _timed(samples: list[float], fn: Any, *args: Any, **kw: Any) -> httpx.Response:
    start = time.perf_counter()
    response: httpx.Response = fn(*args, **kw)
    samples.append(time.perf_counter() - start)
    return response


def full_sign_in(person: Person, sim_url: str, tenant_id: str, ca: str) -> float:
    """One person's whole sign-in; returns the time of its four timed requests."""
    http = httpx.Client(
        verify=ssl.create_default_context(cafile=ca), timeout=30, follow_redirects=False
    )
    person.http = http
    action, fields = _hop(http, sim_url, tenant_id, person.upn)
    onward = http.post(action, data=fields)  # the vault's sign-in address
    portal = http.get(httpx.URL(action).join(onward.headers["location"]))
    page_url = httpx.URL(action).join(portal.headers["location"])
    sign_in_page = http.get(page_url)
    _, form = _form(sign_in_page.text)
    spent: list[float] = []
    form.update(username=person.username, password=PASSWORD)
    code_step = _timed(spent, http.post, page_url, data=form)
    if code_step.status_code != 303:
        raise RuntimeError(f"password step: {code_step.status_code}")
    code_url = page_url.join(code_step.headers["location"])
    code_page = http.get(code_url)  # the code page itself: not timed (the person types)
    _, code_form = _form(code_page.text)
    code_form["code"] = person.totp.now()
    done = _timed(spent, http.post, code_url, data=code_form)
    if done.status_code != 303:
        raise RuntimeError(f"code step: {done.status_code}")
    answer = _timed(spent, http.get, code_url.join(done.headers["location"]))
    target, posted = _form(answer.text)
    final = _timed(spent, http.post, target, data=posted)
    if 'id="signed-in"' not in final.text:
        raise RuntimeError(f"login.srf refused: {final.text[:400]}")
    return sum(spent)


class Lean:
    """One keep-alive HTTPS connection to one server through ``http.client`` (the load's
    client: about a fifth of httpx's CPU per request). Nothing is retried: a dropped
    connection is an error of that sign-in, and the next one connects again."""

    def __init__(self, base_url: str, context: ssl.SSLContext) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.context = context
        self.conn: http.client.HTTPSConnection | None = None

    def send(
        self, method: str, url: str, form: dict[str, str] | None = None, cookie: str = ""
    ) -> tuple[int, str, str]:
        """(status, Location header, body text) of ``method`` on ``url`` (its path is used)."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = form_body(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=30
            )
        try:
            self.conn.request(method, target, body=body, headers=headers)
            answer = self.conn.getresponse()
            text = answer.read().decode("utf-8")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        return answer.status, answer.getheader("Location") or "", text

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def again(sim: Lean, vault: Lean, upn: str, cookie: str, sim_url: str, tenant_id: str) -> None:
    """A signed-in person's next sign-in to Office 365 (``cookie``: their portal session):
    the simulator's hop, the vault's sign-in address, the continue step, login.srf."""
    status, _, page = sim.send("GET", f"{sim_url}/{tenant_id}/login?{urlencode({'user': upn})}")
    if status != 200:
        raise RuntimeError(f"hop: {status}")
    action, fields = _form(page)
    status, onward, _ = vault.send("POST", action, fields)
    if status not in (302, 303):
        raise RuntimeError(f"the vault's sign-in address: {status}")
    status, _, page = vault.send("GET", urljoin(action, onward), cookie=f"credsync_person={cookie}")
    if status != 200:
        raise RuntimeError(f"continue: {status}")
    target, posted = _form(page)
    status, _, page = sim.send("POST", target, posted)
    if 'id="signed-in"' not in page:
        raise RuntimeError(f"login.srf refused: {page[:400]}")


def _authn_request() -> str:
    import base64
    import zlib

    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="2026-12-07T00:00:00Z">'
        '<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        "urn:federation:MicrosoftOnline</saml:Issuer></samlp:AuthnRequest>"
    ).encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(xml) + packer.flush()).decode()


def vault_worker(
    people: list[tuple[str, str]], sign_in_url: str, ca: str, seconds: float
) -> tuple[int, list[str], float, float]:
    """The vault's part only: Entra's request at the vault's sign-in address (redirect
    binding), then the continue step answering the signed response (not posted anywhere).
    (sign-ins done, errors, seconds taken, this process's CPU seconds)."""
    done, errors = 0, []
    cpu = time.process_time()
    vault = Lean(sign_in_url, ssl.create_default_context(cafile=ca))
    began = time.perf_counter()
    stop_at = began + seconds
    i = 0
    while time.perf_counter() < stop_at:
        _, cookie = people[i % len(people)]
        try:
            query = urlencode({"SAMLRequest": _authn_request()})
            status, onward, _ = vault.send("GET", f"{sign_in_url}?{query}")
            if status not in (302, 303):
                raise RuntimeError(f"the vault's sign-in address: {status}")
            status, _, page = vault.send(
                "GET", urljoin(sign_in_url, onward), cookie=f"credsync_person={cookie}"
            )
            if "SAMLResponse" not in page:
                raise RuntimeError(f"no response: {status}")
            done += 1
        except Exception as err:
            errors.append(repr(err)[:200])
        i += 1
    took = time.perf_counter() - began
    vault.close()
    return done, errors, took, time.process_time() - cpu


def load_worker(
    people: list[tuple[str, str]], sim_url: str, vault_url: str, tenant_id: str, ca: str,
    seconds: float,
) -> tuple[int, list[str], float, float]:  # fmt: skip
    """In a process of its own (so that the client's work is not the server's): sign the
    people in again, in turn, for ``seconds``; (sign-ins done, errors, seconds taken, this
    process's CPU seconds)."""
    done, errors = 0, []
    cpu = time.process_time()
    context = ssl.create_default_context(cafile=ca)
    sim, vault = Lean(sim_url, context), Lean(vault_url, context)
    began = time.perf_counter()
    stop_at = began + seconds
    i = 0
    while time.perf_counter() < stop_at:
        upn, cookie = people[i % len(people)]
        try:
            again(sim, vault, upn, cookie, sim_url, tenant_id)
            done += 1
        except Exception as err:
            errors.append(repr(err)[:200])
        i += 1
    took = time.perf_counter() - began
    sim.close()
    vault.close()
    return done, errors, took, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="credsync serve --workers")
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    if args.quick:
        args.people, args.seconds = 40, 2.0
    c.header("federated_sign_in: the vault as Office 365's identity provider", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("federated_sign_in")

    from credsync.testing.graphsim._tls import make_server_tls

    with tempfile.TemporaryDirectory() as tmp:
        tls = make_server_tls()
        cert, key, ca = Path(tmp) / "cert.pem", Path(tmp) / "key.pem", Path(tmp) / "ca.pem"
        cert.write_text(tls.cert_pem)
        key.touch(mode=0o600)
        key.write_text(tls.key_pem)
        url = f"sqlite:///{Path(tmp) / 'vault.db'}"
        vault, admin, keys = c.make_vault(url)
        _, token = vault.access.create_token(admin, "bench")
        with (
            Sim(Path(tmp), "--users", "0") as sim,
            CliServer(Path(tmp), url, cert, key, args.workers) as server,
        ):
            ca.write_text(tls.ca_pem + Path(sim.ca_file).read_text())
            started = time.perf_counter()
            people = setup(vault, admin, keys, sim, server.url, args.people)
            print(f"{len(people)} people set up in {time.perf_counter() - started:.1f} s")
            with httpx.Client(
                base_url=server.url, verify=ssl.create_default_context(cafile=str(ca)), timeout=30
            ) as http:
                auth = {"Authorization": f"Bearer {token.reveal()}"}
                for _ in range(5):
                    http.get("/api/v1/auth/whoami", headers=auth).raise_for_status()
                baseline: list[float] = []
                for _ in range(max(args.people, 100)):
                    _timed(baseline, http.get, "/api/v1/auth/whoami", headers=auth)
            latencies = [full_sign_in(p, sim.authority, sim.tenant_id, str(ca)) for p in people]

            sessions = []
            for p in people:
                assert p.http is not None
                sessions.append((p.upn, p.http.cookies.get("credsync_person") or ""))
                p.http.close()
            shares = [sessions[i :: args.processes] for i in range(args.processes)]
            sign_in_url = vault.federated_domains.of_client(admin, "Fabrikam")[0].sign_in_uri
            context = multiprocessing.get_context("spawn")
            with context.Pool(args.processes) as pool:
                pool.starmap(time.sleep, [(0.1,)] * args.processes)  # the workers started
                server_cpu, sim_cpu = server.cpu(), sim.cpu()
                results = pool.starmap(
                    load_worker,
                    [(share, sim.authority, server.url, sim.tenant_id, str(ca), args.seconds)
                     for share in shares],
                )  # fmt: skip
                server_cpu, sim_cpu = server.cpu() - server_cpu, sim.cpu() - sim_cpu
                vault_cpu = server.cpu()
                alone = pool.starmap(
                    vault_worker,
                    [(share, sign_in_url, str(ca), args.seconds) for share in shares],
                )
                vault_cpu = server.cpu() - vault_cpu
            done = sum(r[0] for r in results)
            errors = [e for r in results for e in r[1]]
            elapsed = max(r[2] for r in results)
            clients_cpu = sum(r[3] for r in results)
            vault_done = sum(r[0] for r in alone)
            vault_errors = [e for r in alone for e in r[1]]
            vault_elapsed = max(r[2] for r in alone)
            vault_clients_cpu = sum(r[3] for r in alone)
            vault_rate = vault_done / vault_elapsed
            rate = done / elapsed
        vault.db.dispose()

    def per(cpu: float, count: int) -> str:
        return f"{cpu / max(count, 1) * 1000:.2f} ms"

    print()
    print(
        c.latency_table(
            verdicts,
            ("baseline: GET /api/v1/auth/whoami", baseline),
            [("federated sign-in (password + code -> signed in)", latencies)],
        )
    )
    p95 = c.percentile(latencies, 95)
    print()
    print(
        f"throughput: {done} sign-ins in {elapsed:.1f} s from {args.processes} client "
        f"processes = {rate:.0f}/s, {len(errors)} errors{': ' + errors[0] if errors else ''}"
    )
    print(
        f"the vault's part alone (its sign-in address + the signed response, no simulator): "
        f"{vault_done} in {vault_elapsed:.1f} s = {vault_rate:.0f}/s, {len(vault_errors)} errors"
    )
    print(
        f"CPU per sign-in, end to end: vault server {per(server_cpu, done)}, simulator "
        f"{per(sim_cpu, done)}, clients {per(clients_cpu, done)}; the vault's part alone: "
        f"vault server {per(vault_cpu, vault_done)}, clients {per(vault_clients_cpu, vault_done)} "
        f"(two cores: {2000 / RATE_TARGET:.0f} ms of CPU a sign-in at {RATE_TARGET:.0f}/s)"
    )
    verdicts.figures.update(
        server_cpu_ms=round(server_cpu / max(done, 1) * 1000, 2),
        simulator_cpu_ms=round(sim_cpu / max(done, 1) * 1000, 2),
        clients_cpu_ms=round(clients_cpu / max(done, 1) * 1000, 2),
        vault_part_server_cpu_ms=round(vault_cpu / max(vault_done, 1) * 1000, 2),
        rate_per_s=round(rate, 1),
        errors=len(errors),
        vault_part_rate_per_s=round(vault_rate, 1),
        vault_part_errors=len(vault_errors),
        people=len(people),
    )
    verdicts.check(
        p95 < LATENCY_TARGET_S,
        f"federated sign-in p95 {p95 * 1000:.1f} ms, {p95 / c.percentile(baseline, 95):.1f}x "
        f"whoami (target: under {LATENCY_TARGET_S * 1000:.0f} ms)",
    )
    verdicts.check(
        rate >= RATE_TARGET and not errors,
        f"{rate:.0f} sign-ins per second, {len(errors)} errors (target: {RATE_TARGET:.0f}/s, none)",
    )
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
