"""Audit entries appended inside ``AuditLog.batched`` (the capture pipeline's hundreds of
entries a batch) form the same chain, with the same sequence numbers, as entries appended one
at a time: the head is locked once and set once, and nothing is written when the block fails."""

from __future__ import annotations

import pytest

from credsync.storage import meta
from credsync.vault.audit import AuditLog


def _head(world):
    with world.vault.db.read() as conn:
        return meta.audit_head(conn)


def test_a_batch_is_one_chain_whichever_audit_log_appends(world) -> None:
    audit, other = world.vault.audit, AuditLog(world.vault.db)
    before = _head(world)
    with world.vault.db.write() as conn, audit.batched(conn):
        seqs = [
            log.append(conn, world.admin, "test.batched", target_type="t", target_id=str(n),
                       details={"n": n})
            for n, log in enumerate((audit, other, audit))
        ]  # fmt: skip
        assert _head(world) == before  # nothing is written until the batch ends
    assert seqs == [before.seq + 1, before.seq + 2, before.seq + 3]
    assert _head(world).seq == before.seq + 3
    # and one at a time after it goes on from its head
    with world.vault.db.write() as conn:
        assert audit.append(conn, world.admin, "test.single", target_type="t", target_id="x") == (
            before.seq + 4
        )
    report = audit.verify(world.admin)
    assert report.ok, report.problem
    listed = audit.list(world.admin, action="test.batched", limit=3)
    assert [e.target_id for e in listed] == ["2", "1", "0"]


def test_a_failed_batch_writes_nothing_and_the_next_append_goes_on(world) -> None:
    audit = world.vault.audit
    before = _head(world)

    def failing() -> None:
        with world.vault.db.write() as conn, audit.batched(conn):
            audit.append(conn, world.admin, "test.lost", target_type="t", target_id="x")
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        failing()
    assert _head(world) == before
    assert audit.list(world.admin, action="test.lost") == []
    with world.vault.db.write() as conn:
        assert audit.append(conn, world.admin, "test.after", target_type="t", target_id="y") == (
            before.seq + 1
        )
    assert audit.verify(world.admin).ok


def test_batches_do_not_nest(world) -> None:
    audit = world.vault.audit
    with (
        world.vault.db.write() as conn,
        audit.batched(conn),
        pytest.raises(RuntimeError, match="nest"),
        audit.batched(conn),
    ):
        pass
