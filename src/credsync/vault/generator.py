"""Password generation from policies.

The default policy (20 characters, all four character classes, symbols from the set Entra ID
accepts) satisfies Active Directory's complexity rule (three of four classes, and it never
contains the account name when one is given) and Entra ID's rules (8-256 characters, three of
four classes, only the allowed symbols, no spaces).
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = [
    "DEFAULT_POLICY",
    "ENTRA_SYMBOLS",
    "PasswordPolicy",
    "PolicyJson",
    "PolicySettingsJson",
    "generate",
]

# The symbols Entra ID allows in passwords (space left out: it confuses people and scripts).
ENTRA_SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<>"
# The default omits quotes, backslash and backtick, which break shell and CSV pastes.
DEFAULT_SYMBOLS = "@#$%^&*-_!+=[]{}|:,.?/~();<>"
AMBIGUOUS = "Il1O0o|`'\""
MIN_LENGTH, MAX_LENGTH = 4, 256
_CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
}


class PolicySettingsJson(TypedDict):
    length: int
    lower: int
    """At least this many lowercase letters; -1: none at all."""
    upper: int
    """At least this many uppercase letters; -1: none at all."""
    digits: int
    """At least this many digits; -1: none at all."""
    symbols: int
    """At least this many symbols (of ``symbol_set``); -1: none at all."""
    symbol_set: str
    exclude: str
    """Characters never used."""
    exclude_ambiguous: bool
    """Il1O0o and the like are left out."""


class _PolicyName(TypedDict):
    name: str


class PolicyJson(_PolicyName, PolicySettingsJson):
    """A named password policy (``default``: the built-in one) and its settings."""


@dataclass(frozen=True)
class PasswordPolicy:
    length: int = 20
    lower: int = 1  # minimum count of each class; -1 leaves the class out
    upper: int = 1
    digits: int = 1
    symbols: int = 1
    symbol_set: str = DEFAULT_SYMBOLS
    exclude: str = ""
    exclude_ambiguous: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not MIN_LENGTH <= self.length <= MAX_LENGTH:
            raise InvalidInput(
                f"password length must be {MIN_LENGTH}..{MAX_LENGTH}, not {self.length}"
            )
        for name in ("lower", "upper", "digits", "symbols"):
            value = getattr(self, name)
            if value < -1 or value > self.length:
                raise InvalidInput(
                    f"minimum {name} must be -1 (none) to {self.length}, not {value}"
                )
        if (
            sum(max(0, getattr(self, n)) for n in ("lower", "upper", "digits", "symbols"))
            > self.length
        ):
            raise InvalidInput("the minimum counts of the classes add up to more than the length")
        bad = [c for c in self.symbol_set if c.isalnum() or c.isspace() or not c.isprintable()]
        if bad or any(ord(c) > 126 for c in self.symbol_set):
            raise InvalidInput("the symbol set must hold printable ASCII punctuation only")
        for name, chars in self.pools().items():
            if not chars:
                raise InvalidInput(f"the exclusions leave no characters in class {name}")
        if not self.pools():
            raise InvalidInput("the policy allows no character classes")

    def pools(self) -> dict[str, str]:
        removed = set(self.exclude) | (set(AMBIGUOUS) if self.exclude_ambiguous else set())
        sets = {**_CLASSES, "symbols": self.symbol_set}
        return {
            name: "".join(c for c in chars if c not in removed)
            for name, chars in sets.items()
            if getattr(self, name) >= 0
        }

    def to_json(self) -> PolicySettingsJson:
        """The settings (as stored, and as they are given)."""
        return PolicySettingsJson(
            length=self.length,
            lower=self.lower,
            upper=self.upper,
            digits=self.digits,
            symbols=self.symbols,
            symbol_set=self.symbol_set,
            exclude=self.exclude,
            exclude_ambiguous=self.exclude_ambiguous,
        )

    def named_json(self, name: str) -> PolicyJson:
        """The policy called ``name``, as it is listed."""
        return PolicyJson(name=name, **self.to_json())

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> PasswordPolicy:
        return cls.from_mapping(json.loads(text))

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> PasswordPolicy:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "extra"}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidInput(f"unknown password policy setting {', '.join(unknown)}")
        return cls(**known)


DEFAULT_POLICY = PasswordPolicy()


def _contains_name(password: str, avoid: list[str]) -> bool:
    lowered = password.casefold()
    return any(len(name) >= 3 and name.casefold() in lowered for name in avoid)


def generate(policy: PasswordPolicy = DEFAULT_POLICY, *, avoid: list[str] | None = None) -> Secret:
    """A password meeting ``policy``; ``avoid`` lists names (sAMAccountName, display-name
    parts) that must not appear in it, as Active Directory's complexity rule demands."""
    pools = policy.pools()
    alphabet = "".join(pools.values())
    avoid = [a for a in (avoid or []) if a]
    for _ in range(1000):
        chars = [
            secrets.choice(pools[name]) for name in pools for _ in range(getattr(policy, name))
        ]
        chars += [secrets.choice(alphabet) for _ in range(policy.length - len(chars))]
        # Fisher-Yates with a CSPRNG, so the required characters are not always in front.
        for i in range(len(chars) - 1, 0, -1):
            j = secrets.randbelow(i + 1)
            chars[i], chars[j] = chars[j], chars[i]
        password = "".join(chars)
        if not _contains_name(password, avoid):
            return Secret(password)
    raise InvalidInput(
        "could not generate a password that avoids the given names"
    )  # pragma: no cover
