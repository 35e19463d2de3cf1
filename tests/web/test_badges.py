"""Badges say words ("in sync", "changed in the directory"), not the codes the CLI and the API
use (kept in the badge's title)."""

from __future__ import annotations

from typing import get_args

from credsync.sync.model import Status
from credsync.sync.reports import RunState
from credsync.web.pages import WORDS, environment


def test_every_status_and_run_state_has_words_for_its_badge() -> None:
    codes = {s.value for s in Status} | set(get_args(RunState))
    assert codes <= set(WORDS)
    for code in codes:
        assert "_" not in WORDS[code], code
    badge = environment().from_string(
        '{% import "macros.html" as m %}{{ m.badge("changed_in_directory") }}'
    )
    assert badge.render() == (
        '<span class="badge badge-warn" title="changed_in_directory">'
        "changed in the directory</span>"
    )
