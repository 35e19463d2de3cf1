"""The spool journal with real processes: the hook run as Samba runs it (Popen, LDIF on stdin,
the reply read back), a hook killed mid-record, a sealed file a live writer keeps open, the cut
of a large sealed file, a restart with leftovers in both layouts, ``--fsync``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import cast

import pytest

from credsync.agent.capture.client import CaptureClient
from credsync.agent.capture.journal import Record, parse, read_sealed
from credsync.agent.capture.sender import MAX_EVENTS, Sender
from credsync.agent.capture.spool import HOOK_REPLY, Spool

BLOB = "-----BEGIN PGP MESSAGE-----\n\nhQEMA...\n-----END PGP MESSAGE-----\n"


def _ldif(n: int) -> bytes:
    """One object as Samba hands it to the hook (a password blob, so it becomes an event)."""
    guid = uuid.UUID(int=n + 1)
    return (
        f"dn: CN=u{n},OU=x,DC=example,DC=test\nobjectGUID: {guid}\nsAMAccountName: u{n}\n"
        f"userAccountControl: 512\npwdLastSet: {134093000000000000 + n}\n"
        f"virtualSambaGPG: {BLOB.splitlines()[0]}\n\n"
    ).encode()


def _hook(spool: Spool, data: bytes) -> str:
    """Run the hook as Samba does: the LDIF on stdin, the answer on stdout."""
    done = subprocess.run([str(spool.hook)], input=data, capture_output=True, check=False)
    return done.stdout.decode().strip()


def _sender(spool: Spool) -> Sender:
    # These tests stop before HTTP: the batches are taken and finished as after a 200
    # (the real server's answers are test_forwarder_e2e's business).
    return Sender(spool, cast(CaptureClient, None), dc="dc1")


def _deliver_all(spool: Spool) -> list[bytes]:
    """Take every batch as the sender would and finish it as after a 200: the LDIF delivered,
    in order."""
    sender = _sender(spool)
    delivered: list[bytes] = []
    for _ in range(100):
        batch = sender._batch()
        if not batch.taken:
            assert not batch.busy
            return delivered
        delivered.extend(r.data for r in batch.carrying)
        sender._finish(batch)
    raise AssertionError("the spool never emptied")


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = Spool(tmp_path / "state")
    spool.prepare()
    return spool


def test_the_hook_appends_framed_records_and_answers_done(spool: Spool) -> None:
    for n in range(3):
        assert _hook(spool, _ldif(n)) == HOOK_REPLY
    data = spool.journal.read_bytes()
    scan = parse(data)
    assert [r.data for r in scan.records] == [_ldif(n) for n in range(3)]
    assert scan.incomplete == []
    assert scan.stray_bytes == 0
    pids = {r.pid for r in scan.records}
    assert len(pids) == 3  # each record carries its own hook's pid ...
    assert {r.ppid for r in scan.records} == {os.getpid()}  # ... and its caller's
    assert b"".join(r.framed() for r in scan.records) == data
    assert (spool.journal.stat().st_mode & 0o777) == 0o600
    assert (spool.spool_dir.stat().st_mode & 0o777) == 0o700
    assert (spool.state_dir.stat().st_mode & 0o777) == 0o700
    assert spool.depth() == 3


def test_a_failed_write_is_no_done(spool: Spool) -> None:
    spool.journal.mkdir()  # the append cannot open it
    assert _hook(spool, _ldif(0)) == "spool write failed"


def test_with_fsync_the_record_is_flushed_before_done(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "state")
    spool.prepare(fsync=True)
    assert 'sync "$j"' in spool.hook.read_text()
    assert _hook(spool, _ldif(7)) == HOOK_REPLY
    assert [r.data for r in parse(spool.journal.read_bytes()).records] == [_ldif(7)]


def test_a_hook_killed_mid_record_is_dropped_and_its_neighbours_delivered(spool: Spool) -> None:
    assert _hook(spool, _ldif(1)) == HOOK_REPLY
    hook = subprocess.Popen(
        [str(spool.hook)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    assert hook.stdin is not None
    hook.stdin.write(b"dn: CN=half\nvirtualSambaGPG: -----BEGIN PGP")  # no newline: cut short
    hook.stdin.flush()
    deadline = time.monotonic() + 10
    while b"CN=half" not in spool.journal.read_bytes():
        assert time.monotonic() < deadline, "the hook never wrote its first bytes"
        time.sleep(0.01)
    os.kill(hook.pid, signal.SIGKILL)  # the shell; its `cat` still holds the journal
    hook.wait()
    spool.seal()
    assert spool.journal.exists() is False
    assert _hook(spool, _ldif(2)) == HOOK_REPLY  # a new journal, by the hook itself
    (sealed_name,) = [n for n in os.listdir(spool.spool_dir) if n.startswith("sealed-")]
    assert read_sealed(spool.spool_dir / sealed_name) is None  # `cat` has it open: refused
    hook.stdin.close()  # Samba's end of the pipe goes: `cat` ends, no end line
    assert hook.stdout is not None
    assert hook.stdout.read() == b""
    hook.stdout.close()
    deadline = time.monotonic() + 10
    while read_sealed(spool.spool_dir / sealed_name) is None:  # until `cat` has exited
        assert time.monotonic() < deadline, "the killed hook's cat never ended"
        time.sleep(0.01)

    sender = _sender(spool)
    first = sender._batch()
    assert [r.data for r in first.carrying] == [_ldif(1)]
    assert [r.data[:11] for r in first.whole[0].scan.incomplete] == [b"dn: CN=half"]
    sender._finish(first)
    assert first.incomplete == 1
    assert _deliver_all(spool) == [_ldif(2)]
    assert os.listdir(spool.spool_dir) == []


def test_a_sealed_file_open_by_a_writer_is_read_only_after_it_closes(spool: Spool) -> None:
    assert _hook(spool, _ldif(1)) == HOOK_REPLY
    # A writer that opened the journal just before it was sealed, as a slow hook would.
    writer = subprocess.Popen(
        ["sh", "-c", f'exec 3>>"{spool.journal}"; read go; printf done >&3'],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert writer.stdin is not None
    deadline = time.monotonic() + 10
    while not any(os.readlink(f"/proc/{writer.pid}/fd/{fd}").endswith("journal")
                  for fd in os.listdir(f"/proc/{writer.pid}/fd")):  # fmt: skip
        assert time.monotonic() < deadline, "the writer never opened the journal"
        time.sleep(0.01)
    sealed = spool.seal()
    assert sealed is not None
    assert list(spool.waiting()) == []  # the lease is refused: nothing read
    assert spool.in_use == sealed
    assert _sender(spool).send_once().busy
    writer.stdin.write(b"go\n")
    writer.stdin.close()
    assert writer.wait(timeout=10) == 0
    (read,) = list(spool.waiting())  # closed: the lease is granted
    assert spool.in_use is None
    assert read.name == sealed
    assert [r.data for r in read.records] == [_ldif(1)]
    assert read.scan.stray_bytes == len(b"done")  # what the late writer wrote, after it closed


def test_a_large_sealed_file_is_cut_and_the_rest_sorts_right_after(spool: Spool) -> None:
    total = 2 * MAX_EVENTS + 120
    spool.journal.write_bytes(b"".join(Record(n + 10, 1, _ldif(n)).framed() for n in range(total)))
    big = spool.seal()
    assert _hook(spool, _ldif(total)) == HOOK_REPLY
    later = spool.seal()
    assert big is not None
    assert later is not None
    assert big < later
    sender = _sender(spool)
    batch = sender._batch()
    assert len(batch.events) == MAX_EVENTS
    assert batch.cut is not None
    assert batch.cut[1] == MAX_EVENTS
    assert batch.whole == []
    sender._finish(batch)
    names = sorted(os.listdir(spool.spool_dir))
    assert names == [f"{big}.000001", f"{big}.000002", later]  # the rest, in chunks, in order
    assert [len(parse((spool.spool_dir / n).read_bytes()).records) for n in names] == [
        MAX_EVENTS,
        120,
        1,
    ]
    mtimes = {(spool.spool_dir / n).stat().st_mtime_ns for n in names[:2]}
    assert mtimes == {batch.cut[0].mtime_ns}  # the records keep their capture time
    assert spool.depth() == MAX_EVENTS + 121
    assert _deliver_all(spool) == [_ldif(n) for n in range(MAX_EVENTS, total + 1)]


def test_a_restart_sends_leftovers_first_in_order_including_the_old_layout(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first = Spool(state)
    first.prepare()
    # An older forwarder's records: one file per object, complete once the marker ends it.
    old = first.spool_dir / "4242.ldif"
    old.write_bytes(_ldif(0) + b"# credsync-end\n")
    os.utime(old, ns=(1_000_000_000, 1_000_000_000))
    unfinished = first.spool_dir / "4243.ldif"
    unfinished.write_bytes(b"dn: CN=never-finished\n")
    os.utime(unfinished, ns=(1_000_000_000, 1_000_000_000))
    # This forwarder's: a sealed file it never delivered and a live journal.
    assert _hook(first, _ldif(1)) == HOOK_REPLY
    assert first.seal() is not None
    assert _hook(first, _ldif(2)) == HOOK_REPLY
    assert _hook(first, _ldif(3)) == HOOK_REPLY

    again = Spool(state)
    again.prepare()  # the start: old files adopted, the journal sealed
    assert not old.exists()
    assert not unfinished.exists()
    assert not again.journal.exists()
    assert again.depth() == 4
    assert _hook(again, _ldif(4)) == HOOK_REPLY  # syncpasswords runs again meanwhile
    assert _deliver_all(again) == [_ldif(n) for n in range(5)]
    assert _deliver_all(again) == []


def test_an_unreadable_record_goes_to_the_dead_letters_alone(spool: Spool) -> None:
    assert _hook(spool, _ldif(1)) == HOOK_REPLY
    assert _hook(spool, b"dn: CN=x\nobjectGUID:: not base64!\nvirtualSambaGPG: x\n") == HOOK_REPLY
    assert _hook(spool, _ldif(2)) == HOOK_REPLY
    assert _deliver_all(spool) == [_ldif(1), _ldif(2)]
    (reason,) = spool.dead_dir.glob("*.reason")
    assert "unreadable LDIF" in reason.read_text()
    dead = parse(reason.with_suffix(".journal").read_bytes()).records
    assert [r.data[:8] for r in dead] == [b"dn: CN=x"]
