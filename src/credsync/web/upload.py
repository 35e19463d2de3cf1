"""A form post with a file (the CSV import): who posts it and their permission are checked
before the body is read, the body is read within a size limit and kept in memory (a CSV of
passwords never goes to a temporary file), then the session's CSRF token is checked from the
form, as :func:`credsync.web.session.viewer` does for every other post.

A route asks for it with :func:`upload_of` (the permission and the limit), and gets an
:class:`Upload`: the viewer, the form's text fields, the file's name and bytes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.errors import AuthenticationFailed
from credsync.types import Secret
from credsync.vault import Permission
from credsync.web.session import CSRF_FIELD, SignInNeeded, Viewer

__all__ = ["FORM_OVERHEAD", "Upload", "upload_of"]

FORM_OVERHEAD = 64 * 1024  # the form's other fields and the multipart framing, beside the file
_MAX_FIELDS = 32


@dataclass(frozen=True)
class Upload:
    viewer: Viewer
    fields: dict[str, str]
    filename: str  # "" when no file was chosen
    data: bytes

    def __repr__(self) -> str:  # the bytes are a file of secrets
        return f"Upload(filename={self.filename!r}, bytes={len(self.data)})"


def _signed_in(request: Request, state: State) -> tuple[Secret, Viewer]:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInNeeded("not signed in")
    try:
        actor, session_id, token = state.vault.web_sessions.resume(Secret(cookie))
    except AuthenticationFailed as exc:
        raise SignInNeeded(str(exc)) from exc
    found = Viewer(actor, session_id, token)
    request.state.viewer = found  # for the error pages' navigation
    return Secret(cookie), found


async def _limited(request: Request, limit: int, too_large: str) -> AsyncGenerator[bytes, None]:
    """The body, refused (413) past ``limit`` bytes, declared or sent."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", too_large)
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise ApiError(413, "too_large", too_large)
        yield chunk


async def _form(
    request: Request, limit: int, too_large: str
) -> tuple[dict[str, str], UploadFile | None]:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = _limited(request, limit + FORM_OVERHEAD, too_large)

    class InMemory(MultiPartParser):
        spool_max_size = limit + FORM_OVERHEAD + 1  # never rolls over to a file on disk

    try:
        if media_type == "multipart/form-data":
            parsed = await InMemory(
                request.headers, body, max_files=1, max_fields=_MAX_FIELDS
            ).parse()
        elif media_type == "application/x-www-form-urlencoded":
            parsed = await FormParser(request.headers, body).parse()
        else:
            raise ApiError(415, "unsupported_media_type", "send the form as multipart/form-data")
    except MultiPartException as exc:
        raise ApiError(400, "bad_request", f"the form could not be read: {exc.message}") from None
    fields = {k: v for k, v in parsed.multi_items() if isinstance(v, str)}
    files = [v for _, v in parsed.multi_items() if isinstance(v, UploadFile)]
    return fields, files[0] if files else None


def upload_of(
    permission: Permission, limit: int, too_large: str
) -> Callable[[Request, Any], Awaitable[Upload]]:
    """The dependency that reads a form with one file of at most ``limit`` bytes, posted by
    a signed-in operator with ``permission`` and the session's CSRF token (``too_large``:
    the message of a refusal for size)."""

    async def upload(request: Request, state: State) -> Upload:
        cookie, viewer = await run_in_threadpool(_signed_in, request, state)
        viewer.actor.require(permission)  # before anything of the body is read
        fields, file = await _form(request, limit, too_large)
        try:
            data = await file.read() if file is not None else b""
        finally:
            if file is not None:
                await file.close()
        # The CSRF token, as for every post (a missing or wrong one: 403).
        try:
            await run_in_threadpool(
                state.vault.web_sessions.resume, cookie, csrf_token=fields.get(CSRF_FIELD, "")
            )
        except AuthenticationFailed as exc:  # the session ended meanwhile
            raise SignInNeeded(str(exc)) from exc
        if len(data) > limit:
            raise ApiError(413, "too_large", too_large)
        filename = (file.filename or "") if file is not None else ""
        return Upload(viewer, fields, filename, data)

    return upload
