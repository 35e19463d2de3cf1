"""A client's Office 365 domains federated to the vault, on the dashboard (issue 17): the
client's Federation page shows each domain as the vault records it and as the directory
reports it (and where they disagree), the signing certificates, the users without an identity,
and a form to federate a domain. Enabling, each rotation step and disabling go through a
confirmation page that says what will happen (Microsoft's 2-hour window; the password push on
disable) before the button that does it; then the report.

Who may: the Federation page needs vault.read; the confirmation pages and the actions
vault.read, vault.write and directory.setup (the rules of :mod:`credsync.sync.federation`).
A client outside the operator's reach is "Not found". A refusal (the default domain, an app
that may not federate, a directory that can't be reached) is shown on the page, with the
directory's words.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, ConnectorError, InvalidInput, NotSupported
from credsync.sync.federation import DomainFederationService
from credsync.sync.federation_view import FederationShow
from credsync.vault import Permission
from credsync.vault.models import Client
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import Fields, Viewer, ViewerDep

__all__ = ["router"]

router = page_router()

_WRITE = (Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
_REFUSALS = (InvalidInput, NotSupported, ConnectorError, Conflict)
_STEPS = ("begin", "finish", "cancel")


def _federation_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    view = asyncio.run(FederationShow(state.vault, state.keys, viewer.actor).show(client.id))
    return page(
        request,
        "federation.html",
        viewer,
        status=status,
        title=f"Federation of {client.name}",
        client=client,
        view=view.to_json(),
        values=values or {"protocol": "saml", "mfa": "enforce"},
        error=error,
    )


@router.get("/clients/{ref}/federation")
def federation_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The client's federated domains, certificates, and the form to federate a domain."""
    viewer.actor.require(Permission.VAULT_READ)
    client = state.vault.clients.get(viewer.actor, ref)
    return _federation_page(request, state, viewer, client)


def _confirm(request: Request, viewer: Viewer, client: Client, **context: Any) -> Response:
    return page(request, "federation_confirm.html", viewer, client=client, **context)


@router.get("/clients/{ref}/federation/enable")
def confirm_enable(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    domain: str = Query("", max_length=253),
    url: str = Query("", max_length=500),
    protocol: str = Query("saml", max_length=10),
    mfa: str = Query("enforce", max_length=10),
) -> Response:
    """What federating the domain will do, and the button that does it."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _confirm(
        request,
        viewer,
        client,
        title=f"Federate {domain} to the vault?",
        action="enable",
        fields={"domain": domain, "url": url, "protocol": protocol, "mfa": mfa},
        consequences=[
            f"The users of {domain} will sign in to Office 365 at the vault's sign-in page, "
            "with their vault password" + (" and the vault's MFA." if mfa == "enforce" else "."),
            "Every user of the domain linked to a person gets an immutable id (an existing "
            "one is kept).",
            "Microsoft may take up to 2 hours to apply the change: sign-ins to the domain may "
            "fail or go the old way meanwhile.",
        ],
        button=f"Federate {domain}",
    )


@router.post("/clients/{ref}/federation/enable")
def enable(ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Federate the domain; the report."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    given = {k: fields.get(k, "").strip() for k in ("domain", "url", "protocol", "mfa")}
    service = DomainFederationService(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(
            service.enable(client.id, given["domain"], base_url=given["url"],
                           protocol=given["protocol"] or "saml", mfa=given["mfa"] or "enforce")
        )  # fmt: skip
    except _REFUSALS as exc:
        return _federation_page(request, state, viewer, client, values=given, error=str(exc),
                                status=400)  # fmt: skip
    return page(
        request,
        "federation_report.html",
        viewer,
        title=f"{report.domain} federated",
        client=client,
        enabled=report.to_json(),
        disabled=None,
    )


@router.get("/clients/{ref}/federation/rotate")
def confirm_rotate(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    step: str = Query("begin", max_length=10),
) -> Response:
    """What the rotation step will do, and the button that does it."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    step = step if step in _STEPS else "begin"
    said = {
        "begin": "A new signing certificate is made and published to Microsoft as the next "
        "one on every federated domain; the vault keeps signing with the current one.",
        "finish": "The next certificate becomes the current one: the vault signs with it at "
        "once (Microsoft already accepts it as the next one), then it is set as the domains' "
        "signing certificate. The old key never signs again.",
        "cancel": "The next certificate is dropped and removed from the domains' settings.",
    }[step]
    return _confirm(request, viewer, client, title=f"Rotate the signing certificate ({step})?",
                    action="rotate", fields={"step": step}, consequences=[said],
                    button={"begin": "Begin the rotation", "finish": "Finish the rotation",
                            "cancel": "Cancel the rotation"}[step])  # fmt: skip


@router.post("/clients/{ref}/federation/rotate")
def rotate(ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Do the rotation step; back to the Federation page with what happened."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    step = fields.get("step", "begin")
    service = DomainFederationService(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(service.rotate(client.id, step))
    except _REFUSALS as exc:
        return _federation_page(request, state, viewer, client, error=str(exc), status=400)
    failed = {d: r for d, r in report.domains.items() if r != "updated"}
    text = f"Rotation step '{step}' done" + (
        "; refused by the directory for " + ", ".join(failed) if failed else "."
    )
    return redirect(request, f"/clients/{client.id}/federation", viewer, text,
                    "error" if failed else "ok")  # fmt: skip


@router.get("/clients/{ref}/federation/disable")
def confirm_disable(
    ref: str,
    request: Request,
    state: State,
    viewer: ViewerDep,
    domain: str = Query("", max_length=253),
) -> Response:
    """What defederating the domain will do, and the button that does it."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _confirm(
        request,
        viewer,
        client,
        title=f"Return {domain} to Microsoft's sign-in?",
        action="disable",
        fields={"domain": domain},
        consequences=[
            f"The federation settings of {domain} are deleted: its users sign in at Microsoft "
            "again (Microsoft may take up to 2 hours).",
            "Each person's vault password is set as their Office 365 password, so nobody is "
            "left without a working one; people without a password in the vault are listed.",
        ],
        button=f"Defederate {domain}",
    )


@router.post("/clients/{ref}/federation/disable")
def disable(
    ref: str, request: Request, state: State, viewer: ViewerDep, fields: Fields
) -> Response:
    """Defederate the domain and push the passwords; the report."""
    viewer.actor.require(*_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    service = DomainFederationService(state.vault, state.keys, viewer.actor)
    try:
        report = asyncio.run(service.disable(client.id, fields.get("domain", "")))
    except _REFUSALS as exc:
        return _federation_page(request, state, viewer, client, error=str(exc), status=400)
    return page(
        request,
        "federation_report.html",
        viewer,
        title=f"{report.domain} returned to Microsoft's sign-in",
        client=client,
        enabled=None,
        disabled=report.to_json(),
    )
