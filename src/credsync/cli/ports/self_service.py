"""Mail and self-service: the vault's mail server (admin), onboarding invitations and a
client's password policy for its people (vault.write); see :mod:`credsync.vault.mail` and
:mod:`credsync.vault.self_service`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.mail import MailSettingsJson, MailSetup
    from credsync.vault.self_service import InvitationJson

__all__ = ["LocalSelfService", "RemoteSelfService", "SelfServicePort", "local", "remote"]


class SelfServicePort(Protocol):
    def show_mail(self) -> MailSettingsJson: ...

    def set_mail(self, given: MailSetup) -> MailSettingsJson: ...

    def test_mail(self, address: str) -> str: ...

    def invite(self, person: str, client: str | None) -> InvitationJson: ...

    def set_people_policy(self, client: str, policy: str | None) -> str: ...


class LocalSelfService:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def show_mail(self) -> MailSettingsJson:
        return self._rt.vault.mail.show(self._rt.actor)

    def set_mail(self, given: MailSetup) -> MailSettingsJson:
        return self._rt.vault.mail.set(self._rt.actor, self._rt.keys, given)

    def test_mail(self, address: str) -> str:
        return self._rt.vault.mail.test(self._rt.actor, self._rt.keys, address)

    def invite(self, person: str, client: str | None) -> InvitationJson:
        rt = self._rt
        client_id = rt.vault.clients.get(rt.actor, client).id if client else None
        return rt.vault.self_service.invite(rt.actor, rt.keys, person, client_id=client_id)

    def set_people_policy(self, client: str, policy: str | None) -> str:
        return self._rt.vault.person_passwords.set_policy(self._rt.actor, client, policy)


class RemoteSelfService:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def show_mail(self) -> MailSettingsJson:
        found: MailSettingsJson = self._api.get("/mail")
        return found

    def set_mail(self, given: MailSetup) -> MailSettingsJson:
        body = {k: v for k, v in dict(given).items() if k != "password"}
        password = given.get("password")
        if password is not None:
            body["password"] = password.reveal()
        done: MailSettingsJson = self._api.put("/mail", body)
        return done

    def test_mail(self, address: str) -> str:
        done = self._api.post("/mail/test", {"address": address})
        return cast(str, done["message"])

    def invite(self, person: str, client: str | None) -> InvitationJson:
        path = path_of("people", person, "invite")
        done: InvitationJson = (
            self._api.post(path, None, client=client) if client else self._api.post(path)
        )
        return done

    def set_people_policy(self, client: str, policy: str | None) -> str:
        done = self._api.put(path_of("clients", client, "people-policy"), {"policy": policy})
        return cast(str, done["policy"])


def local(rt: LocalVault) -> SelfServicePort:
    return LocalSelfService(rt)


def remote(api: Remote) -> SelfServicePort:
    return RemoteSelfService(api)
