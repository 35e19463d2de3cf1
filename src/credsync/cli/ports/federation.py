"""A client's Office 365 domain federated to the vault (issue 17; see
:mod:`credsync.sync.federation`): show, enable, rotate the signing certificate, disable, as
the reports' ``to_json`` make them both ways."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from credsync.cli.ports import LocalVault
from credsync.cli.remote import Remote

if TYPE_CHECKING:
    from credsync.sync.federation import DomainFederationService
    from credsync.sync.federation_report import (
        FederationDisableJson,
        FederationEnableJson,
        FederationRotationJson,
        FederationViewJson,
    )

__all__ = ["FederationPort", "LocalFederation", "RemoteFederation", "local", "remote"]


class FederationPort(Protocol):
    def show(self, client: str, domain: str | None) -> FederationViewJson:
        """The client's federated domains, certificates and people without an identity."""
        ...

    def enable(
        self,
        client: str,
        domain: str,
        url: str,
        protocol: str,
        mfa: str,
        directory: str | None,
    ) -> FederationEnableJson:
        """Federate the domain to the vault."""
        ...

    def rotate(self, client: str, step: str) -> FederationRotationJson:
        """A step of the signing certificate's rotation (begin, finish, cancel)."""
        ...

    def disable(self, client: str, domain: str) -> FederationDisableJson:
        """Return the domain to managed sign-in, pushing people's vault passwords."""
        ...


class LocalFederation:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def _service(self) -> DomainFederationService:
        from credsync.sync.federation import DomainFederationService  # the connectors: when used

        return DomainFederationService(self._rt.vault, self._rt.keys, self._rt.actor)

    def show(self, client: str, domain: str | None) -> FederationViewJson:
        from credsync.sync.federation_view import FederationShow

        service = FederationShow(self._rt.vault, self._rt.keys, self._rt.actor)
        return asyncio.run(service.show(client, domain)).to_json()

    def enable(
        self,
        client: str,
        domain: str,
        url: str,
        protocol: str,
        mfa: str,
        directory: str | None,
    ) -> FederationEnableJson:
        done = asyncio.run(
            self._service().enable(
                client, domain, base_url=url, protocol=protocol, mfa=mfa, directory_ref=directory
            )
        )
        return done.to_json()

    def rotate(self, client: str, step: str) -> FederationRotationJson:
        return asyncio.run(self._service().rotate(client, step)).to_json()

    def disable(self, client: str, domain: str) -> FederationDisableJson:
        return asyncio.run(self._service().disable(client, domain)).to_json()


class RemoteFederation:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def show(self, client: str, domain: str | None) -> FederationViewJson:
        params = {"client": client, **({"domain": domain} if domain else {})}
        found: FederationViewJson = self._api.get("/federation", **params)
        return found

    def enable(
        self,
        client: str,
        domain: str,
        url: str,
        protocol: str,
        mfa: str,
        directory: str | None,
    ) -> FederationEnableJson:
        body = {"client": client, "domain": domain, "url": url, "protocol": protocol,
                "mfa": mfa, "directory": directory}  # fmt: skip
        done: FederationEnableJson = self._api.post("/federation/enable", body)
        return done

    def rotate(self, client: str, step: str) -> FederationRotationJson:
        done: FederationRotationJson = self._api.post(
            "/federation/rotate", {"client": client, "step": step}
        )
        return done

    def disable(self, client: str, domain: str) -> FederationDisableJson:
        done: FederationDisableJson = self._api.post(
            "/federation/disable", {"client": client, "domain": domain}
        )
        return done


def local(rt: LocalVault) -> FederationPort:
    return LocalFederation(rt)


def remote(api: Remote) -> FederationPort:
    return RemoteFederation(api)
