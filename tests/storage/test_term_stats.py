"""PostgreSQL's statistics of the search terms read as estimates (storage.term_stats): the
most common terms' shares plus the histogram buckets a word's range spans; revision 0044
keeps them in a statistics object, off the column the planner reads."""

from __future__ import annotations

from alembic import command

from credsync.storage import term_stats
from credsync.storage.migrate import alembic_config
from credsync.storage.term_stats import _estimate, _Statistics
from credsync.types import Secret
from credsync.vault.drafts import make_draft


def test_an_estimate_adds_common_terms_and_histogram_buckets() -> None:
    statistics = _Statistics(
        rows=1_000_000,
        common=["admin", "com", "contoso"],
        common_sums=[0.0, 0.1, 0.3, 0.35],
        bounds=["a", "b", "ca", "cb", "d", "e"],  # 5 buckets of 13% each
        others=0.65,
    )
    assert _estimate(statistics, "adm") == 100_000  # "admin" alone: within the first bucket
    assert _estimate(statistics, "co") == 250_000  # two common terms
    assert _estimate(statistics, "c") == round(1_000_000 * (0.25 + 0.65 * 2 / 5))
    assert _estimate(statistics, "zz") == 0


def test_no_estimates_on_sqlite(sqlite_world) -> None:
    with sqlite_world.db.read() as conn:
        assert term_stats.estimates(conn, ["admin"]) is None


def _fine_statistics(conn) -> tuple[int | None, list[str]]:
    """The column's own statistics target and the statistics objects on search_terms."""
    target = conn.exec_driver_sql(
        "SELECT attstattarget FROM pg_attribute "
        "WHERE attrelid = 'search_terms'::regclass AND attname = 'term'"
    ).scalar()
    names = conn.exec_driver_sql(
        "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'search_terms'::regclass"
    ).scalars()
    return target, sorted(names)


def test_0044_keeps_the_fine_statistics_off_the_column(world) -> None:
    """Revision 0044: the column at the default target, a statistics object with the fine
    ones, which ANALYZE fills and the estimates read; down one revision and up again."""
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    for n in range(20):
        draft = make_draft(title=f"Exchange admin {n}", password=Secret("Pw-12345!"))
        vault.credentials.add(admin, world.keys, "Contoso", draft)
    with world.db.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            command.downgrade(alembic_config(conn), "0043")  # nothing to undo on SQLite
            command.upgrade(alembic_config(conn), "head")
            return
        assert _fine_statistics(conn) == (-1, [term_stats.STATISTICS_NAME])
        command.downgrade(alembic_config(conn), "0043")  # revision 0044 (and later ones) undone
        assert _fine_statistics(conn) == (term_stats.STATISTICS_TARGET, [])
        command.upgrade(alembic_config(conn), "head")
        assert _fine_statistics(conn) == (-1, [term_stats.STATISTICS_NAME])
    term_stats.forget()
    with world.db.read() as conn:
        estimated = term_stats.estimates(conn, ["exchange", "adm", "zzz"])
    assert estimated is not None  # analysed by the upgrade
    assert estimated["exchange"] == estimated["adm"] > 0
    assert estimated["zzz"] == 0
