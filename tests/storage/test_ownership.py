"""Every table has one owner: a module of ``credsync.storage`` that holds its SQL.

Read from the source (no import): (1) only ``credsync.storage.*`` modules import
``credsync.storage.tables``; (2) each table is written (INSERT, UPDATE, DELETE) by its owner
(:data:`OWNERS`) and by no other module. Other storage modules may read a table they don't
own (a list with counts, a join). Every table has an owner: the vault's, the directories and
the sync area's (the account cache, links, runs and their items, flags, the push queue).

A write is ``<table>.insert()`` / ``.update()`` / ``.delete()``, ``bulk_insert(conn, <table>,
...)`` or SQL text naming the table after INSERT INTO, UPDATE or DELETE FROM; ``<table>`` is a
name imported from ``credsync.storage.tables`` or bound to one (``t = runs``, ``for table in
(links, flags)``). The Alembic migrations (``storage/migrations``) build the schema and are
left out.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from credsync.storage.tables import metadata

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "credsync"
TABLES_MODULE = "credsync.storage.tables"

# table -> the storage module that owns its SQL
OWNERS = {
    "vault_meta": "credsync.storage.meta",
    "audit_log": "credsync.storage.audit",
    "roles": "credsync.storage.operators",
    "operators": "credsync.storage.operators",
    "api_tokens": "credsync.storage.operators",
    "operator_clients": "credsync.storage.operators",
    "cli_sessions": "credsync.storage.sessions",
    "web_sessions": "credsync.storage.sessions",
    "operator_mfa": "credsync.storage.mfa",
    "mfa_recovery_codes": "credsync.storage.mfa",
    "webauthn_credentials": "credsync.storage.webauthn",
    "webauthn_challenges": "credsync.storage.webauthn",
    "sign_in_failures": "credsync.storage.sign_in_failures",
    "clients": "credsync.storage.clients",
    "folders": "credsync.storage.clients",
    "credentials": "credsync.storage.credentials",
    "credential_tags": "credsync.storage.credentials",
    "secret_versions": "credsync.storage.secrets",
    "search_terms": "credsync.storage.search",
    "password_policies": "credsync.storage.policies",
    "directories": "credsync.storage.directories",
    "directory_accounts": "credsync.storage.accounts",
    "links": "credsync.storage.links",
    "link_counts": "credsync.storage.link_counts",
    "credential_counts": "credsync.storage.credential_counts",
    "runs": "credsync.storage.runs",
    "run_days": "credsync.storage.run_days",
    "run_items": "credsync.storage.runs",
    "flags": "credsync.storage.flags",
    "sync_queue": "credsync.storage.push_queue",
    "capture_keys": "credsync.storage.capture",
    "capture_forwarders": "credsync.storage.capture",
    "capture_nonces": "credsync.storage.capture",
    "capture_ledger": "credsync.storage.capture",
    "capture_pending": "credsync.storage.capture",
    "auto_create_settings": "credsync.storage.auto_create",
    "auto_created": "credsync.storage.auto_create",
    "relays": "credsync.storage.relays",
    "remote_agents": "credsync.storage.remote_agents",
    "remote_agent_directories": "credsync.storage.remote_agents",
    "relay_pairs": "credsync.storage.relays",
    "people": "credsync.storage.people",
    "person_accounts": "credsync.storage.people",
    "groups": "credsync.storage.groups",
    "group_members": "credsync.storage.groups",
    "group_objects": "credsync.storage.groups",
    "people_terms": "credsync.storage.identity_search",
    "group_terms": "credsync.storage.identity_search",
    "deleted_keeps": "credsync.storage.deleted_keeps",
    "import_selections": "credsync.storage.import_selections",
    "import_selection_runs": "credsync.storage.import_selections",
    "person_onboarding": "credsync.storage.onboarding",
    "person_links": "credsync.storage.person_links",
    "self_service_settings": "credsync.storage.person_links",
    "mail_settings": "credsync.storage.mail_settings",
    "group_export_settings": "credsync.storage.group_export",
    "provisioning_settings": "credsync.storage.provisioning",
    "provisioned_people": "credsync.storage.provisioning",
    "sign_in_providers": "credsync.storage.operator_sign_in",
    "operator_identities": "credsync.storage.operator_sign_in",
    "operator_group_maps": "credsync.storage.operator_sign_in",
    "idp_signing_keys": "credsync.storage.idp_keys",
    "federated_domains": "credsync.storage.federation",
    "federation_identities": "credsync.storage.federation",
    "idp_requests": "credsync.storage.federation",
    "person_mfa": "credsync.storage.person_mfa",
    "person_security_keys": "credsync.storage.person_mfa",
    "person_key_challenges": "credsync.storage.person_mfa",
    "person_sign_in_failures": "credsync.storage.person_failures",
    "person_sessions": "credsync.storage.person_sessions",
    "quarantine_items": "credsync.storage.quarantine",
    "quarantine_defaults": "credsync.storage.quarantine_defaults",
}

# Tables without an owner yet, and modules outside credsync.storage that still import the
# tables (issue 12 emptied both; they stay for a table or a module caught between moves).
NOT_OWNED_YET: set[str] = set()
NOT_MOVED_YET: set[str] = set()

_VERBS = {"insert", "update", "delete"}
_SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


@dataclass
class Module:
    name: str
    path: Path
    imports_tables: bool = False
    writes: set[str] = field(default_factory=set)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _table_names() -> set[str]:
    return set(metadata.tables)


def scan(path: Path) -> Module:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = Module(_module_name(path), path)
    tables = _table_names()
    aliases: dict[str, set[str]] = {}  # local name -> the tables it may stand for
    modules_named_tables: set[str] = set()  # `from credsync.storage import tables [as x]`

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == TABLES_MODULE:
            module.imports_tables = True
            for alias in node.names:
                if alias.name in tables:
                    aliases.setdefault(alias.asname or alias.name, set()).add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "credsync.storage":
            for alias in node.names:
                if alias.name == "tables":
                    module.imports_tables = True
                    modules_named_tables.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import) and any(a.name == TABLES_MODULE for a in node.names):
            module.imports_tables = True

    def tables_of(expr: ast.expr) -> set[str]:
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id, set())
        if (
            isinstance(expr, ast.Attribute)
            and expr.attr in tables
            and (
                (isinstance(expr.value, ast.Name) and expr.value.id in modules_named_tables)
                or ast.unparse(expr.value) == TABLES_MODULE
            )
        ):
            return {expr.attr}
        if isinstance(expr, ast.Tuple | ast.List | ast.Set):
            return set().union(*(tables_of(e) for e in expr.elts))
        return set()

    # Names bound to tables: `t = runs`, `for table in (links, flags)` (until nothing changes).
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, ast.For | ast.comprehension):
                targets, value = [node.target], node.iter
            if value is None:
                continue
            found = tables_of(value)
            for target in targets:
                if isinstance(target, ast.Name) and found - aliases.get(target.id, set()):
                    aliases.setdefault(target.id, set()).update(found)
                    changed = True

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _VERBS:
                module.writes |= tables_of(func.value)
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "bulk_insert" and len(node.args) >= 2:
                module.writes |= tables_of(node.args[1])
            if name in _VERBS and node.args and isinstance(func, ast.Attribute | ast.Name):
                module.writes |= tables_of(node.args[0])  # sa.insert(table)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            module.writes |= {m for m in _SQL_WRITE.findall(node.value) if m in tables}
    return module


def all_modules() -> list[Module]:
    paths = sorted(PACKAGE.rglob("*.py"))
    return [scan(p) for p in paths if "migrations" not in p.relative_to(PACKAGE).parts]


@pytest.fixture(scope="module")
def modules() -> list[Module]:
    return all_modules()


def _in_storage(name: str) -> bool:
    return name.startswith("credsync.storage.")


def test_only_storage_imports_the_tables(modules: list[Module]) -> None:
    offenders = sorted(
        m.name
        for m in modules
        if m.imports_tables and not _in_storage(m.name) and m.name not in NOT_MOVED_YET
    )
    assert offenders == [], (
        "these modules import credsync.storage.tables: call a storage module instead "
        f"(or add a function there): {offenders}"
    )


def test_the_allowlist_has_no_stale_entries(modules: list[Module]) -> None:
    by_name = {m.name: m for m in modules}
    missing = sorted(NOT_MOVED_YET - by_name.keys())
    assert missing == [], f"NOT_MOVED_YET names modules that do not exist: {missing}"
    moved = sorted(name for name in NOT_MOVED_YET if not by_name[name].imports_tables)
    assert moved == [], (
        f"these modules no longer import the tables: drop them from NOT_MOVED_YET: {moved}"
    )


def test_every_table_has_an_owner_or_is_listed_as_not_yet_owned() -> None:
    tables = _table_names()
    assert set(OWNERS) | NOT_OWNED_YET == tables
    assert not set(OWNERS) & NOT_OWNED_YET
    assert all(_in_storage(owner) for owner in OWNERS.values())


def test_each_table_is_written_by_its_owner_only(modules: list[Module]) -> None:
    wrong = []
    for m in modules:
        if m.name in NOT_MOVED_YET:
            continue
        for table in sorted(m.writes):
            owner = OWNERS.get(table)
            if owner != m.name:
                wrong.append(f"{m.name} writes {table} (owner: {owner or 'none yet'})")
    assert wrong == [], "\n".join(wrong)


def test_each_owner_writes_its_tables(modules: list[Module]) -> None:
    """Keeps OWNERS honest, and proves the scan sees writes at all."""
    writes = {m.name: m.writes for m in modules}
    idle = sorted(
        f"{owner}: {table}" for table, owner in OWNERS.items() if table not in writes[owner]
    )
    assert idle == [], f"owners that never write their table: {idle}"


def test_the_scan_finds_each_kind_of_write(tmp_path: Path) -> None:
    source = tmp_path / "credsync" / "sample.py"
    source.parent.mkdir()
    source.write_text(
        "from credsync.storage.tables import clients, flags, links as l, runs, sync_queue\n"
        "from credsync.storage import tables\n"
        "from credsync.storage.tables import credentials\n"
        "t = runs\n"
        "def f(conn):\n"
        "    conn.execute(clients.update())\n"
        "    conn.execute(t.delete())\n"
        "    for table in (l, flags):\n"
        "        conn.execute(table.delete())\n"
        "    conn.execute(tables.folders.insert())\n"
        "    bulk_insert(conn, credentials, ('id',), [])\n"
        "    conn.exec_driver_sql('DELETE FROM audit_log WHERE seq = 1')\n"
        "    conn.execute(sa.select(sync_queue))\n",
        encoding="utf-8",
    )
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        module = scan(source)
    finally:
        SRC = saved
    assert module.name == "credsync.sample"
    assert module.imports_tables
    assert module.writes == {
        "clients",
        "runs",
        "links",
        "flags",
        "folders",
        "credentials",
        "audit_log",
    }
