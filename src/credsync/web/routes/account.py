"""The signed-in operator's own page: who they are, their API tokens, and revoking them all at
once (as ``credsync token revoke --all`` does)."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.web.pages import page, page_router, redirect
from credsync.web.session import ViewerDep

router = page_router()

ACCOUNT = "/account"


@router.get(ACCOUNT)
def account_page(request: Request, state: State, viewer: ViewerDep) -> Response:
    tokens = state.vault.access.list_tokens(viewer.actor)
    mfa = state.vault.mfa.status(viewer.actor)
    return page(request, "account.html", viewer, title="Your account", tokens=tokens, mfa=mfa)


@router.post(f"{ACCOUNT}/tokens/revoke-all")
def revoke_all_tokens(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Revoke every API token of the signed-in operator's (audited as ``token.revoke_all``)."""
    done = state.vault.access.revoke_all_tokens(viewer.actor)
    plural = "" if done.revoked == 1 else "s"
    return redirect(request, ACCOUNT, viewer, f"{done.revoked} API token{plural} revoked.")
