"""The rules a person's new password must meet before anything is stored: the client's
password policy for its people, and the rule of every directory the person has an account in.

**The client's password policy.** An admin (or anyone with ``vault.write`` on the client) picks
one of the vault's named password policies for a client's people
(:meth:`PersonPasswords.set_policy`, ``credsync person password-policy``); without a choice it is
the named policy ``people`` when the vault has one, else :data:`PEOPLE_DEFAULT` (12 characters
or more, a lower case letter, an upper case letter and a digit). A named policy is a generator's
recipe (:class:`~credsync.vault.generator.PasswordPolicy`); read as a rule for a chosen password
it means: at least ``length`` characters, at least the minimum count of each class it asks for
(symbols: any character that is not a letter or digit), none of its excluded characters.

**The directories' rules.** For each account of the person (``person_accounts``), the rule its
directory's kind declares (:attr:`~credsync.connectors.kinds.Kind.password_refusal` and
``account_password_refusal``: Entra's character set and classes, Active Directory's complexity
with the account's names), reached through the kind's descriptor (no kind is named here).

Each refusal names its rule and never quotes the password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import accounts as account_rows
from credsync.storage import people as people_rows
from credsync.storage import person_links as link_rows
from credsync.storage import policies as policy_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import directory_model, find_directory_row
from credsync.vault.generator import PasswordPolicy

__all__ = ["PEOPLE_DEFAULT", "PasswordRefused", "PersonPasswords", "Refusal", "policy_refusal"]

PEOPLE_DEFAULT = PasswordPolicy(length=12, lower=1, upper=1, digits=1, symbols=0)
PEOPLE_POLICY_NAME = "people"


@dataclass(frozen=True)
class Refusal:
    rule: str  # "policy people", "Active Directory (CONTOSO-AD)", "Office 365 (Tenant)"
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"


class PasswordRefused(InvalidInput):
    """The new password breaks one or more rules (``refusals``); nothing was stored."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        super().__init__(
            "the new password was refused: " + "; ".join(str(r) for r in refusals),
            field="password",
        )
        self.refusals = tuple(refusals)


def policy_refusal(name: str, policy: PasswordPolicy, password: str) -> Refusal | None:
    """How ``password`` breaks the named policy read as a rule (see the module docstring)."""
    rule = f"password policy {name!r}"
    if len(password) < policy.length:
        return Refusal(rule, "too_short", f"it has {len(password)} characters; at least "
                       f"{policy.length} are needed")  # fmt: skip
    counts = {
        "lower": sum(c.islower() for c in password),
        "upper": sum(c.isupper() for c in password),
        "digits": sum(c.isdigit() for c in password),
        "symbols": sum(not c.isalnum() for c in password),
    }
    words = {"lower": "lower case letters", "upper": "upper case letters", "digits": "digits",
             "symbols": "symbols"}  # fmt: skip
    for name_, wanted in (("lower", policy.lower), ("upper", policy.upper),
                          ("digits", policy.digits), ("symbols", policy.symbols)):  # fmt: skip
        if wanted > 0 and counts[name_] < wanted:
            return Refusal(rule, "classes", f"it needs at least {wanted} {words[name_]}")
    if policy.exclude and any(c in policy.exclude for c in password):
        return Refusal(rule, "excluded", "it has characters the policy excludes")
    return None


class PersonPasswords:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def policy_of(self, conn: Connection, client_id: str) -> tuple[str, PasswordPolicy]:
        """The client's people's password policy: (its name, the policy)."""
        chosen = link_rows.client_policy(conn, client_id)
        name = chosen or PEOPLE_POLICY_NAME
        spec = policy_rows.spec(conn, name.lower()) if name != "default" else None
        if spec is not None:
            return name, PasswordPolicy.loads(spec)
        if chosen == "default":
            return "default", PasswordPolicy()
        # None chosen and no ``people`` policy, or the chosen one removed since: built in.
        return "people (built in)", PEOPLE_DEFAULT

    def set_policy(self, actor: Actor, client_ref: str, policy: str | None) -> str:
        """Choose the client's people's policy by name (None or "": back to the default);
        returns the name in force. vault.write on the client; audited."""
        actor.require(Permission.VAULT_WRITE)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            name = (policy or "").strip().lower() or None
            if name not in (None, "default") and policy_rows.spec(conn, name) is None:
                raise NotFound(f"no password policy named {name!r}")
            link_rows.set_client_policy(conn, client.id, name, by=actor.name, now=utcnow())
            shown, _ = self.policy_of(conn, client.id)
            self._audit.append(conn, actor, "client.people_policy", target_type="client",
                               target_id=client.id, client_id=client.id,
                               details={"policy": shown})  # fmt: skip
        return shown

    def refusals(self, person_id: str, password: Secret) -> list[Refusal]:
        """Every rule ``password`` breaks for the person (empty: it may be stored)."""
        raw = password.reveal()
        out: list[Refusal] = []
        with self._db.read() as conn:
            person = people_rows.get(conn, person_id)
            if person is None:
                raise NotFound("no such person")
            name, policy = self.policy_of(conn, person.client_id)
            found = policy_refusal(name, policy, raw)
            if found is not None:
                out.append(found)
            own = [n for n in (person.username, person.display_name) if n]
            for link in people_rows.accounts_of(conn, [person.id])[person.id]:
                directory = directory_model(find_directory_row(conn, link.directory_id, SYSTEM))
                kind = directory.descriptor
                rule = f"{kind.display_name} ({directory.name})"
                if kind.password_refusal is not None:
                    refused = kind.password_refusal(raw)
                    if refused is not None:
                        out.append(Refusal(rule, *refused))
                        continue
                if kind.account_password_refusal is not None:
                    cached = account_rows.load(conn, directory.id, [link.object_id], [])
                    names = list(own)
                    for account in cached[:1]:
                        names += [n for n in (account.username, account.display_name) if n]
                    refused = kind.account_password_refusal(raw, names)
                    if refused is not None:
                        out.append(Refusal(rule, *refused))
        return out

    def check(self, person_id: str, password: Secret) -> None:
        """PasswordRefused naming every rule broken; nothing else happens."""
        found = self.refusals(person_id, password)
        if found:
            raise PasswordRefused(found)
