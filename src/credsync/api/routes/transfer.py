"""CSV import and export of a client's credentials, as ``credsync import`` and ``export``.

Import takes the CSV as the request body (``text/csv``, at most ``MAX_IMPORT_BYTES``: the one
route that takes more than the server's 1 MiB; the vault refuses a bad header or malformed
file whole) and answers the report the CLI prints
with ``--json``. Export answers the CSV itself (``text/csv``); like the local export it
needs vault.read, secret.reveal and vault.export, and its audit entry is committed before
any secret is written out.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from credsync.api.deps import Caller, State
from credsync.api.errors import ApiError, error_body, status_of
from credsync.api.routing import api_router, body_limit
from credsync.api.schemas import ErrorOut, ImportRejectedOut
from credsync.vault import Permission
from credsync.vault.csvio import MAX_IMPORT_BYTES, ImportRejected, ImportReportJson

__all__ = ["COUNT_HEADER", "CSV_MEDIA_TYPES", "MAX_IMPORT_BYTES", "router"]

router = api_router(prefix="/clients/{client}", tags=["import and export"])

CSV_MEDIA_TYPES = ("text/csv", "text/plain", "application/octet-stream")
COUNT_HEADER = "X-Credential-Count"  # how many credentials an export holds
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV, UTF-8, with a header row (see the README for the columns).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
_TOO_LARGE = f"the CSV is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it"


async def csv_upload(request: Request, actor: Caller) -> bytes:
    """The request body, after the permission check (nothing is read for a caller who may
    not import) and within the size limit (the server refuses a larger body before the route
    sees it, see :func:`body_limit`: this holds for the API served on its own too)."""
    actor.require(Permission.VAULT_WRITE)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in CSV_MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the CSV as the body, text/csv")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", _TOO_LARGE)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_IMPORT_BYTES:
            raise ApiError(413, "too_large", _TOO_LARGE)
    return bytes(data)


CsvUpload = Annotated[bytes, Depends(csv_upload)]


@router.post(
    "/import",
    response_model=ImportReportJson,
    openapi_extra=_CSV_BODY,
    responses={
        400: {
            "model": ImportRejectedOut,
            "description": "A bad header or malformed CSV (nothing written), or a strict "
            "import with rejected rows (nothing written; report says which and why)",
        },
        413: {"model": ErrorOut, "description": "The CSV is too large"},
        415: {"model": ErrorOut, "description": "The body is not text/csv"},
    },
)
@body_limit(MAX_IMPORT_BYTES, _TOO_LARGE)
def import_csv(
    client: str,
    data: CsvUpload,
    actor: Caller,
    state: State,
    strict: bool = Query(False, description="Write nothing if any row is rejected."),
    allow_duplicates: bool = Query(False, description="Import rows matching existing ones."),
    generate_missing: bool = Query(False, description="Generate passwords for empty ones."),
    policy: str | None = Query(None, max_length=64, description="Policy for generate_missing."),
    dry_run: bool = Query(False, description="Check every row, write nothing."),
    source: str | None = Query(
        None,
        max_length=255,
        description="The file's name, for the audit log and messages (default <upload>).",
    ),
) -> Any:
    """Import credentials from CSV (needs vault.write). Rows that fail are reported with their
    line and reason and nothing of them is written; the others are written in one
    transaction, audited with the file's SHA-256."""
    try:
        report = state.vault.csv.import_csv(
            actor,
            state.keys,
            client,
            io.BytesIO(data),
            source_name=source or "<upload>",
            strict=strict,
            allow_duplicates=allow_duplicates,
            generate_missing=generate_missing,
            policy=policy,
            dry_run=dry_run,
        )
    except ImportRejected as err:
        status, code = status_of(err)
        body = error_body(status, code, str(err))
        body["error"]["report"] = err.report.to_json()
        return JSONResponse(body, status)
    return report.to_json()


class CsvResponse(Response):
    media_type = "text/csv"


@router.post(
    "/export",
    response_class=Response,  # no media type of its own: errors are documented as JSON
    responses={
        200: {
            "description": f"The CSV, the columns import reads; {COUNT_HEADER}: how many "
            "credentials it holds",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def export_csv(
    client: str,
    actor: Caller,
    state: State,
    destination: str | None = Query(
        None,
        max_length=500,
        description="Where the caller writes it, for the audit log (default <download>).",
    ),
) -> CsvResponse:
    """Every credential of the client with its password and notes in the clear (needs
    vault.read, secret.reveal and vault.export; directory_admin credentials only with
    directory_admin.use). Audited before any secret is written out."""
    out = io.StringIO()
    count = state.vault.csv.export_csv(
        actor, state.keys, client, out, destination=destination or "<download>"
    )
    return CsvResponse(
        out.getvalue(),
        headers={
            COUNT_HEADER: str(count),
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="credentials.csv"',
        },
    )
