"""Password policies and the generator; named policies stored in the vault."""

from __future__ import annotations

import string

import pytest

from credsync.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from credsync.types import Secret
from credsync.vault.generator import (
    AMBIGUOUS,
    DEFAULT_POLICY,
    ENTRA_SYMBOLS,
    PasswordPolicy,
    generate,
)

from .helpers import audit_of

SAMPLES = 300
CLASSES = {
    "lower": set(string.ascii_lowercase),
    "upper": set(string.ascii_uppercase),
    "digits": set(string.digits),
}


def class_counts(password: str, symbol_set: str) -> dict[str, int]:
    counts = {name: sum(c in chars for c in password) for name, chars in CLASSES.items()}
    counts["symbols"] = sum(c in symbol_set for c in password)
    return counts


def samples(policy: PasswordPolicy = DEFAULT_POLICY, n: int = SAMPLES, **kw) -> list[str]:
    return [generate(policy, **kw).reveal() for _ in range(n)]


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"length": 3}, "length must be 4..256"),
        ({"length": 257}, "length must be 4..256"),
        ({"length": 0}, "length must be 4..256"),
        ({"lower": -2}, "minimum lower"),
        ({"length": 8, "upper": 9}, "minimum upper"),
        ({"length": 6, "lower": 2, "upper": 2, "digits": 2, "symbols": 1}, "add up to more"),
        ({"symbol_set": "!a"}, "printable ASCII punctuation"),
        ({"symbol_set": "! ?"}, "printable ASCII punctuation"),
        ({"symbol_set": "!\x07"}, "printable ASCII punctuation"),
        ({"symbol_set": "!€"}, "printable ASCII punctuation"),
        ({"symbol_set": ""}, "no characters in class symbols"),
        ({"exclude": string.digits}, "no characters in class digits"),
        ({"exclude": string.ascii_uppercase}, "no characters in class upper"),
        ({"symbol_set": "|`", "exclude_ambiguous": True}, "no characters in class symbols"),
        ({"lower": -1, "upper": -1, "digits": -1, "symbols": -1}, "no character classes"),
    ],
)
def test_impossible_policies_are_refused(settings, message):
    with pytest.raises(InvalidInput, match=message):
        PasswordPolicy(**settings)


def test_policies_load_from_mappings_and_json():
    policy = PasswordPolicy.from_mapping({"length": 30, "symbols": -1, "exclude": "xyz"})
    assert (policy.length, policy.symbols, policy.exclude) == (30, -1, "xyz")
    assert PasswordPolicy.loads(policy.dumps()) == policy
    assert PasswordPolicy.loads(DEFAULT_POLICY.dumps()) == DEFAULT_POLICY
    with pytest.raises(InvalidInput, match="unknown password policy setting colour"):
        PasswordPolicy.from_mapping({"length": 12, "colour": "blue"})
    with pytest.raises(InvalidInput):
        PasswordPolicy.from_mapping({"length": 2})
    # a class left out (-1) gets no pool; a class that may be absent (0) keeps its pool
    assert set(PasswordPolicy(symbols=-1).pools()) == {"lower", "upper", "digits"}
    assert set(PasswordPolicy(symbols=0).pools()) == {"lower", "upper", "digits", "symbols"}


# -- generating --------------------------------------------------------------------------------
def test_generated_passwords_meet_every_class_minimum():
    policy = PasswordPolicy(length=12, lower=2, upper=3, digits=4, symbols=2, symbol_set="#%+")
    allowed = set().union(*CLASSES.values(), "#%+")

    for password in samples(policy):
        assert len(password) == 12
        assert set(password) <= allowed
        counts = class_counts(password, "#%+")
        assert counts["lower"] >= 2
        assert counts["upper"] >= 3
        assert counts["digits"] >= 4
        assert counts["symbols"] >= 2


def test_minimums_may_fill_the_whole_length():
    policy = PasswordPolicy(length=4, lower=1, upper=1, digits=1, symbols=1)
    for password in samples(policy, 100):
        assert class_counts(password, policy.symbol_set) == {
            "lower": 1,
            "upper": 1,
            "digits": 1,
            "symbols": 1,
        }


def test_left_out_classes_and_exclusions_never_appear():
    no_symbols = PasswordPolicy(length=24, symbols=-1)
    no_vowels = PasswordPolicy(length=24, exclude="aeiouAEIOU01")
    unambiguous = PasswordPolicy(length=24, exclude_ambiguous=True, symbol_set="|`'\"!#")

    for password in samples(no_symbols, 100):
        assert password.isalnum()
    for password in samples(no_vowels, 100):
        assert not set(password) & set("aeiouAEIOU01")
    for password in samples(unambiguous, 100):
        assert not set(password) & set(AMBIGUOUS)
        assert class_counts(password, "!#")["symbols"] >= 1


def test_generated_passwords_are_secret_and_do_not_repeat():
    secret = generate()
    assert isinstance(secret, Secret)
    assert secret.reveal() not in repr(secret)
    assert len(set(samples())) == SAMPLES


def test_required_characters_are_not_always_in_front():
    # one digit is required and the other 15 characters may be digits rarely: the shuffle must
    # move the required digit around
    policy = PasswordPolicy(length=16, lower=0, upper=0, digits=1, symbols=-1)
    first_digit = {next(i for i, c in enumerate(p) if c.isdigit()) for p in samples(policy, 200)}
    assert len(first_digit) > 3


def test_default_policy_meets_active_directory_and_entra_rules():
    assert 8 <= DEFAULT_POLICY.length <= 256
    assert set(DEFAULT_POLICY.symbol_set) <= set(ENTRA_SYMBOLS)
    assert " " not in ENTRA_SYMBOLS

    for password in samples():
        counts = class_counts(password, ENTRA_SYMBOLS)
        # Active Directory complexity: three of the four classes
        assert sum(1 for n in counts.values() if n > 0) >= 3
        # Entra ID: 8..256 characters, letters, digits and the allowed symbols only
        assert 8 <= len(password) <= 256
        assert " " not in password
        assert all(c.isascii() and (c.isalnum() or c in ENTRA_SYMBOLS) for c in password)
        assert sum(counts.values()) == len(password)
        # the default asks for every class
        assert all(n >= 1 for n in counts.values())


def test_avoid_keeps_account_names_out():
    # three letters only, so that "abc" turns up often unless it is avoided
    only_abc = PasswordPolicy(
        length=8,
        lower=1,
        upper=-1,
        digits=-1,
        symbols=-1,
        exclude=string.ascii_lowercase.replace("a", "").replace("b", "").replace("c", ""),
    )

    assert any("abc" in p for p in samples(only_abc, 200))
    for password in samples(only_abc, 200, avoid=["ABC", ""]):
        assert "abc" not in password
    # names shorter than three characters are not checked (as in Active Directory)
    assert any("ab" in p for p in samples(only_abc, 50, avoid=["ab"]))


def test_an_unavoidable_name_is_refused():
    only_a = PasswordPolicy(
        length=4, lower=1, upper=-1, digits=-1, symbols=-1, exclude=string.ascii_lowercase[1:]
    )
    with pytest.raises(InvalidInput, match="avoids the given names"):
        generate(only_a, avoid=["aaa"])


# -- named policies ----------------------------------------------------------------------------
def test_named_policies_add_list_get_and_delete(world):
    strong = PasswordPolicy(length=32, symbols=4)
    world.vault.policies.add(world.admin, " Strong ", strong)
    world.vault.policies.add(
        world.admin, "pin", PasswordPolicy(length=6, lower=-1, upper=-1, symbols=-1)
    )

    listed = world.vault.policies.list(world.admin)
    assert [name for name, _ in listed] == ["default", "pin", "strong"]
    assert listed[0][1] == DEFAULT_POLICY
    assert world.vault.policies.get("STRONG") == strong
    assert world.vault.policies.get(None) == DEFAULT_POLICY
    assert world.vault.policies.get("default") == DEFAULT_POLICY
    assert len(generate(world.vault.policies.get("strong")).reveal()) == 32
    assert generate(world.vault.policies.get("pin")).reveal().isdigit()
    [entry] = audit_of(world, "policy.add", "strong")
    assert entry.details == strong.to_json()

    world.vault.policies.delete(world.admin, "Strong")
    with pytest.raises(NotFound):
        world.vault.policies.get("strong")
    assert [name for name, _ in world.vault.policies.list(world.admin)] == ["default", "pin"]
    assert len(audit_of(world, "policy.delete")) == 1


def test_bad_named_policies_are_refused(world):
    world.vault.policies.add(world.admin, "strong", PasswordPolicy(length=32))
    viewer = world.operator("vic", "viewer")

    with pytest.raises(AlreadyExists):
        world.vault.policies.add(world.admin, "STRONG", PasswordPolicy())
    for name in ("default", "Default"):
        with pytest.raises(InvalidInput, match="built-in"):
            world.vault.policies.add(world.admin, name, PasswordPolicy())
    for name in ("", "  ", "p" * 65):
        with pytest.raises(InvalidInput):
            world.vault.policies.add(world.admin, name, PasswordPolicy())
    with pytest.raises(NotFound):
        world.vault.policies.delete(world.admin, "nothing")
    with pytest.raises(PermissionDenied):
        world.vault.policies.add(viewer, "mine", PasswordPolicy())
    with pytest.raises(PermissionDenied):
        world.vault.policies.delete(viewer, "strong")

    assert [name for name, _ in world.vault.policies.list(viewer)] == ["default", "strong"]
    assert world.vault.policies.get("strong").length == 32
