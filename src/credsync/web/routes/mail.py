"""The admin's mail server page (``/mail``): the SMTP settings (the password never shown;
left empty, the stored one stays), a test message, and an operator's onboarding invitation
from a person's page (``/people/{ref}/invite``, vault.write). The services check the
permissions and write the audit entries."""

from __future__ import annotations

from typing import Any, cast

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput, MailError, NotFound
from credsync.types import Secret
from credsync.vault import Permission
from credsync.vault.mail import SECURITIES, MailSetup
from credsync.web.forms import Form
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()
PAGE = "/mail"
_FIELDS = ("host", "port", "security", "username", "from_address", "public_url", "invite_days")


def _page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    form: Form | None = None,
    status: int = 200,
    test_error: str = "",
) -> Response:
    try:
        settings: dict[str, Any] | None = dict(state.vault.mail.show(viewer.actor))
    except NotFound:
        settings = None
    if form is None:
        values = settings or {"security": "starttls", "public_url": str(request.base_url)}
        form = Form({k: str(values.get(k) if values.get(k) is not None else "") for k in _FIELDS})
        form.values["allow_plain"] = "on" if values.get("allow_plain") else ""
    return page(
        request, "mail.html", viewer, status=status, title="Mail server", settings=settings,
        form=form, securities=[(s, s) for s in SECURITIES], test_error=test_error,
    )  # fmt: skip


@router.get(PAGE)
def show(request: Request, state: State, viewer: ViewerDep) -> Response:
    viewer.actor.require(Permission.ADMIN)
    return _page(request, state, viewer)


@router.post(PAGE)
def save(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Save the settings; a refused form comes back (without the password) naming the field."""
    viewer.actor.require(Permission.ADMIN)
    form = Form({k: fields.get(k, "").strip() for k in _FIELDS})
    form.values["allow_plain"] = fields.get("allow_plain", "")
    given: dict[str, Any] = {k: v for k, v in form.values.items() if v and k != "allow_plain"}
    given["allow_plain"] = form.ticked("allow_plain")
    given["username"] = form.values["username"]
    try:
        for number in ("port", "invite_days"):
            if number in given:
                try:
                    given[number] = int(given[number])
                except ValueError:
                    raise InvalidInput(f"{number} must be a number", field=number) from None
        password = fields.get("password", "")
        if password:
            given["password"] = Secret(password)
        if fields.get("ca_pem", "").strip() or fields.get("system_ca"):
            given["ca_pem"] = fields.get("ca_pem", "")
        state.vault.mail.set(viewer.actor, state.keys, cast(MailSetup, given))
    except InvalidInput as exc:
        form.refused(exc)
        return _page(request, state, viewer, form=form, status=400)
    return redirect(request, PAGE, viewer, "The mail server is saved.")


@router.post(PAGE + "/test")
def test(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    viewer.actor.require(Permission.ADMIN)
    try:
        said = state.vault.mail.test(viewer.actor, state.keys, fields.get("address", ""))
    except (InvalidInput, MailError, NotFound) as exc:
        return _page(request, state, viewer, status=400, test_error=str(exc))
    return redirect(request, PAGE, viewer, said[:1].upper() + said[1:] + ".")


@router.post("/people/{ref}/invite")
def invite(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Send the person an onboarding invitation (a new one voids the older)."""
    viewer.actor.require(Permission.VAULT_WRITE)
    person = state.vault.people.get(viewer.actor, ref, trashed=False)
    back = f"/people/{person.id}"
    try:
        made = state.vault.self_service.invite(viewer.actor, state.keys, person.id)
    except (InvalidInput, MailError, NotFound) as exc:
        return redirect(request, back, viewer, f"No invitation was sent: {exc}.", "error")
    return redirect(request, back, viewer, f"Invitation sent to {made['email']}.")
