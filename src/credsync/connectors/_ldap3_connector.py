"""What the LDAP-speaking connectors (AD, LDAP) share above their clients: the blocking calls
made in a thread with their failures translated, and the first two steps of
``test_connection`` (tcp, tls).

:class:`Ldap3Connector` is their base: the client (:class:`~._ldap3.Ldap3Client`, the I/O
seam), a repr without secrets, ``async with``, and :meth:`~Ldap3Connector._call`, which runs
one client method in ``asyncio.to_thread`` and raises the kind's translation of what it
raised (``_errors``: the kind's :class:`~._ldap3_errors.ErrorMap`), so that no ldap3 exception
leaves the connector, and :meth:`~Ldap3Connector._paged_search`, a paged search that asks for
the next page while the caller works on the last. :class:`TransportSteps` is the base of
each kind's steps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from credsync.connectors._ldap3 import Entry, Ldap3Client
from credsync.connectors._ldap3_errors import ErrorMap
from credsync.connectors._tls import tls_reason
from credsync.connectors.base import DirectoryConfig, StepOutcome
from credsync.errors import AccountNotFound, ConnectorError, PermanentConnectorError

__all__ = ["Ldap3Connector", "Step", "TransportSteps"]

T = TypeVar("T")
C = TypeVar("C", bound=Ldap3Client)
Step = tuple[StepOutcome, str]


class Ldap3Connector(Generic[C]):
    """The base of an ldap3 connector; the kind says ``_errors`` and what its base DN is."""

    _errors: ClassVar[ErrorMap]

    def __init__(self, config: DirectoryConfig, client: C) -> None:
        self._config = config
        self._client = client

    @property
    def _base(self) -> str:
        """The base DN the accounts are under (as far as known yet)."""
        return self._config.base_dn

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self._config.name!r}, url={self._config.url!r}, "
            f"bind={self._config.bind_username!r}, base_dn={self._base!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def _call(
        self,
        where: str,
        fn: Callable[..., T],
        *args: Any,
        not_found: type[ConnectorError] = AccountNotFound,
        password_change: bool = False,
        **kwargs: Any,
    ) -> T:
        """``fn(*args, **kwargs)`` in a thread; a failure translated for ``where`` (see
        :meth:`ErrorMap.translate <._ldap3_errors.ErrorMap.translate>`)."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ConnectorError:
            raise
        except Exception as exc:
            raise self._errors.translate(
                exc, where=where, not_found=not_found, password_change=password_change
            ) from exc

    async def _paged_search(
        self, base: str, search_filter: str, attributes: Sequence[str], whose: str, size: int
    ) -> AsyncIterator[list[Entry]]:
        """The pages (of ``size`` entries) of a paged search under ``base``, the next one
        asked for as soon as the cookie is known, so that the directory works on it while the
        caller takes this one apart; ``whose`` entries, for errors."""

        def ask(cookie: bytes | None) -> asyncio.Future[tuple[list[Entry], bytes | None]]:
            where = f"search {whose} under {base}"
            return asyncio.ensure_future(
                self._call(
                    where,
                    self._client.search_page,
                    *(base, search_filter, attributes, cookie, size),
                    not_found=PermanentConnectorError,
                )
            )

        pending: asyncio.Future[tuple[list[Entry], bytes | None]] | None = ask(None)
        try:
            while pending is not None:
                entries, cookie = await pending
                pending = ask(cookie) if cookie else None
                yield entries
        finally:
            if pending is not None:  # the caller stopped early: the page is not wanted
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending


class TransportSteps:
    """``test_connection``'s tcp and tls steps on a connector's client. Each step returns
    (outcome, detail) or raises a ConnectorError, which fails it
    (:func:`~credsync.connectors.base.run_test_steps`)."""

    def __init__(self, connector: Ldap3Connector[Any]) -> None:
        self._client: Ldap3Client = connector._client
        self._config = connector._config
        self._errors = connector._errors

    async def tcp(self) -> Step:
        endpoint = self._client.endpoint
        try:
            await asyncio.to_thread(self._client.tcp_probe)
        except OSError as exc:
            return StepOutcome.FAILED, f"{endpoint.host}:{endpoint.port}: {exc.strerror or exc}"
        return StepOutcome.OK, f"{endpoint.host}:{endpoint.port} accepts connections"

    async def tls(self) -> Step:
        how = "StartTLS" if self._client.endpoint.starttls else "LDAPS"
        try:
            subject = await asyncio.to_thread(self._client.tls_probe)
        except Exception as exc:
            reason = tls_reason(exc)
            if reason is None:
                raise self._errors.translate(exc, where=f"{how} handshake") from exc
            seen = await asyncio.to_thread(self._client.peer_subject)
            return StepOutcome.FAILED, f"{how}: {reason} (certificate subject: {seen})"
        if self._config.insecure_skip_verify:
            return StepOutcome.WARNING, f"{how}: certificate NOT checked (subject: {subject})"
        name = self._client.server_name
        return StepOutcome.OK, f"{how}: certificate {subject} trusted and valid for {name}"
