"""The Graph simulator in a process of its own for the chaos tests (Microsoft's cloud is not on
the agent's machine, and a test that kills processes keeps the tenant out of their way): run
as ``python simproc.py``, it prints its tenant's connection facts as one JSON line, then
answers one-line commands on its standard input with one JSON line each, until its standard
input closes. :class:`SimProcess` starts it and asks.

Commands (what a test needs of the tenant's portal side and of its records):

- ``users N``: N new users with strong passwords: ``[{"id", "upn", "password"}]``;
- ``latency S``: password writes (PATCH of a user) wait S seconds each (0: no more);
- ``open``: the connections the simulator is serving (``{"open": N}``);
- ``log PATH``: the JSON object at PATH maps user ids to passwords; answers, per user, how many
  password writes it had in all and how many with each of those passwords
  (``{id: {"total": N, "each": [n, ...]}}``), from the simulator's log of password writes;
- ``check PATH``: the JSON object at PATH maps user ids to passwords: the ids whose password
  it is not (``{"wrong": [...]}``).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

from credsync.testing.line_child import LineChild


def _answer(sim: Any, tenant: Any, line: str) -> Any:
    command, _, argument = line.strip().partition(" ")
    if command == "users":
        made = []
        for _ in range(int(argument)):
            password = f"Cs-{uuid.uuid4().hex[:12]}-Q7!"
            user = tenant.create_user(password=password)
            made.append({"id": user.id, "upn": user.upn, "password": password})
        return made
    if command == "latency":
        tenant.latency.set(float(argument), method="PATCH", path_prefix="/v1.0/users")
        return {"latency": float(argument)}
    if command == "open":
        return {"open": sim.open_connections()}
    wanted = json.loads(Path(argument).read_text()) if argument else {}
    log = tenant.password_log
    if command == "log":
        return {
            uid: {"total": log.count(uid), "each": [log.count(uid, pw) for pw in passwords]}
            for uid, passwords in wanted.items()
        }
    if command == "check":
        return {"wrong": [uid for uid, pw in wanted.items() if not tenant.check_password(uid, pw)]}
    return {"error": f"unknown command {command!r}"}


def main() -> int:
    from credsync.testing.graphsim import GraphSimulator

    sim = GraphSimulator(port=0, seed=18)
    tenant = sim.add_tenant(users=0, groups=0)
    sim.start()
    info = dict(sim.info(tenant))
    info["url"] = sim.url
    info["ca_pem"] = sim.ca_pem
    print(json.dumps(info), flush=True)
    try:
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(_answer(sim, tenant, line)), flush=True)
    finally:
        sim.stop()
    return 0


class SimProcess(LineChild):
    """``simproc.py`` started with this interpreter; :attr:`info` its tenant's facts."""

    def __init__(self, home: Path) -> None:
        super().__init__([sys.executable, __file__], home)


if __name__ == "__main__":
    raise SystemExit(main())
