"""Active Directory's complexity rule as its kind declares it (``account_password_refusal``):
three of four classes, not the account name, not a 3+ character part of the display name."""

from __future__ import annotations

import pytest

from credsync.connectors import registry

RULE = registry.kind_of("active-directory").account_password_refusal


@pytest.mark.parametrize(
    ("password", "names", "code"),
    [
        ("alllowercase", [], "classes"),
        ("ALLUPPER123", [], "classes"),  # two classes
        ("Summer-2026", ["jdoe", "John Doe"], None),
        ("jdoe-Summer-26", ["jdoe", "John Doe"], "account_name"),
        ("JDOE-summer-26", ["CONTOSO\\jdoe"], "account_name"),
        ("Xy-Doe-2026", ["jd", "John Doe"], "display_name"),
        ("Xy-Jo-2026", ["jd", "Jo Li"], None),  # parts under 3 characters are allowed
    ],
)
def test_the_rule(password: str, names: list[str], code: str | None) -> None:
    assert RULE is not None
    found = RULE(password, names)
    assert (found[0] if found else None) == code
    if found:
        assert password not in found[1]
