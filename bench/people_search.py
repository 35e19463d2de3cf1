"""Search among 1,000,000 people, on SQLite and on PostgreSQL (issue 16).

    python bench/people_search.py [--quick] [--backend sqlite|postgresql|both] [--runs N]
                                  [--budget SECONDS] [--seed N] [--explain [missed|all]]
                                  [--keep-sqlite PATH] [--reuse-sqlite PATH]
                                  [--time-limit SECONDS]

Loads 20 clients of 50,000 people each (``--quick``: 500 each), 1% of them in the trash, into a
temporary SQLite vault and/or a database of a throwaway PostgreSQL server
(``credsync.testing.postgres.TempPostgres``). Each person is made as
``credsync.vault.people.People`` makes one (its ``PersonRow``, ``name_key``, ids, and the
word terms of ``credsync.vault.people.person_terms``) from deterministic fake data: given
names and surnames from a varied pool (common ones and rare made-up ones), usernames and
e-mails of the client's domain, departments and job titles. The rows are written like a restore, by
``search_list.BulkWriter`` (secondary indexes dropped first and built again at the end,
``executemany`` on SQLite, COPY on PostgreSQL).

Then it refreshes planner statistics and, through a new engine with the product's settings,
times ``People.search`` as an admin (all clients, one client) and as an operator limited to
three clients: one and two words, whole words and prefixes, common and rare (5 warm-up calls,
then ``--runs`` calls per case: 200, 30 with ``--quick``; at most ``--budget`` seconds each).
The baseline, in the same process: a bare indexed ``display_key`` prefix range (what a
``LIKE 'prefix%'`` on an indexed column does) within one client, 100 rows.
``--keep-sqlite PATH`` keeps the loaded SQLite vault; ``--reuse-sqlite PATH`` measures such a
kept vault again (a copy of it: no loading; to try a change of the search quickly).
Figures go to ``bench/results/people_search.json``; the exit status is 1 on a miss.

Target: p95 under 50 ms for every search, on each backend.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _common as c
import search_list as sl

TARGET_P95_S = 0.050
CLIENTS = 20
FULL_PER_CLIENT = 50_000
QUICK_PER_CLIENT = 500
TRASH_EVERY = 100
OPERATOR_CLIENTS = 3

EXTRA_FIRST = (
    "ahmed", "fatima", "mohammed", "aisha", "wei", "li", "yuki", "haruto", "sofia", "mateo",
    "lucia", "diego", "olga", "ivan", "anja", "piotr", "agnieszka", "chiara", "giulia", "marco",
    "ingrid", "lars", "astrid", "sven", "priya", "arjun", "kwame", "ama", "chen", "mei",
)  # fmt: skip
EXTRA_LAST = (
    "kowalski", "nowak", "rossi", "russo", "ferrari", "esposito", "jansen", "devries", "bakker",
    "janssens", "peeters", "andersson", "johansson", "nielsen", "hansen", "virtanen", "korhonen",
    "novak", "horvath", "papadopoulos", "yilmaz", "kaya", "ivanov", "petrov", "sato", "suzuki",
    "tanaka", "wang", "zhang", "patel", "sharma", "singh", "okafor", "mensah", "silva", "santos",
)  # fmt: skip
SYLLABLES = (
    "ka", "ri", "mo", "te", "lu", "san", "bor", "vel", "dra", "quin", "zo", "fen", "gar",
    "hul", "ix", "jor", "nev", "pla", "rus", "tov", "wex", "yar", "zel", "mir", "oth",
)  # fmt: skip
DEPARTMENTS = (
    "Finance", "Sales", "Marketing", "IT", "Human Resources", "Operations", "Legal",
    "Engineering", "Support", "Procurement", "Logistics", "Research", "Facilities", "Board",
)  # fmt: skip
TITLES = (
    "Manager", "Director", "Assistant", "Engineer", "Analyst", "Consultant", "Accountant",
    "Technician", "Coordinator", "Specialist", "Administrator", "Intern", "Team lead",
)  # fmt: skip
FIRSTS = tuple(dict.fromkeys(c.FIRST + EXTRA_FIRST))
LASTS = tuple(dict.fromkeys(c.LAST + EXTRA_LAST))


def rare_word(rng: random.Random) -> str:
    """A made-up surname: one of about 390,000 (rare: a few people each in 1,000,000)."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))


class PersonFaker:
    """Deterministic fake people of one client: 80% a common surname, 20% a rare one; a
    unique username (given.surname, numbered when taken) and an e-mail of the domain."""

    def __init__(self, seed: int, domain: str) -> None:
        self.rng = random.Random(seed)
        self.domain = domain
        self.taken: set[str] = set()

    def person(self) -> dict[str, Any]:
        rng = self.rng
        given = rng.choice(FIRSTS)
        surname = rng.choice(LASTS) if rng.random() < 0.8 else rare_word(rng)
        base = f"{given}.{surname}"
        username, n = base, 1
        while username in self.taken:
            n += 1
            username = f"{base}{n}"
        self.taken.add(username)
        return {
            "given_name": given.title(),
            "surname": surname.title(),
            "username": username,
            "email": f"{username}@{self.domain}",
            "department": rng.choice(DEPARTMENTS),
            "job_title": rng.choice(TITLES),
        }


class PeopleWriter(sl.BulkWriter):
    """:class:`search_list.BulkWriter` for ``people`` and ``people_terms``."""

    def __init__(self, db: Any) -> None:
        from credsync.storage.tables import people, people_terms

        super().__init__(db, (people, people_terms))


def make_rows(
    client_id: str, faker: PersonFaker, count: int, actor: str, now: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` people of the client as the product makes them (``People._insert``): the
    people rows and their word terms (``person_terms``); every 100th in the trash."""
    from credsync.storage.people import PersonRow
    from credsync.types import new_id
    from credsync.vault.people import person_terms
    from credsync.vault.validate import name_key

    person_rows: list[dict[str, Any]] = []
    term_rows: list[dict[str, Any]] = []
    for n in range(count):
        f = faker.person()
        display = f"{f['given_name']} {f['surname']}"
        trashed = n % TRASH_EVERY == 0
        row = PersonRow(
            new_id(), client_id, f["given_name"], f["surname"], display, name_key(display),
            f["username"], name_key(f["username"]), f["email"], "GB", f["department"],
            f["job_title"], True, None, None, "", 1, now, actor, now, actor,
            now if trashed else None, actor if trashed else None,
        )  # fmt: skip
        values = row._asdict()
        person_rows.append(values)
        term_rows.extend(
            {"client_id": client_id, "term": t, "person_id": row.id}
            for t in sorted(person_terms(values))
        )
    return person_rows, term_rows


def load(vault: Any, actor: Any, keys: Any, per_client: int, seed: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from credsync.storage.tables import people, people_terms
    from credsync.vault._time import utcnow

    db = vault.db
    writer = PeopleWriter(db)
    writer.drop_indexes()
    started = time.perf_counter()
    gen_s = write_s = 0.0
    for index in range(CLIENTS):
        name, domain, _ = c.client_at(index)
        client = vault.clients.add(actor, keys, name)
        t0 = time.perf_counter()
        person_rows, term_rows = make_rows(
            client.id, PersonFaker(seed + index, domain), per_client, actor.name, utcnow()
        )
        recorder = sl.Recorder(db.engine.dialect)
        recorder.execute(people.insert(), person_rows)
        recorder.execute(people_terms.insert(), term_rows)
        writer.add(recorder, set(), None, actor.name)
        gen_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        writer.flush()
        write_s += time.perf_counter() - t0
        done = (index + 1) * per_client
        print(f"  made {done:>9,} people ({done / (time.perf_counter() - started):,.0f}/s)")
    t0 = time.perf_counter()
    writer.create_indexes()
    index_s = time.perf_counter() - t0
    with db.read() as conn:
        terms = conn.execute(sa.text("SELECT count(*) FROM people_terms")).scalar_one()
    return {
        "people": CLIENTS * per_client,
        "people_terms": terms,
        "load_s": time.perf_counter() - started,
        "generate_s": gen_s,
        "write_s": write_s,
        "index_build_s": index_s,
    }


def query_pool(rng: random.Random, *, words: int, n: int, domain: str) -> list[str]:
    """Queries as people type them: given names and surnames, common and rare, whole or a
    3-5 letter prefix, a username, the client's domain; one or two words each."""

    def pick() -> str:
        kind = rng.random()
        if kind < 0.3:
            word = rng.choice(FIRSTS)
        elif kind < 0.6:
            word = rng.choice(LASTS)
        elif kind < 0.8:
            word = rare_word(rng)
        elif kind < 0.9:
            word = f"{rng.choice(FIRSTS)}.{rng.choice(LASTS)}"
        else:
            word = domain.split(".")[0].replace("-", "")
        if rng.random() < 0.3 and len(word) > 4:
            word = word[: rng.randint(3, 5)]
        return word

    out = []
    for _ in range(n):
        picked: list[str] = []
        while len(picked) < words:
            word = pick()
            if word not in picked:
                picked.append(word)
        out.append(" ".join(picked))
    return out


def build_cases(vault: Any, actor: Any, keys: Any, seed: int) -> list[sl.Case]:
    import sqlalchemy as sa

    from credsync.errors import AlreadyExists
    from credsync.storage.tables import clients, people
    from credsync.types import Secret

    people_svc = vault.people
    db = vault.db
    rng = random.Random(seed)
    one_name, one_domain, _ = c.client_at(0)
    reach = [c.client_at(i)[0] for i in (3, 9, 15)][:OPERATOR_CLIENTS]
    password = "bench-operator-password-0001"
    # A kept vault (--reuse-sqlite) has the operator of its first run.
    with contextlib.suppress(AlreadyExists):
        vault.operators.add(actor, "bench-technician", Secret(password), "technician", reach)
    operator = vault.access.login_password("bench-technician", Secret(password))
    with db.read() as conn:
        one_id = conn.execute(sa.select(clients.c.id).where(clients.c.name == one_name)).scalar()

    def baseline(prefix: str) -> object:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with db.read() as conn:
            query = (
                sa.select(people.c.id)
                .where(
                    people.c.client_id == one_id,
                    people.c.display_key >= prefix,
                    people.c.display_key < upper,
                )
                .order_by(people.c.display_key)
                .limit(100)
            )
            return conn.execute(query).all()

    def pool(words: int, domain: str) -> Callable[[], str]:
        queries = query_pool(rng, words=words, n=400, domain=domain)
        return lambda: rng.choice(queries)

    domains = [c.client_at(i)[1] for i in range(CLIENTS)]
    any_domain = domains[rng.randrange(len(domains))]
    op_domain = c.client_at(3)[1]
    prefixes = [f[:3] for f in FIRSTS]
    return [
        sl.Case(
            "baseline: display_key prefix range, one client",
            lambda: rng.choice(prefixes),
            baseline,
            is_target=False,
        ),
        sl.Case(
            "admin, 1 word, all clients",
            pool(1, any_domain),
            lambda q: people_svc.search(actor, q),
        ),
        sl.Case(
            "admin, 2 words, all clients",
            pool(2, any_domain),
            lambda q: people_svc.search(actor, q),
        ),
        sl.Case(
            "admin, 1 word, one client",
            pool(1, one_domain),
            lambda q: people_svc.search(actor, q, client_ref=one_name),
        ),
        sl.Case(
            "admin, 2 words, one client",
            pool(2, one_domain),
            lambda q: people_svc.search(actor, q, client_ref=one_name),
        ),
        sl.Case(
            f"operator ({OPERATOR_CLIENTS} clients), 1 word",
            pool(1, op_domain),
            lambda q: people_svc.search(operator, q),
        ),
        sl.Case(
            f"operator ({OPERATOR_CLIENTS} clients), 2 words",
            pool(2, op_domain),
            lambda q: people_svc.search(operator, q),
        ),
    ]


def run_backend(
    label: str, url: str, per_client: int, args: argparse.Namespace, verdicts: c.Verdicts
) -> None:
    from credsync.storage import Database
    from credsync.vault import Vault

    total = CLIENTS * per_client
    print(f"\n## {label}: loading {total:,} people in {CLIENTS} clients", flush=True)
    figures: dict[str, Any] = {}
    if args.reuse_sqlite and url.startswith("sqlite"):
        vault, actor, keys = c.open_vault(url)
    else:
        vault, actor, keys = c.make_vault(url)
        figures = load(vault, actor, keys, per_client, args.seed)
        what, analyse_s = sl.analyse(vault.db)
        figures["analyse_s"] = analyse_s
        figures["bytes"] = sl.database_size(vault.db)
        print(
            f"  loaded in {figures['load_s']:.1f} s ({figures['generate_s']:.1f} s making rows, "
            f"{figures['write_s']:.1f} s writing, {figures['index_build_s']:.1f} s building "
            f"indexes); {figures['people_terms']:,} terms; "
            f"{figures['bytes'] / 2**20:,.0f} MiB; {what} in {analyse_s:.1f} s",
            flush=True,
        )
    vault.db.dispose()
    db = Database(url)
    vault = Vault.open(db)
    capture = sl.Capture(db.engine)
    cases = build_cases(vault, actor, keys, args.seed)
    results = sl.measure(cases, args.runs, args.budget)
    base = results[0].p50
    rows = [
        [
            r.name,
            len(r.samples),
            c.ms(r.p50),
            c.ms(r.p95),
            c.ms(r.p99),
            c.ms(max(r.samples)),
            f"{r.p50 / base:.1f}x",
            f"{r.p95 / base:.1f}x",
            ("ok" if r.p95 < TARGET_P95_S else "MISS") if r.is_target else "-",
        ]
        for r in results
    ]
    print()
    print(
        c.table(
            ["case", "runs", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50/base", "p95/base", "<50"],
            rows,
            title=f"{label}: {total:,} people; baseline = display_key prefix range p50",
        )
    )
    figures["cases"] = {
        r.name: {
            "runs": len(r.samples),
            "p50_ms": r.p50 * 1000,
            "p95_ms": r.p95 * 1000,
            "p99_ms": r.p99 * 1000,
            "p50_over_baseline": r.p50 / base,
        }
        for r in results
    }
    verdicts.figures[label] = figures
    targets = [r for r in results if r.is_target]
    worst = max(targets, key=lambda r: r.p95)
    verdicts.check(
        all(r.p95 < TARGET_P95_S for r in targets),
        f"{label}: every people search p95 < 50 ms among {total:,} people "
        f"(worst: {worst.name}, p95 {c.ms(worst.p95)} ms)",
    )
    for case, r in zip(cases, results, strict=True):
        if not r.is_target:
            continue
        missed = r.p95 >= TARGET_P95_S
        if missed:
            calls = ", ".join(f"{case.describe(a)} {c.ms(t)} ms" for t, a in r.slowest)
            print(f"  slowest of {case.name}: {calls}")
        if args.explain == "all" or (args.explain and missed):
            sl.explain(db, capture, case, r.slowest[0][1])
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 people, 30 runs")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, help="runs per case (default 200; 30 with --quick)")
    parser.add_argument("--budget", type=float, default=60.0, help="max seconds per case")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument(
        "--explain",
        nargs="?",
        const="missed",
        choices=("missed", "all"),
        help="print the query plan of the slowest statement of missed (or all) cases",
    )
    parser.add_argument("--keep-sqlite", type=Path, metavar="PATH", help="keep the SQLite vault")
    parser.add_argument(
        "--reuse-sqlite", type=Path, metavar="PATH", help="measure a kept SQLite vault again"
    )
    parser.add_argument("--time-limit", type=int, default=3600, help="abort after N seconds")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 30 if args.quick else 200
    per_client = QUICK_PER_CLIENT if args.quick else FULL_PER_CLIENT
    c.header("people_search: search among generated people", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("people_search")
    try:
        with tempfile.TemporaryDirectory(prefix="credsync-bench-") as tmp:
            if args.backend in ("sqlite", "both"):
                path = Path(tmp) / "vault.db"
                if args.reuse_sqlite:
                    shutil.copy(args.reuse_sqlite, path)
                run_backend("SQLite", f"sqlite:///{path}", per_client, args, verdicts)
                if args.keep_sqlite:
                    shutil.move(path, args.keep_sqlite)
                    print(f"  kept the SQLite vault as {args.keep_sqlite}")
            if args.backend in ("postgresql", "both"):
                from credsync.testing.postgres import TempPostgres

                with TempPostgres() as pg:
                    url = pg.create_database("bench")
                    run_backend(
                        f"PostgreSQL (127.0.0.1:{pg.port})", url, per_client, args, verdicts
                    )
    except c.Deadline as err:
        verdicts.check(False, str(err))
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
