"""The one interface every directory connector implements, and the values it speaks in.

A connector talks to one directory (one :class:`DirectoryConfig`) on behalf of the sync engine.
It hides its library completely: what comes out is :class:`Account`, :class:`VerifyResult`,
:class:`ChangeSet` and :class:`TestStep`, and every failure is one of the
:class:`~credsync.errors.ConnectorError` subclasses (raised ``from`` the library's exception,
with the directory's own words in the message and never a secret):

=================================  ===========================================================
``DirectoryUnreachable``           no answer (DNS, TCP, timeout, connection lost): retry later
``DirectoryTlsError``              the TLS handshake or the certificate check failed
``DirectoryAuthFailed``            the directory refused the bind credential
``DirectoryDenied``                the bind credential lacks a right (read, reset password)
``AccountNotFound``                the account is no longer in the directory (or the scope)
``PolicyRejected``                 the directory refused a new password (verbatim reason)
``NotSupported``                   the connector lacks a capability
``PermanentConnectorError``        anything else the directory said no to
=================================  ===========================================================

The engine asks :attr:`Connector.capabilities` before it calls an optional method: a connector
with ``scoped_accounts`` also has ``iter_scoped_accounts(scope, ids=None)`` (the accounts an
:class:`AccountScope` selects: auto-create's OUs, nested groups and enabled accounts); one
with ``identities`` has ``iter_identities(scope, ids=None)`` (a relay's users:
:mod:`credsync.connectors.identities`).
All methods are coroutines; connectors built on blocking libraries run them in a thread. The
engine may have several calls under way at once (it overlaps binds and pushes): a connector
must accept that, serialising where its transport needs it.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from typing_extensions import TypedDict

from credsync.errors import ConnectorError
from credsync.types import Secret

__all__ = [
    "Account",
    "AccountScope",
    "AccountSink",
    "Capability",
    "ChangeSet",
    "Connector",
    "DirectoryConfig",
    "PasswordOptions",
    "StepJson",
    "StepOutcome",
    "StreamedChanges",
    "TestStep",
    "VerifyOutcome",
    "VerifyResult",
    "run_test_steps",
]


class Capability(enum.StrEnum):
    """What a connector can do beyond listing and reading accounts."""

    VERIFY_BIND = "verify_bind"  # verify_password() by a real authentication (AD, LDAP)
    SET_PASSWORD = "set_password"  # noqa: S105 - a capability name
    CHANGES = "changes"  # changes_since(): incremental reads (DirSync, delta)
    PASSWORD_TIMESTAMP = "password_timestamp"  # noqa: S105 - a capability name
    # Accounts come with ``password_changed_by`` where the directory logs who changed a
    # password (Entra's audit log): a change it does not name is said to be judged by time.
    CHANGE_AUTHORS = "change_authors"
    # iter_scoped_accounts(scope, ids): the accounts an AccountScope selects (auto-create).
    SCOPED_ACCOUNTS = "scoped_accounts"
    # iter_identities(scope, ids): users with what a relay pairs them by (anchor, e-mail) and
    # whether a password may be written (see credsync.connectors.identities).
    IDENTITIES = "identities"
    # search_people / search_groups / read_people / read_groups / iter_members: the import of
    # people and groups (see credsync.connectors.people_source).
    PEOPLE = "people"
    # object_states / restore: which of the vault's people and groups were deleted or
    # disabled in the directory, and their restore (see credsync.connectors.deleted_objects).
    DELETED_OBJECTS = "deleted_objects"
    # groups_named / create_group / delete_group / add_members / remove_member: the export
    # of a client's groups (see credsync.connectors.group_export).
    GROUP_EXPORT = "group_export"
    # target_facts / iter_target_users / write_user: provisioning people to the directory
    # (see credsync.connectors.provisioning).
    PROVISION = "provision"
    # federation_domains / federation_settings / create_, update_, delete_federation /
    # domain_users / set_immutable_id / federation_setup: a domain federated to the vault
    # (see credsync.connectors.federation).
    FEDERATION = "federation"
    # changes_since(cursor, sink=...): a full read handed to ``sink`` page by page as it is
    # read, instead of every account held at once (see :class:`StreamedChanges`).
    STREAMED_READS = "streamed_reads"


@dataclass(frozen=True)
class AccountScope:
    """Which accounts auto-create takes, as far as the directory itself can tell: under any of
    ``ous`` (subtrees; none: the directory's whole scope), members of any of ``groups``
    (nested membership included; none: no group condition), disabled accounts only with
    ``include_disabled``. The directory's own system accounts (AD: isCriticalSystemObject) are
    never selected. Name filters and the default exclusions by name are the vault's (the same
    for every kind)."""

    ous: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    include_disabled: bool = False


@dataclass(frozen=True)
class DirectoryConfig:
    """Everything a connector needs to reach its directory: built by the engine from the stored
    directory and the decrypted bind credential. ``options`` holds kind-specific settings."""

    kind: str
    name: str
    url: str
    bind_username: str
    bind_password: Secret
    base_dn: str = ""
    ca_file: Path | None = None
    ca_pem: str | None = None  # the CA certificates themselves (as stored with a directory)
    tls_server_name: str | None = None
    insecure_skip_verify: bool = False
    timeout: float = 10.0
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    """A user object in a directory, as the engine sees it.

    ``id`` is the stable id (objectGUID, Graph object id) that links survive renames by.
    ``password_stamp`` is the directory's own record of the last password change in an exactly
    comparable text form (AD: pwdLastSet as its integer; Graph: lastPasswordChangeDateTime);
    ``password_changed_at`` is the same moment as a UTC datetime for people.
    ``password_changed_by`` says who changed it and how, in words for people ("reset by
    admin@contoso.test in the portal"), where the directory logs it; None when unknown.
    """

    id: str
    username: str  # the primary name: sAMAccountName, or the UPN where there is none
    upn: str | None = None
    domain: str | None = None  # NetBIOS domain name, for DOMAIN\\name matching
    display_name: str | None = None
    dn: str | None = None
    enabled: bool = True
    locked_out: bool = False
    password_expired: bool = False  # expired, or "must change at next logon"
    must_change_password: bool = False
    password_stamp: str | None = None
    password_changed_at: datetime | None = None
    synced_from_on_premises: bool = False
    protected: bool = False  # a privileged account (AD adminCount=1)
    password_changed_by: str | None = None

    def names(self) -> frozenset[str]:
        """Every name a credential's username may use for this account, case-folded."""
        out = {self.username.casefold()}
        if self.upn:
            out.add(self.upn.casefold())
        if self.domain:
            out.add(f"{self.domain}\\{self.username}".casefold())
        return frozenset(out)


@dataclass(frozen=True)
class ChangeSet:
    """What changed since a cursor: accounts that are new or changed (their whole current
    state), ids that left the scope or were deleted, and the cursor to ask from next time.
    ``full`` says the connector could not go incremental and returned every account.
    ``notes``: what the run should tell the operator once (a permission missing, so a fallback
    was taken); never a reason to fail the run."""

    changed: tuple[Account, ...]
    removed: tuple[str, ...]
    cursor: str
    full: bool = False
    notes: tuple[str, ...] = ()
    #: the accounts (and removed ids) went to the caller's sink as they were read: ``changed``
    #: and ``removed`` are empty (:class:`StreamedChanges`)
    streamed: bool = False


#: a page of a streamed full read: its accounts (whole), and the ids it said were removed
AccountSink = Callable[[Sequence[Account], Sequence[str]], Awaitable[None]]


@runtime_checkable
class StreamedChanges(Protocol):
    """A connector with ``streamed_reads``: when ``changes_since`` has to read everything (no
    cursor, or one refused), it awaits ``sink`` with each page (an account may come again in
    a later page: the last one wins) and returns a ChangeSet with ``full`` and ``streamed``
    and nothing in ``changed``; an incremental read ignores ``sink``. A tenant of 100,000
    users is then never held in memory at once."""

    async def changes_since(
        self, cursor: str | None, *, sink: AccountSink | None = None
    ) -> ChangeSet: ...


class VerifyOutcome(enum.StrEnum):
    OK = "ok"  # the secret is the account's password
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - an outcome name
    ACCOUNT_DISABLED = "account_disabled"
    LOCKED_OUT = "locked_out"
    PASSWORD_EXPIRED = "password_expired"  # noqa: S105 - right but expired / must change


@dataclass(frozen=True)
class VerifyResult:
    outcome: VerifyOutcome
    detail: str = ""  # the directory's own words


@dataclass(frozen=True)
class PasswordOptions:
    """How set_password() sets it: ``must_change`` makes the user change it at next sign-in;
    ``never_expires`` is honoured by connectors that support it (Graph's passwordPolicies)."""

    must_change: bool = False
    never_expires: bool = False


class StepOutcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # an earlier step failed
    WARNING = "warning"


class StepJson(TypedDict):
    """A step of a directory's test (a ``TestStep``; not named after it, so that pytest never
    takes it for a test class)."""

    step: str
    outcome: Literal["ok", "warning", "failed", "skipped"]
    detail: str


@dataclass(frozen=True)
class TestStep:
    """One step of test_connection(): ``name`` such as "tcp", "tls", "bind", "search",
    "reset password right"; ``detail`` in the directory's own words when it failed."""

    __test__ = False  # not a pytest test class

    name: str
    outcome: StepOutcome
    detail: str = ""

    def to_json(self) -> StepJson:
        return StepJson(step=self.name, outcome=self.outcome.value, detail=self.detail)


StepCheck = Callable[[], Awaitable[tuple[StepOutcome, str]]]


async def run_test_steps(checks: Sequence[tuple[str, StepCheck]]) -> list[TestStep]:
    """test_connection()'s steps in order: a ConnectorError fails its step, and the steps
    after a failed one are skipped (they would fail for the same reason)."""
    steps: list[TestStep] = []
    failed = False
    for name, check in checks:
        if failed:
            steps.append(TestStep(name, StepOutcome.SKIPPED, "an earlier step failed"))
            continue
        try:
            outcome, detail = await check()
        except ConnectorError as err:
            outcome, detail = StepOutcome.FAILED, str(err)
        steps.append(TestStep(name, outcome, detail))
        failed = outcome is StepOutcome.FAILED
    return steps


@runtime_checkable
class Connector(Protocol):
    """One directory kind. Construct with a :class:`DirectoryConfig` (and, for tests, an
    injectable transport); use as an async context manager or call :meth:`close`."""

    kind: str
    capabilities: frozenset[Capability]

    async def test_connection(self) -> list[TestStep]:
        """Every step in order; never raises for a directory failure (the step says it)."""
        ...

    def iter_accounts(self) -> AsyncIterator[Account]:
        """Every user account in scope (paged; memory stays flat)."""
        ...

    async def get_account(self, account_id: str) -> Account:
        """The account by stable id; AccountNotFound when it is gone."""
        ...

    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        """Whether ``secret`` is the account's password (one authentication attempt)."""
        ...

    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        """Set the account's password as the bind credential (an administrative reset) and
        return the account as it is afterwards (its new ``password_stamp``)."""
        ...

    async def changes_since(self, cursor: str | None) -> ChangeSet:
        """Accounts changed since ``cursor`` (None: a full read that starts a cursor)."""
        ...

    async def close(self) -> None: ...
