"""A failed comparison with a password in it prints neither string (tests/secret_output.py)."""

from __future__ import annotations

import pytest

from secret_output import looks_like_a_password, pytest_assertrepr_compare

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("Helpdesk-Reset-1!", True),
        ("Vault-1a2b3c4d5e-1", True),
        ("in_sync", False),
        ("unreachable", False),
        ("CN=Alice Smith,OU=t1,DC=example,DC=test", False),
        ("do it: TLS failed: self-signed certificate", False),
        ("0f3c9a7e-1d2b-4c5d-8e9f-a0b1c2d3e4f5", False),
        ("Short1!", False),
    ],
)
def test_what_looks_like_a_password(text: str, password: bool) -> None:
    assert looks_like_a_password(text) is password


def test_the_hook_leaves_other_comparisons_to_pytest() -> None:
    assert pytest_assertrepr_compare(None, "==", "in_sync", "unreachable") is None
    assert pytest_assertrepr_compare(None, "==", 1, 2) is None
    said = pytest_assertrepr_compare(None, "==", "Stored-Secret-9!", "Expected-Pw-1!")
    assert said is not None
    assert "Stored" not in "".join(said)
    assert "Expected" not in "".join(said)


def test_a_failed_test_prints_no_password(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from secret_output import pytest_assertrepr_compare  # noqa: F401\n")
    pytester.makepyfile(
        """
        def stored():
            return "Stored-" + "Secret-7!"

        def test_it():
            assert stored() == "Expected-" + "Value-3!"

        def test_state():
            assert "in" + "_sync" == "unreachable"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "Stored-Secret-7!" not in out
    assert "Expected-Value-3!" not in out
    assert "values not printed (one looks like a password)" in out
    assert "'in_sync' == 'unreachable'" in out  # other strings as pytest reports them
