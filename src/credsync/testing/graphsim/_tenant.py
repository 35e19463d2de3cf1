"""A simulated tenant: its directory (users, groups, domains, licences), its apps, its throttling,
injected faults and latency, its counters (requests, password writes per user) and the portal:
what an admin in the Azure portal could do, for tests and demos (thread-safe; unthrottled)."""

from __future__ import annotations

import base64
import copy
import random
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _audits, _ops
from ._clock import SimClock
from ._domains import FEDERATING_ROLES, federation_config
from ._errors import GraphError
from ._faults import Fault, Faults, Latency
from ._model import GROUP_DEFAULTS, USER_DEFAULTS, full_copy
from ._passwords import PasswordWrites, matches, strong_password
from ._permissions import ROLE_TEMPLATE_IDS
from ._seed import guid
from ._store import Store
from ._throttle import ThrottleConfig, Throttler
from ._tls import AppCertificate, make_app_certificate

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["Fault", "SimApp", "SimTenant", "SimUser"]


@dataclass(frozen=True)
class SimApp:
    """An app registration (and its service principal) with its credentials."""

    client_id: str
    client_secret: str = field(repr=False)
    certificate_pem: str
    private_key_pem: str = field(repr=False)
    thumbprint_sha1: str  # hex, as the portal shows it
    thumbprint_sha256: str
    permissions: tuple[str, ...]
    directory_role: str | None
    service_principal_id: str
    display_name: str
    certificate: x509.Certificate = field(repr=False, compare=False)


@dataclass(frozen=True)
class SimUser:
    id: str
    upn: str
    password: str = field(repr=False)


_STAT_KEYS = ("requests", "reads", "writes", "password_writes", "throttled", "batches", "tokens")


class SimTenant:
    def __init__(
        self,
        *,
        tenant_id: str,
        domain: str,
        initial_domain: str,
        rng: random.Random,
        clock: SimClock,
    ) -> None:
        self.id = tenant_id
        self.domain = domain
        self.initial_domain = initial_domain
        self.name = domain.split(".")[0].capitalize()
        self.clock = clock
        self.rng = rng
        self.store = Store()
        self.apps: dict[str, SimApp] = {}
        self.skus: list[dict[str, Any]] = []
        self.domains: list[dict[str, Any]] = []
        self.federation: dict[str, dict[str, Any]] = {}
        self._throttle = ThrottleConfig()
        self.throttler = Throttler(self._throttle)
        self.faults = Faults()  # injected faults (see _faults)
        self._stats_lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self.latency = Latency()  # injected per-request latency (see _faults)
        self.password_log = PasswordWrites()  # what apps wrote to each user's password
        self.default_app: SimApp
        # the directory audit log (see _audits): seconds before an entry is listed (Microsoft's
        # p95 is 2 minutes, p99 5), and Entra ID P1/P2 (30 days' retention instead of 7)
        self.audit_log = _audits.AuditLog()
        self.audit_delay: float = 0.0
        self.premium = False
        # directory roles activated by POST /directoryRoles (held roles are active anyway)
        self.activated_roles: set[str] = set()
        # federation writes (see _federation): the directory roles an app needs for app-only
        # POST/DELETE of a federationConfiguration (None: no role check), and the seconds
        # before /domains reports a domain's new authenticationType (Microsoft: up to 2 hours)
        self.federation_roles: tuple[str, ...] | None = FEDERATING_ROLES
        self.federation_delay: float = 0.0
        self.pending_auth: dict[str, tuple[float, str]] = {}

    def __repr__(self) -> str:
        return f"SimTenant(id={self.id!r}, domain={self.domain!r}, users={self.users_count()})"

    # --- apps -----------------------------------------------------------------------------
    def add_app(
        self,
        permissions: tuple[str, ...] | list[str] = ("User.Read.All",),
        directory_role: str | None = None,
        display_name: str | None = None,
    ) -> SimApp:
        """Register an app with these application permissions (admin-consented) and directory
        role (None, or e.g. "User Administrator", "Privileged Authentication Administrator")."""
        if directory_role is not None and directory_role not in ROLE_TEMPLATE_IDS:
            raise ValueError(f"unknown directory role {directory_role!r}")
        with self.store.lock:
            client_id, sp_id = guid(self.rng), guid(self.rng)
        cert: AppCertificate = make_app_certificate(f"credsync-sim-{client_id[:8]}")
        app = SimApp(
            client_id=client_id,
            client_secret=f"{secrets.token_urlsafe(3)[:3]}8Q~{secrets.token_urlsafe(30)[:37]}",
            certificate_pem=cert.certificate_pem,
            private_key_pem=cert.private_key_pem,
            thumbprint_sha1=cert.sha1_hex,
            thumbprint_sha256=cert.sha256_hex,
            permissions=tuple(permissions),
            directory_role=directory_role,
            service_principal_id=sp_id,
            display_name=display_name or f"credsync app {len(self.apps) + 1}",
            certificate=cert.certificate,
        )
        self.apps[client_id] = app
        return app

    # --- throttling, faults, counters ------------------------------------------------------
    @property
    def throttle(self) -> ThrottleConfig:
        return self._throttle

    @throttle.setter
    def throttle(self, config: ThrottleConfig) -> None:
        self._throttle = config
        self.throttler = Throttler(config)

    def inject_fault(
        self,
        method: str = "GET",
        path_prefix: str = "/v1.0/users",
        status: int = 503,
        times: int = 1,
        retry_after: int | None = None,
        code: str | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """The next ``times`` requests whose method and path match fail with ``status`` (Graph's
        error shape; Retry-After if given); status 0 drops the connection without an answer
        (``after``: once the request was handled).
        ``method="*"`` matches any method; the path includes "/v1.0". A fault for the same method
        and prefix replaces the one before; ``times=0`` just removes it."""
        self.faults.put(
            Fault(
                method.upper(),
                path_prefix.lower(),
                status,
                times,
                retry_after,
                code,
                message,
                after,
            )
        )

    def take_fault(self, method: str, path: str) -> Fault | None:
        return self.faults.take(method, path)

    def clear_faults(self) -> None:
        self.faults.clear()

    def stats_add(self, key: str, count: int = 1) -> None:
        with self._stats_lock:
            self._stats[key] += count

    def count_status(self, status: int) -> None:
        with self._stats_lock:
            self._by_status[status] += 1
            if status == 429:
                self._stats["throttled"] += 1

    @property
    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            found: dict[str, Any] = {key: self._stats[key] for key in _STAT_KEYS}
            found["by_status"] = dict(self._by_status)
            return found

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats.clear()
            self._by_status.clear()

    # --- domains --------------------------------------------------------------------------
    def domain_names(self) -> set[str]:
        return {d["id"].lower() for d in self.domains if d["isVerified"]}

    def federated(self, upn: str) -> bool:
        return upn.rsplit("@", 1)[-1].lower() in self.federation

    def set_federated(self, domain: str, federated: bool = True) -> None:
        """Federate a domain (``authenticationType`` Federated, with a federationConfiguration
        naming an AD FS-like identity provider) or return it to Managed. As in Entra, the default
        and the initial (onmicrosoft) domain cannot be federated
        (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp)."""
        key = domain.lower()
        with self.store.lock:
            record = next((d for d in self.domains if d["id"].lower() == key), None)
            if record is None:
                raise KeyError(f"no domain {domain!r} in tenant {self.id}")
            if federated and (record["isDefault"] or record["isInitial"]):
                raise ValueError(
                    f"{domain} is the default or initial domain: it cannot be federated"
                )
            record["authenticationType"] = "Federated" if federated else "Managed"
            if federated:
                self.federation.setdefault(key, federation_config(self.rng, key))
            else:
                self.federation.pop(key, None)

    # --- the portal: users -----------------------------------------------------------------
    def _live_user(self, user_id: str) -> dict[str, Any]:
        record = self.store.user(user_id)
        if record is None:
            raise KeyError(f"no user {user_id!r} in tenant {self.id}")
        return record

    def create_user(
        self,
        upn: str | None = None,
        password: str | None = None,
        display_name: str | None = None,
        enabled: bool = True,
        on_premises_sync: bool = False,
        admin_role: str | None = None,
        usage_location: str | None = None,
    ) -> SimUser:
        if admin_role is not None and admin_role not in ROLE_TEMPLATE_IDS:
            raise ValueError(f"unknown directory role {admin_role!r}")
        with self.store.lock:
            user_id = guid(self.rng)
            if upn is None:
                upn = f"user.{user_id[:8]}@{self.domain}"
            if password is None:
                password = strong_password(self.rng)
            alias = upn.split("@")[0]
            record: dict[str, Any] = {
                "id": user_id,
                "userPrincipalName": upn,
                "displayName": display_name or alias,
                "mail": upn,
                "mailNickname": alias,
                "accountEnabled": enabled,
                "usageLocation": usage_location,
                "userType": "Member",
                "passwordProfile": {"forceChangePasswordNextSignIn": False},
            }
            try:
                _ops.check_upn(self, upn)
                _ops.add_user(self, record, password, admin_role)
            except GraphError as exc:
                raise ValueError(exc.message) from None
            if on_premises_sync:
                self._sync_fields(record)
            return SimUser(user_id, upn, password)

    def _sync_fields(self, record: dict[str, Any], immutable_id: str | None = None) -> None:
        """What Entra Connect writes on a user it syncs: the anchor is base64 of the AD
        objectGUID's bytes (kept if the user has one: a hard match), the on-premises names."""
        sam = record["mailNickname"].replace(".", "")[:20]
        onprem = f"corp.{self.domain}"
        anchor = immutable_id or record.get("onPremisesImmutableId")
        if anchor is None:
            anchor = base64.b64encode(uuid.UUID(guid(self.rng)).bytes_le).decode()
        _ops.check_immutable_id(self, anchor, exclude=record["id"])
        record.update(
            onPremisesSyncEnabled=True,
            onPremisesSamAccountName=sam,
            onPremisesDomainName=onprem,
            onPremisesUserPrincipalName=f"{sam}@{onprem}",
            onPremisesImmutableId=anchor,
            onPremisesLastSyncDateTime=self.clock.iso_now(),
        )

    def get_user(self, user_id: str) -> dict[str, Any]:
        """A copy of the stored user (Graph property names; soft-deleted users too)."""
        with self.store.lock:
            record = self.store.user(user_id) or self.store.users.deleted.get(user_id)
            if record is None:
                raise KeyError(f"no user {user_id!r} in tenant {self.id}")
            return full_copy(record, USER_DEFAULTS)

    def admin_role(self, user_id: str) -> str | None:
        with self.store.lock:
            return self.store.admin_role.get(self._live_user(user_id)["id"])

    def set_admin_role(self, user_id: str, role: str | None) -> None:
        if role is not None and role not in ROLE_TEMPLATE_IDS:
            raise ValueError(f"unknown directory role {role!r}")
        with self.store.lock:
            record = self._live_user(user_id)
            if role is None:
                self.store.admin_role.pop(record["id"], None)
            else:
                self.store.admin_role[record["id"]] = role

    def set_password(self, user_id: str, password: str, force_change: bool = False) -> None:
        """A portal reset (also for on-premises-synced users, as their sync would do)."""
        with self.store.lock:
            record = self._live_user(user_id)
            try:
                _ops.set_password(self, record, password, force=force_change)
            except GraphError as exc:
                raise ValueError(exc.message) from None
            self.store.touch_user(record["id"])

    # --- the portal: password changes with their audit entries ---------------------------------
    def user_changed_password(self, user_id: str, password: str) -> dict[str, Any]:
        """The user changed their own password ("Change user password"); the audit entry."""
        return _audits.user_changed_password(self, user_id, password)

    def admin_reset(
        self, user_id: str, password: str, by: str | None = None, force_change: bool = False
    ) -> dict[str, Any]:
        """An admin (UPN ``by``; default admin@<domain>) reset it in the portal ("Reset user
        password", initiated by that user); the audit entry."""
        admin = by or f"admin@{self.domain}"
        return _audits.admin_reset(self, user_id, password, admin, force_change)

    def sspr_reset(self, user_id: str, password: str) -> dict[str, Any]:
        """Self-service password reset ("Reset password (self-service)"); the audit entry."""
        return _audits.sspr_reset(self, user_id, password)

    def audit_entries(self) -> list[dict[str, Any]]:
        """Every retained audit entry, visible yet or not, oldest first (as Graph shows them)."""
        with self.store.lock:
            return [_audits.public_copy(e) for e in self.audit_log.retained(self)]

    def check_password(self, user_id: str, password: str) -> bool:
        """What a sign-in would say about the password (tests only; never over HTTP)."""
        with self.store.lock:
            record = self.store.user(user_id)
            if record is None:
                return False
            return matches(self.store.password_hash.get(record["id"]), password)

    def update_user(self, user_id: str, **changes: Any) -> None:
        """Portal edits of user properties (Graph names; no validation beyond the UPN)."""
        with self.store.lock:
            record = self._live_user(user_id)
            try:
                _ops.update_user(self, record, changes)
            except GraphError as exc:
                raise ValueError(exc.message) from None

    def disable(self, user_id: str) -> None:
        self.update_user(user_id, accountEnabled=False)

    def enable(self, user_id: str) -> None:
        self.update_user(user_id, accountEnabled=True)

    def set_on_premises_sync(
        self, user_id: str, enabled: bool = True, immutable_id: str | None = None
    ) -> None:
        """Entra Connect took the user over (``onPremisesSyncEnabled`` true, the on-premises
        properties, ``immutable_id`` or the one it has or a new one), or let it go (None, as
        Graph shows a user that sync no longer manages; the anchor stays)."""
        with self.store.lock:
            record = self._live_user(user_id)
            try:
                if enabled:
                    self._sync_fields(record, immutable_id)
                else:
                    record["onPremisesSyncEnabled"] = None
            except GraphError as exc:
                raise ValueError(exc.message) from None
            self.store.touch_user(record["id"])

    def set_immutable_id(self, user_id: str, immutable_id: str | None) -> None:
        """Set (or clear) a user's ``onPremisesImmutableId``, e.g. base64 of an AD objectGUID
        (``base64.b64encode(uuid.UUID(guid).bytes_le)``); unique in the tenant."""
        with self.store.lock:
            record = self._live_user(user_id)
            try:
                _ops.check_immutable_id(self, immutable_id, exclude=record["id"])
            except GraphError as exc:
                raise ValueError(exc.message) from None
            record["onPremisesImmutableId"] = immutable_id
            self.store.touch_user(record["id"])

    def soft_delete(self, user_id: str) -> None:
        with self.store.lock:
            record = self._live_user(user_id)
            _ops.soft_delete(self, "user", record["id"])

    def restore(
        self, object_id: str, *, new_upn: str | None = None, reconcile_proxies: bool = False
    ) -> None:
        with self.store.lock:
            try:
                _ops.restore(self, object_id, new_upn=new_upn, reconcile_proxies=reconcile_proxies)
            except GraphError as exc:
                raise ValueError(exc.message) from None

    def hard_delete(self, object_id: str) -> None:
        with self.store.lock:
            record = self.store.user(object_id)
            _ops.hard_delete(self, record["id"] if record else object_id)

    def users_count(self) -> int:
        with self.store.lock:
            return len(self.store.users)

    def user_ids(self) -> list[str]:
        """Ids of the live users, in creation order."""
        with self.store.lock:
            return list(self.store.users.live)

    # --- the portal: groups ----------------------------------------------------------------
    def create_group(
        self,
        display_name: str,
        *,
        unified: bool = False,
        members: tuple[str, ...] | list[str] = (),
        on_premises_sync: bool = False,
    ) -> str:
        """A Microsoft 365 (``unified``) or security group; returns its id."""
        with self.store.lock:
            group_id = guid(self.rng)
            nickname = "".join(c for c in display_name.lower() if c.isalnum()) or "group"
            record: dict[str, Any] = {
                "id": group_id,
                "displayName": display_name,
                "groupTypes": ["Unified"] if unified else [],
                "mailEnabled": unified,
                "mailNickname": nickname,
                "securityEnabled": not unified,
                "mail": f"{nickname}@{self.domain}" if unified else None,
                "createdDateTime": self.clock.iso_now(),
            }
            if on_premises_sync:
                record["onPremisesSyncEnabled"] = True
            self.store.groups.add(record)
            self.store.members[group_id] = {}
            self.store.touch_group(group_id)
            for member in members:
                self.store.add_member(group_id, self._live_user(member)["id"])
            return group_id

    def get_group(self, group_id: str) -> dict[str, Any]:
        with self.store.lock:
            record = self.store.groups.live.get(group_id) or self.store.groups.deleted.get(group_id)
            if record is None:
                raise KeyError(f"no group {group_id!r} in tenant {self.id}")
            return full_copy(record, GROUP_DEFAULTS)

    def group_members(self, group_id: str) -> list[str]:
        with self.store.lock:
            return list(self.store.members.get(group_id, {}))

    def add_member(self, group_id: str, member_id: str) -> None:
        with self.store.lock:
            self.store.add_member(group_id, member_id)

    def remove_member(self, group_id: str, member_id: str) -> None:
        with self.store.lock:
            self.store.remove_member(group_id, member_id)

    def soft_delete_group(self, group_id: str) -> None:
        with self.store.lock:
            _ops.soft_delete(self, "group", group_id)

    def group_ids(self) -> list[str]:
        with self.store.lock:
            return list(self.store.groups.live)

    # --- the portal: licences ---------------------------------------------------------------
    def subscribed_skus(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return copy.deepcopy(self.skus)
