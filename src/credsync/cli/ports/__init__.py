"""The CLI's ports: one per area, the operations its commands need, each with a local
implementation over the vault services and a remote one over the REST API.

A command parses its arguments, calls ``runtime(ctx).ports.<area>`` and prints what comes
back; it never asks where the vault is. What comes back are records as the command's
``--json`` prints them, typed with the record's JSON shape (``ClientJson``...: the
``TypedDict`` the vault declares next to the record, which its ``to_json`` makes and the API
answers with), the same both ways; errors are the same exceptions both ways (a remote port
gets them from the API's error codes, see :mod:`credsync.cli.remote`). The runtime picks the
implementation once per command (:class:`Ports`); an area's module is imported only when a
command uses it.

Adding an area:

1. a module ``credsync/cli/ports/<area>.py`` with a Protocol ``<Area>Port`` (what the
   commands need, in domain terms: no flag names, no HTTP; records typed with their shapes),
   ``Local<Area>`` over a :class:`LocalVault` (the vault services, the operator, the keys)
   and ``Remote<Area>`` over a :class:`~credsync.cli.remote.Remote`; business rules stay in
   the services (the local one calls them, the remote one sends the request that makes the
   server call them);
2. a property of :class:`Ports` returning ``self._port("<area>")``;
3. commands that call ``runtime(ctx).ports.<area>``, and a row per command (a read, a write,
   an error) in the table of ``tests/cli/test_parity.py``, which runs each locally and through
   a server and compares the output, the exit status and the error line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from credsync.cli.ports.audit import AuditPort
    from credsync.cli.ports.capture import CapturePort
    from credsync.cli.ports.clients import ClientsPort
    from credsync.cli.ports.credentials import CredentialsPort
    from credsync.cli.ports.directories import DirectoriesPort
    from credsync.cli.ports.federation import FederationPort
    from credsync.cli.ports.flags import FlagsPort
    from credsync.cli.ports.group_export import GroupExportPort
    from credsync.cli.ports.groups import GroupsPort
    from credsync.cli.ports.mfa import MfaPort
    from credsync.cli.ports.people import PeoplePort
    from credsync.cli.ports.people_deleted import PeopleDeletedPort
    from credsync.cli.ports.people_import import PeopleImportPort
    from credsync.cli.ports.persons import PersonsPort
    from credsync.cli.ports.policies import PoliciesPort
    from credsync.cli.ports.provisioning import ProvisioningPort
    from credsync.cli.ports.quarantine import QuarantinePort
    from credsync.cli.ports.relays import RelaysPort
    from credsync.cli.ports.remote_agents import RemoteAgentsPort
    from credsync.cli.ports.self_service import SelfServicePort
    from credsync.cli.ports.sign_in import SignInPort
    from credsync.cli.ports.sync import SyncPort
    from credsync.cli.ports.transfer import TransferPort
    from credsync.cli.remote import Remote
    from credsync.config import Settings
    from credsync.sync.enforce import EnforcePreview
    from credsync.vault import Actor, KeyRing, Vault

__all__ = ["Confirm", "LocalVault", "Ports", "Record", "with_confirmation"]

Record = dict[str, Any]  # JSON without a declared shape (an API answer as it came, whoami)
# Asked before a switch to enforce goes ahead: returns to go ahead, raises to refuse.
Confirm = Callable[["EnforcePreview"], None]
T = TypeVar("T")


def with_confirmation(send: Callable[[bool], T], confirm: Confirm) -> T:
    """``send(False)``; when the service refuses it as a switch to enforce not confirmed,
    ``confirm`` is shown what it would overwrite (and asks, or refuses), then ``send(True)``.
    The same for a local port (the service's refusal) and a remote one (the API's 409)."""
    from credsync.sync.enforce import EnforceUnconfirmed

    try:
        return send(False)
    except EnforceUnconfirmed as need:
        confirm(need.preview)
    return send(True)


class LocalVault(Protocol):
    """What a local port works with (the runtime has it): the vault, the operator signed in,
    and the keys (the master key is asked for when a secret is first needed)."""

    @property
    def vault(self) -> Vault: ...

    @property
    def actor(self) -> Actor: ...

    @property
    def keys(self) -> KeyRing: ...

    @property
    def settings(self) -> Settings: ...


class Ports:
    """The ports of one command: every area local (over ``local``) or every area remote (over
    ``remote``), never a mix. Each is built on first use."""

    def __init__(self, *, local: LocalVault | None = None, remote: Remote | None = None) -> None:
        if (local is None) == (remote is None):  # pragma: no cover - a wiring mistake
            raise TypeError("Ports are local or remote")
        self._local, self._remote = local, remote
        self._made: dict[str, Any] = {}

    @property
    def remote(self) -> bool:
        return self._remote is not None

    def _port(self, area: str) -> Any:
        if area not in self._made:
            module = importlib.import_module(f"credsync.cli.ports.{area}")
            made = module.remote(self._remote) if self._remote else module.local(self._local)
            self._made[area] = made
        return self._made[area]

    def sign_in(self) -> None:
        """Make sure the operator is signed in (before a question or a prompt, so that a bad
        sign-in is said first): locally the sign-in itself, remotely one look at the token."""
        self.people.whoami()

    @property
    def audit(self) -> AuditPort:
        port: AuditPort = self._port("audit")
        return port

    @property
    def capture(self) -> CapturePort:
        port: CapturePort = self._port("capture")
        return port

    @property
    def clients(self) -> ClientsPort:
        port: ClientsPort = self._port("clients")
        return port

    @property
    def credentials(self) -> CredentialsPort:
        port: CredentialsPort = self._port("credentials")
        return port

    @property
    def directories(self) -> DirectoriesPort:
        port: DirectoriesPort = self._port("directories")
        return port

    @property
    def federation(self) -> FederationPort:
        port: FederationPort = self._port("federation")
        return port

    @property
    def flags(self) -> FlagsPort:
        port: FlagsPort = self._port("flags")
        return port

    @property
    def group_export(self) -> GroupExportPort:
        port: GroupExportPort = self._port("group_export")
        return port

    @property
    def groups(self) -> GroupsPort:
        port: GroupsPort = self._port("groups")
        return port

    @property
    def mfa(self) -> MfaPort:
        port: MfaPort = self._port("mfa")
        return port

    @property
    def people(self) -> PeoplePort:
        port: PeoplePort = self._port("people")
        return port

    @property
    def people_deleted(self) -> PeopleDeletedPort:
        port: PeopleDeletedPort = self._port("people_deleted")
        return port

    @property
    def quarantine(self) -> QuarantinePort:
        port: QuarantinePort = self._port("quarantine")
        return port

    @property
    def people_import(self) -> PeopleImportPort:
        port: PeopleImportPort = self._port("people_import")
        return port

    @property
    def persons(self) -> PersonsPort:
        port: PersonsPort = self._port("persons")
        return port

    @property
    def provisioning(self) -> ProvisioningPort:
        port: ProvisioningPort = self._port("provisioning")
        return port

    @property
    def policies(self) -> PoliciesPort:
        port: PoliciesPort = self._port("policies")
        return port

    @property
    def relays(self) -> RelaysPort:
        port: RelaysPort = self._port("relays")
        return port

    @property
    def remote_agents(self) -> RemoteAgentsPort:
        port: RemoteAgentsPort = self._port("remote_agents")
        return port

    @property
    def self_service(self) -> SelfServicePort:
        port: SelfServicePort = self._port("self_service")
        return port

    @property
    def operator_sign_in(self) -> SignInPort:
        port: SignInPort = self._port("sign_in")
        return port

    @property
    def sync(self) -> SyncPort:
        port: SyncPort = self._port("sync")
        return port

    @property
    def transfer(self) -> TransferPort:
        port: TransferPort = self._port("transfer")
        return port
