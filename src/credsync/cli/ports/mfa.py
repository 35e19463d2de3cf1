"""Multi-factor sign-in: one's own enrolment, an operator's state and an admin's reset, and
who must use it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.types import Secret
    from credsync.vault.mfa import (
        MfaConfirmedJson,
        MfaEnrolmentJson,
        MfaRequirementJson,
        MfaResetJson,
        MfaStatusJson,
    )

__all__ = ["LocalMfa", "MfaPort", "RemoteMfa", "local", "remote"]


class MfaPort(Protocol):
    def status(self, ref: str | None) -> MfaStatusJson:
        """One's own state (``ref`` None) or an operator's (admin)."""
        ...

    def enroll(self) -> MfaEnrolmentJson:
        """A new pending secret and its otpauth:// URI (shown once)."""
        ...

    def confirm(self, code: str) -> MfaConfirmedJson:
        """The pending secret confirmed; the recovery codes (shown once)."""
        ...

    def disable(self, password: Secret, code: str) -> MfaStatusJson: ...

    def reset(self, ref: str) -> MfaResetJson: ...

    def requirement(self) -> MfaRequirementJson: ...

    def set_required(self, required: bool, role: str | None) -> MfaRequirementJson: ...


class LocalMfa:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def status(self, ref: str | None) -> MfaStatusJson:
        return self._rt.vault.mfa.status(self._rt.actor, ref).to_json()

    def enroll(self) -> MfaEnrolmentJson:
        from credsync.vault.mfa import MfaEnrolmentJson

        started = self._rt.vault.mfa.begin(self._rt.actor)
        return MfaEnrolmentJson(
            operator=started.operator, secret=started.secret.reveal(), uri=started.uri.reveal()
        )

    def confirm(self, code: str) -> MfaConfirmedJson:
        from credsync.vault.mfa import MfaConfirmedJson

        actor = self._rt.actor
        codes = self._rt.vault.mfa.confirm(actor, code)
        return MfaConfirmedJson(operator=actor.name, recovery_codes=[c.reveal() for c in codes])

    def disable(self, password: Secret, code: str) -> MfaStatusJson:
        return self._rt.vault.mfa.disable(self._rt.actor, password, code).to_json()

    def reset(self, ref: str) -> MfaResetJson:
        from credsync.vault.mfa import MfaResetJson

        vault, actor = self._rt.vault, self._rt.actor
        ended = vault.mfa.reset(actor, ref)
        return MfaResetJson(operator=vault.operators.get(actor, ref).name, sessions_ended=ended)

    def requirement(self) -> MfaRequirementJson:
        return self._rt.vault.mfa.requirement(self._rt.actor).to_json()

    def set_required(self, required: bool, role: str | None) -> MfaRequirementJson:
        return self._rt.vault.mfa.set_required(self._rt.actor, required, role).to_json()


class RemoteMfa:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def status(self, ref: str | None) -> MfaStatusJson:
        path = "/account/mfa" if ref is None else path_of("operators", ref, "mfa")
        found: MfaStatusJson = self._api.get(path)
        return found

    def enroll(self) -> MfaEnrolmentJson:
        started: MfaEnrolmentJson = self._api.post("/account/mfa/enroll")
        return started

    def confirm(self, code: str) -> MfaConfirmedJson:
        done: MfaConfirmedJson = self._api.post("/account/mfa/confirm", {"code": code})
        return done

    def disable(self, password: Secret, code: str) -> MfaStatusJson:
        body = {"password": password.reveal(), "code": code}
        done: MfaStatusJson = self._api.post("/account/mfa/disable", body)
        return done

    def reset(self, ref: str) -> MfaResetJson:
        done: MfaResetJson = self._api.post(path_of("operators", ref, "mfa", "reset"))
        return done

    def requirement(self) -> MfaRequirementJson:
        found: MfaRequirementJson = self._api.get("/mfa/requirement")
        return found

    def set_required(self, required: bool, role: str | None) -> MfaRequirementJson:
        body = {"required": required, "role": role}
        done: MfaRequirementJson = self._api.put("/mfa/requirement", body)
        return done


def local(rt: LocalVault) -> MfaPort:
    return LocalMfa(rt)


def remote(api: Remote) -> MfaPort:
    return RemoteMfa(api)
