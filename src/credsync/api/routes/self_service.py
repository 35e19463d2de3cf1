"""Mail and self-service: the vault's mail server (admin), onboarding invitations (vault.write)
and a client's password policy for its people (vault.write). See :mod:`credsync.vault.mail`
and :mod:`credsync.vault.self_service`."""

from __future__ import annotations

from typing import cast

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas_self_service import (
    MailSetupIn,
    MailTestIn,
    MailTestOut,
    PeoplePolicyIn,
    PeoplePolicyOut,
)
from credsync.types import Secret
from credsync.vault.mail import MailSettingsJson, MailSetup
from credsync.vault.self_service import InvitationJson

router = api_router(tags=["self-service"])


@router.get("/mail", response_model=MailSettingsJson)
def show_mail(actor: Caller, state: State) -> MailSettingsJson:
    """The mail server settings, without the password (404 when none is set up). Needs
    admin."""
    return state.vault.mail.show(actor)


@router.put("/mail", response_model=MailSettingsJson)
def set_mail(body: MailSetupIn, actor: Caller, state: State) -> MailSettingsJson:
    """Set the mail server (or change what is given). A refused value: 400 naming its field.
    Needs admin; audited ``mail.set``."""
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "password" in given:
        given["password"] = Secret(given["password"])
    return state.vault.mail.set(actor, state.keys, cast(MailSetup, given))


@router.post("/mail/test", response_model=MailTestOut)
def test_mail(body: MailTestIn, actor: Caller, state: State) -> MailTestOut:
    """Send a test message; a failure is 502 ``mail_failed`` naming the server and what it
    said. Needs admin; audited ``mail.test``."""
    return MailTestOut(message=state.vault.mail.test(actor, state.keys, body.address))


@router.post("/people/{ref}/invite", response_model=InvitationJson)
def invite(
    ref: str,
    actor: Caller,
    state: State,
    client: str | None = Query(None, max_length=200, description="The person's client."),
) -> InvitationJson:
    """Send the person (awaiting onboarding, with an e-mail) a new invitation, voiding an
    older one. A mail failure is 502 ``mail_failed`` (the invitation is kept: send again).
    Needs vault.write; audited ``person.invite``."""
    client_id = None
    if client is not None:
        client_id = state.vault.clients.get(actor, client).id
    return state.vault.self_service.invite(actor, state.keys, ref, client_id=client_id)


@router.put("/clients/{client}/people-policy", response_model=PeoplePolicyOut)
def set_people_policy(
    client: str, body: PeoplePolicyIn, actor: Caller, state: State
) -> PeoplePolicyOut:
    """Choose the named password policy the client's people's passwords must meet (404 for
    a policy that does not exist). Needs vault.write; audited ``client.people_policy``."""
    return PeoplePolicyOut(
        policy=state.vault.person_passwords.set_policy(actor, client, body.policy)
    )
