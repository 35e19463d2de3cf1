"""Entra's password rule as a relay checks it before a write (learn.microsoft.com: "Microsoft
Entra password policies"): 8-256 allowed ASCII characters, 3 of 4 classes."""

from __future__ import annotations

import pytest

from credsync.connectors import registry
from credsync.connectors.graph._policy import password_refusal


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Pässwörd-42!", "non_ascii"),
        ("Tab\there-42!", "non_ascii"),
        ("Short1!", "too_short"),
        ("A" * 200 + "a1!" * 20, "too_long"),
        ("alllowercase", "classes"),
        ("lower-and-symbols!", "classes"),
        ("Lower-and-Upper", None),
        ("Exactly8!", None),
        ("with space 1A", None),
    ],
)
def test_the_rule(password: str, code: str | None) -> None:
    refused = password_refusal(password)
    assert (refused[0] if refused else None) == code
    if refused:
        assert password not in refused[1]


def test_the_rule_is_reached_through_the_registry_only_for_kinds_that_know_one() -> None:
    assert registry.kind_of("entra").password_refusal is password_refusal
    assert registry.kind_of("active-directory").password_refusal is None
    assert registry.kind_of("entra").relay_target
    assert registry.kind_of("active-directory").relay_source
