"""The plan of provisioning people (pure: vault state + directory state -> per-person plans).

Per person, in order:

1. A person this directory is the source of truth of (imported from it) is **skipped**: the
   directory has them already and their attributes come from it.
2. The user: the one the person is linked to in this directory (its id), else the one whose
   sign-in name is the mapped username (``template`` + ``@`` + suffix) - then the person is
   linked to it. A linked user no longer in the directory, a mapping that gives nothing, a
   user synchronised from on-premises (Graph refuses writes to it) or one another person of
   the vault is linked to is **refused** with the reason.
3. No user: **create** it with the mapped name; the immutable id when the suffix's domain is
   federated; the password (below); enabled only with a password (or federated: the identity
   provider signs them in) and when the person is enabled.
4. A user: **update** the fields that differ (display name, given name, surname; a field the
   vault leaves empty is not blanked in the directory); its sign-in name is never changed.
5. Usage location: the person's, else the settings' default; written when it differs.
6. Licence: the default licence when the user lacks it, **only while a seat is free** (free =
   enabled - consumed, counted down as the plan hands seats out); else the note "no free
   seat". A user without a usage location gets none ("no usage location").
7. Password (settings ``vault`` only; never in a federated domain): the primary credential's
   current secret version when it is not the one provisioning last set on this user (a user
   made before the person had a password was created disabled: it is enabled with the
   password). ``onboarding``: new users are created disabled with a random password and
   provisioning never sets or enables them.
8. Enabled: a disabled person's user is disabled; a user provisioning created disabled is
   enabled once it gets its password (above).

A plan with no write for a person is ``unchanged``: a second apply makes no writes. (A plan
of every person also lists the users provisioning created whose person is in the trash or
purged, to be removed: :meth:`PeopleProvision._removals`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from credsync.connectors.provisioning import Licence, TargetUser
from credsync.storage.people import PersonRow
from credsync.storage.provisioning import ProvisionedRow
from credsync.sync.provision_people_report import PersonPlan
from credsync.vault.provisioning import ProvisioningSettings, immutable_id, map_username

__all__ = ["PlanContext", "plan_person"]


@dataclass
class PlanContext:
    """What the plan of every person shares: the directory's users, provisioning's rows,
    the vault's links of this directory (object id -> person id) and the seats left."""

    directory_id: str
    client_id: str
    settings: ProvisioningSettings
    suffix_federated: bool
    licence: Licence | None
    by_id: Mapping[str, TargetUser]
    by_name: Mapping[str, TargetUser]
    provisioned: Mapping[str, ProvisionedRow]
    linked_to: Mapping[str, str]
    seats: int = 0


def _fields(person: PersonRow) -> dict[str, str]:
    return {
        "given_name": person.given_name,
        "surname": person.surname,
        "display_name": person.display_name,
        "username": person.username,
        "email": person.email,
    }


def plan_person(
    ctx: PlanContext,
    person: PersonRow,
    linked: str | None,
    credential: tuple[str, int] | None,
) -> PersonPlan:
    """The plan for ``person`` (``linked``: the object id of their account in this directory;
    ``credential``: their primary credential's id and current secret version)."""
    settings = ctx.settings
    plan = PersonPlan(person.id, person.display_name, "")
    if person.source_directory_id == ctx.directory_id:
        plan.outcome, plan.reason = "skipped", "imported from this directory (its source of truth)"
        plan.object_id = linked
        return plan
    user: TargetUser | None = None
    if linked is not None:
        user = ctx.by_id.get(linked)
        if user is None:
            plan.object_id = linked
            plan.outcome = "refused"
            plan.reason = "the user the person is linked to is no longer in the directory"
            return plan
    else:
        alias = map_username(settings.username_template, _fields(person))
        if not alias:
            plan.outcome = "refused"
            plan.reason = (
                f"the username mapping {settings.username_template!r} gives nothing for this person"
            )
            return plan
        user = ctx.by_name.get(f"{alias}@{settings.upn_suffix}".lower())
        plan.username = f"{alias}@{settings.upn_suffix}"
        if user is not None:
            other = ctx.linked_to.get(user.object_id)
            if other is not None and other != person.id:
                plan.object_id = user.object_id
                plan.outcome = "refused"
                plan.reason = f"user {user.username} is the account of another person ({other})"
                return plan
        plan.link = True
    location = person.usage_location or settings.usage_location
    if user is None:
        _plan_create(ctx, plan, person, location, credential)
    else:
        plan.username, plan.object_id = user.username, user.object_id
        if user.managed_elsewhere:
            plan.outcome = "refused"
            plan.reason = (
                "the user is synchronised from an on-premises directory: it is not written"
            )
            return plan
        _plan_update(ctx, plan, person, user, location, credential)
    if plan.writes:
        plan.outcome = "create" if plan.create else "update"
    return plan


def _federated(ctx: PlanContext, username: str) -> bool:
    return ctx.suffix_federated and username.lower().endswith("@" + ctx.settings.upn_suffix)


def _plan_licence(
    ctx: PlanContext, plan: PersonPlan, location: str, user: TargetUser | None
) -> None:
    licence = ctx.licence
    if licence is None or (user is not None and licence.sku_id in user.licences):
        return
    if not location:
        plan.notes.append(f"no usage location: {licence.part_number} not assigned")
    elif ctx.seats <= 0:
        plan.notes.append(f"no free seat of {licence.part_number}: not licensed")
    else:
        ctx.seats -= 1
        plan.licence = licence.sku_id


def _plan_create(
    ctx: PlanContext,
    plan: PersonPlan,
    person: PersonRow,
    location: str,
    credential: tuple[str, int] | None,
) -> None:
    plan.create = True
    federated = _federated(ctx, plan.username)
    with_password = ctx.settings.passwords == "vault" and credential is not None and not federated
    enabled = person.enabled and (federated or with_password)
    plan.fields = {
        "display_name": person.display_name,
        "given_name": person.given_name,
        "surname": person.surname,
        "usage_location": location,
        "enabled": enabled,
    }
    if with_password:
        plan.password = credential
    elif person.enabled and not federated:
        plan.notes.append(
            "created disabled until onboarding"
            if ctx.settings.passwords == "onboarding"
            else "no password yet: created disabled"
        )
    if federated:
        plan.immutable_id = immutable_id(person.id)
    _plan_licence(ctx, plan, location, None)


def _plan_update(
    ctx: PlanContext,
    plan: PersonPlan,
    person: PersonRow,
    user: TargetUser,
    location: str,
    credential: tuple[str, int] | None,
) -> None:
    for name in ("display_name", "given_name", "surname"):
        wanted = getattr(person, name)
        if wanted and wanted != user.value(name):
            plan.fields[name] = wanted
    if location and location != user.usage_location:
        plan.fields["usage_location"] = location
    row = ctx.provisioned.get(user.object_id)
    federated = _federated(ctx, user.username)
    if ctx.settings.passwords == "vault" and credential is not None and not federated:
        done = (row.credential_id, row.secret_version) if row is not None else None
        if done != credential:
            plan.password = credential
    if not person.enabled and user.enabled:
        plan.fields["enabled"] = False
    elif (
        person.enabled
        and not user.enabled
        and row is not None
        and row.created
        and (plan.password is not None or row.secret_version is not None)
        and ctx.settings.passwords == "vault"
    ):
        plan.fields["enabled"] = True
    _plan_licence(ctx, plan, location or user.usage_location, user)
