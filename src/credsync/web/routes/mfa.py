"""The signed-in operator's second factor on the dashboard (security keys:
:mod:`credsync.web.routes.security_keys`): set up a TOTP authenticator app
(a QR code and the secret as text, then a first code; the recovery codes are shown once), or
turn it off (with the password and a code, unless it is required). A session whose operator
must use MFA and has none may reach these pages only (and sign out)."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.api.signin import limited
from credsync.errors import AuthenticationFailed, InvalidInput, MfaFailed
from credsync.types import Secret
from credsync.web.pages import ACCOUNT_MFA, page, page_router, redirect
from credsync.web.qr import qr_svg
from credsync.web.session import EnrollingViewerDep, Fields, Viewer, ViewerDep

router = page_router()


def mfa_page_with(
    request: Request, state: State, viewer: Viewer, *, status: int = 200, error: str = ""
) -> Response:
    """The account's MFA page (the app, the security keys), with an error."""
    found = state.vault.mfa.status(viewer.actor)
    return page(
        request, "account_mfa.html", viewer, status=status, title="Sign-in with a second factor",
        mfa=found, error=error,
    )  # fmt: skip


@router.get(ACCOUNT_MFA)
def mfa_page(request: Request, state: State, viewer: EnrollingViewerDep) -> Response:
    return mfa_page_with(request, state, viewer)


@router.post(f"{ACCOUNT_MFA}/enroll")
def mfa_enroll(request: Request, state: State, viewer: EnrollingViewerDep) -> Response:
    """A new secret, shown this once as a QR code and as text, with the form for its first
    code."""
    started = state.vault.mfa.begin(viewer.actor)
    uri = started.uri.reveal()
    return page(
        request, "account_mfa_enrol.html", viewer, title="Set up your authenticator app",
        qr=qr_svg(uri, "QR code of your credsync secret"), secret=started.secret.reveal(),
    )  # fmt: skip


@router.post(f"{ACCOUNT_MFA}/confirm")
def mfa_confirm(
    request: Request, state: State, viewer: EnrollingViewerDep, fields: Fields
) -> Response:
    """The app's first code: MFA is on, this session has passed it, and the recovery codes are
    shown this once."""
    try:
        codes = state.vault.mfa.confirm(viewer.actor, fields.get("code", "").strip()[:16])
    except InvalidInput as exc:
        return mfa_page_with(request, state, viewer, status=400, error=f"{exc} Set it up again.")
    state.vault.web_sessions.passed_mfa(viewer.session_id)
    return page(
        request, "account_mfa_codes.html", viewer, title="Your recovery codes",
        codes=[c.reveal() for c in codes],
    )  # fmt: skip


@router.post(f"{ACCOUNT_MFA}/disable")
def mfa_disable(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Turn one's own second factor off, with the password and a code (refused while it is
    required); failures count in the sign-in limiter."""
    password, code = fields.get("password", ""), fields.get("code", "").strip()
    if not password or not code or len(password) > 1024 or len(code) > 64:
        return mfa_page_with(
            request, state, viewer, status=400, error="Give your password and a code."
        )
    try:
        limited(
            request, state, viewer.actor.name,
            lambda: state.vault.mfa.disable(viewer.actor, Secret(password), code), "attempts",
        )  # fmt: skip
    except MfaFailed:
        return mfa_page_with(
            request, state, viewer, status=401, error="That code was wrong or used."
        )
    except AuthenticationFailed:
        return mfa_page_with(request, state, viewer, status=401, error="That is not your password.")
    return redirect(request, ACCOUNT_MFA, viewer, "Sign-in with a second factor is off.")


@router.post("/operators/{ref}/mfa/reset")
def reset_operator_mfa(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Remove an operator's second factor and end their sessions (admin; audited)."""
    ended = state.vault.mfa.reset(viewer.actor, ref)
    op = state.vault.operators.get(viewer.actor, ref)
    plural = "" if ended == 1 else "s"
    return redirect(
        request, f"/operators/{op.id}", viewer,
        f"{op.name}'s second factor removed; {ended} session{plural} of theirs ended.",
    )  # fmt: skip


@router.post("/mfa/require")
def set_requirement(request: Request, state: State, viewer: ViewerDep, fields: Fields) -> Response:
    """Require a second factor of every operator or of a role's holders, or stop (admin;
    audited)."""
    scope = fields.get("scope", "").strip() or None
    required = fields.get("required") == "yes"
    state.vault.mfa.set_required(viewer.actor, required, scope)
    who = f"role {scope}" if scope else "every operator"
    what = "required" if required else "no longer required"
    return redirect(request, "/roles", viewer, f"A second factor is {what} of {who}.")
