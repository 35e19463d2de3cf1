"""Roles and password policies on the dashboard, with the services ``credsync role`` and
``credsync policy``/``generate`` and the API use.

Roles: the list with the permissions each grants (vault.read); adding a custom role,
changing its permissions or description and deleting one nobody holds (admin). Policies: the
list with their settings (vault.read); adding and deleting a named policy (admin); a few
passwords generated from one as a sample (vault.read; nothing is stored).

A role's or a policy's name travels in a form field or the query, not in the path: a name
may hold a ``/``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput, NotFound
from credsync.vault import Permission
from credsync.vault.auth import ALL_PERMISSIONS
from credsync.vault.models import Role
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

SAMPLES = 5  # passwords a sample shows
_PERMISSION_FIELD = "perm-"  # a checkbox per permission: perm-vault.read
_NUMBERS = ("length", "lower", "upper", "digits", "symbols")
_TEXTS = ("symbol_set", "exclude")


class RoleForm(Form):
    """A role as typed: its name, description and the permissions ticked."""

    default_field = "permissions"

    def permissions(self) -> list[str]:
        return [p for p in ALL_PERMISSIONS if self.ticked(_PERMISSION_FIELD + p)]


def _role_form(fields: dict[str, str]) -> RoleForm:
    values = {
        "name": fields.get("name", "").strip(),
        "description": fields.get("description", "").strip(),
    }
    for perm in ALL_PERMISSIONS:
        name = _PERMISSION_FIELD + perm
        values[name] = "on" if fields.get(name) == "on" else ""
    form = RoleForm(values)
    if not form.permissions():
        form.error("permissions", "Tick at least one permission.")
    return form


def _role_values(role: Role) -> dict[str, str]:
    values = {"name": role.name, "description": role.description}
    values.update({_PERMISSION_FIELD + p: "on" for p in role.permissions})
    return values


# -- roles -----------------------------------------------------------------------------------
def _roles_page(
    request: Request, state: State, viewer: Viewer, form: RoleForm, *, status: int = 200
) -> Response:
    return page(
        request,
        "roles.html",
        viewer,
        status=status,
        title="Roles",
        roles=state.vault.operators.roles(viewer.actor),
        form=form,
        permissions=ALL_PERMISSIONS,
        prefix=_PERMISSION_FIELD,
        mfa=state.vault.mfa.requirement(viewer.actor),
    )


@router.get("/roles")
def roles(request: Request, state: State, viewer: ViewerDep) -> Response:
    """The roles and what each grants (and, for admins, the form for a new one)."""
    return _roles_page(request, state, viewer, RoleForm({}))


@router.post("/roles/new")
def add_role(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add a custom role (admin)."""
    actor = viewer.actor
    actor.require(Permission.ADMIN)
    form = _role_form(fields)
    if not form.values["name"]:
        form.error("name", "Give the role a name.")
    if not form.errors:
        try:
            role = state.vault.operators.add_role(
                actor, form.values["name"], form.permissions(), form.values["description"]
            )
        except Conflict as exc:
            form.error("name", str(exc))
        except InvalidInput as exc:
            form.refused(exc)
        else:
            return redirect(request, "/roles", viewer, f"Added role {role.name}.")
    return _roles_page(request, state, viewer, form, status=400)


def _edit_page(
    request: Request, viewer: Viewer, role: Role, form: RoleForm, *, status: int = 200
) -> Response:
    return page(
        request,
        "role_form.html",
        viewer,
        status=status,
        title=f"Change role {role.name}",
        role=role,
        form=form,
        permissions=ALL_PERMISSIONS,
        prefix=_PERMISSION_FIELD,
    )


def _custom_role(state: State, viewer: Viewer, name: str) -> Role:
    """The custom role ``name`` (a built-in one can't be changed)."""
    key = name.strip().lower()
    role = next((r for r in state.vault.operators.roles(viewer.actor) if r.name == key), None)
    if role is None:
        raise NotFound(f"no role named {name!r}")
    if role.builtin:
        raise InvalidInput(f"role {role.name!r} is built in and cannot be changed")
    return role


@router.get("/roles/edit")
def edit_role(
    request: Request, state: State, viewer: ViewerDep, name: str = Query(max_length=64)
) -> Response:
    """A custom role's permissions and description (admin)."""
    viewer.actor.require(Permission.ADMIN)
    role = _custom_role(state, viewer, name)
    return _edit_page(request, viewer, role, RoleForm(_role_values(role)))


@router.post("/roles/edit")
def change_role(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Save the role's permissions and description (admin); its holders have them from their
    next request on."""
    actor = viewer.actor
    actor.require(Permission.ADMIN)
    role = _custom_role(state, viewer, fields.get("name", ""))
    form = _role_form(fields)
    form.values["name"] = role.name
    if not form.errors:
        try:
            changed = state.vault.operators.change_role(
                actor,
                role.name,
                permissions=form.permissions(),
                description=form.values["description"],
            )
        except InvalidInput as exc:
            form.refused(exc)
        else:
            granted = ", ".join(changed.permissions)
            return redirect(request, "/roles", viewer, f"Role {changed.name} grants {granted}.")
    return _edit_page(request, viewer, role, form, status=400)


@router.post("/roles/delete")
def delete_role(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Delete a custom role nobody holds (admin)."""
    actor = viewer.actor
    actor.require(Permission.ADMIN)
    name = fields.get("name", "")
    try:
        state.vault.operators.delete_role(actor, name)
    except InvalidInput as exc:  # built in, or held by someone
        form = RoleForm({})
        form.error("", str(exc))
        return _roles_page(request, state, viewer, form, status=400)
    return redirect(request, "/roles", viewer, f"Deleted role {name.strip().lower()}.")


# -- password policies -----------------------------------------------------------------------
class PolicyForm(Form):
    """A new policy as typed: its name and the settings given (the others: the default's)."""

    default_field = "settings"

    def settings(self) -> dict[str, Any]:
        given: dict[str, Any] = {}
        for name in _NUMBERS:
            if self.values[name]:
                try:
                    given[name] = int(self.values[name])
                except ValueError:
                    self.error(name, f"{name.replace('_', ' ')} must be a whole number.")
        for name in _TEXTS:
            if self.values[name]:
                given[name] = self.values[name]
        if self.ticked("exclude_ambiguous"):
            given["exclude_ambiguous"] = True
        return given


def _policies_page(
    request: Request,
    state: State,
    viewer: Viewer,
    form: PolicyForm | None = None,
    *,
    samples: tuple[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        "policies.html",
        viewer,
        status=status,
        title="Password policies",
        policies=state.vault.policies.list(viewer.actor),
        form=form or PolicyForm({}),
        samples=samples,
    )


@router.get("/policies")
def policies(request: Request, state: State, viewer: ViewerDep) -> Response:
    """The policies and their settings (and, for admins, the form for a new one)."""
    return _policies_page(request, state, viewer)


@router.post("/policies/new")
def add_policy(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Add a named policy (admin)."""
    actor = viewer.actor
    actor.require(Permission.ADMIN)
    names = ("name", *_NUMBERS)
    values = {name: fields.get(name, "").strip() for name in names}
    values.update({name: fields.get(name, "") for name in _TEXTS})  # spaces are characters
    values["exclude_ambiguous"] = "on" if fields.get("exclude_ambiguous") == "on" else ""
    form = PolicyForm(values)
    if not values["name"]:
        form.error("name", "Give the policy a name.")
    settings = form.settings()
    if not form.errors:
        try:
            name = state.vault.policies.add(actor, values["name"], settings)
        except Conflict as exc:
            form.error("name", str(exc))
        except InvalidInput as exc:
            form.refused(exc)
        else:
            return redirect(request, "/policies", viewer, f"Added policy {name}.")
    return _policies_page(request, state, viewer, form, status=400)


@router.post("/policies/delete")
def delete_policy(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Delete a named policy (admin; ``default`` is built in and stays)."""
    name = fields.get("name", "")
    state.vault.policies.delete(viewer.actor, name)
    return redirect(request, "/policies", viewer, f"Deleted policy {name.strip().lower()}.")


@router.post("/policies/generate")
def generate(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """A few passwords from the policy, shown on the page (nothing is stored)."""
    name = fields.get("name", "").strip() or "default"
    passwords = state.vault.policies.generate(viewer.actor, name, count=SAMPLES)
    return _policies_page(request, state, viewer, samples=(name, [p.reveal() for p in passwords]))
