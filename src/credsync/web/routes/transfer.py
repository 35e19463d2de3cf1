"""CSV import and export of a client's credentials on the dashboard, with the vault's
service that ``credsync import``/``export`` and the API use.

Import: a form with the file and the options (strict, duplicates, generated passwords and
their policy), sent to check the file only (a dry run) or to import it. It needs vault.write,
checked before the upload is read; the upload is at most the API's limit (32 MiB) and stays
in memory. The answer is the report the service returns: every rejected row with its line
and reason. Nothing of the file is kept: importing after a check sends it again.

Export: a page saying what the file holds (every password in the clear), then the download.
It needs vault.read, secret.reveal and vault.export; the audit entry (``export``, destination
``<dashboard download>``) is committed before any secret is written out, as for the CLI.
"""

from __future__ import annotations

import io
import re
from typing import Annotated

from fastapi import Depends, Request, Response

from credsync.api.deps import State
from credsync.api.routing import body_limit
from credsync.errors import InvalidInput, NotFound
from credsync.vault import Permission
from credsync.vault.csvio import MAX_IMPORT_BYTES, ImportRejected, ImportReport
from credsync.vault.models import Client
from credsync.web.forms import Form
from credsync.web.pages import page, page_router
from credsync.web.session import Viewer, ViewerDep
from credsync.web.upload import Upload, upload_of

__all__ = ["DOWNLOAD", "router"]

router = page_router()

DOWNLOAD = "<dashboard download>"  # an export's destination in the audit log
TOO_LARGE = f"the CSV is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it"
_OPTIONS = ("strict", "allow_duplicates", "generate_missing")

ImportUpload = Annotated[
    Upload, Depends(upload_of(Permission.VAULT_WRITE, MAX_IMPORT_BYTES, TOO_LARGE))
]


class ImportForm(Form):
    """The import's options as chosen (the file is sent again each time)."""

    default_field = "csv"


def _import_page(
    request: Request,
    state: State,
    viewer: Viewer,
    client: Client,
    form: ImportForm,
    *,
    status: int = 200,
) -> Response:
    return page(
        request,
        "import.html",
        viewer,
        status=status,
        title=f"Import credentials into {client.name}",
        client=client,
        form=form,
        policies=[name for name, _ in state.vault.policies.list(viewer.actor)],
        limit_mib=MAX_IMPORT_BYTES // (1024 * 1024),
    )


@router.get("/clients/{ref}/import")
def import_form(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """The upload form with the import's options."""
    viewer.actor.require(Permission.VAULT_WRITE)
    client = state.vault.clients.get(viewer.actor, ref)
    return _import_page(request, state, viewer, client, ImportForm({"policy": "default"}))


def _report_page(
    request: Request,
    viewer: Viewer,
    client: Client,
    report: ImportReport,
    form: ImportForm,
    source: str,
    *,
    refused: str = "",
) -> Response:
    return page(
        request,
        "import_report.html",
        viewer,
        status=400 if refused else 200,
        title=f"Import into {client.name}: report",
        client=client,
        report=report,
        form=form,
        source=source,
        refused=refused,
    )


@router.post("/clients/{ref}/import")
@body_limit(MAX_IMPORT_BYTES, f"the CSV file is larger than {MAX_IMPORT_BYTES // 2**20} MiB")
def import_csv(ref: str, request: Request, state: State, upload: ImportUpload) -> Response:
    """Check or import the file; the per-row report, or the form with what was wrong."""
    vault, viewer = state.vault, upload.viewer
    actor = viewer.actor
    client = vault.clients.get(actor, ref)
    values = {name: "on" if upload.fields.get(name) == "on" else "" for name in _OPTIONS}
    values["policy"] = upload.fields.get("policy", "").strip() or "default"
    form = ImportForm(values)
    source = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
    if not source and not upload.data:
        form.error("csv", "Choose the CSV file to import.")
        return _import_page(request, state, viewer, client, form, status=400)
    dry_run = upload.fields.get("action") != "import"
    try:
        report = vault.csv.import_csv(
            actor,
            state.keys,
            client.id,
            io.BytesIO(upload.data),
            source_name=source or "<upload>",
            strict=form.ticked("strict"),
            allow_duplicates=form.ticked("allow_duplicates"),
            generate_missing=form.ticked("generate_missing"),
            policy=values["policy"] if form.ticked("generate_missing") else None,
            dry_run=dry_run,
        )
    except ImportRejected as rejected:
        message = str(rejected)
        return _report_page(
            request,
            viewer,
            client,
            rejected.report,
            form,
            source,
            refused=message[:1].upper() + message[1:],
        )
    except NotFound as exc:  # the policy chosen (the client was found above)
        form.error("policy", str(exc))
        return _import_page(request, state, viewer, client, form, status=400)
    except InvalidInput as exc:  # a bad header, a malformed file: nothing written
        form.refused(exc)
        return _import_page(request, state, viewer, client, form, status=400)
    return _report_page(request, viewer, client, report, form, source)


# -- export ------------------------------------------------------------------------------------
_EXPORT_NEEDS = (Permission.VAULT_READ, Permission.SECRET_REVEAL, Permission.VAULT_EXPORT)


@router.get("/clients/{ref}/export")
def export_page(ref: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """What an export holds, and the button that downloads it."""
    viewer.actor.require(*_EXPORT_NEEDS)
    client = state.vault.clients.get(viewer.actor, ref)
    return page(
        request,
        "export.html",
        viewer,
        title=f"Export {client.name}'s credentials",
        client=client,
    )


def _file_name(client: Client) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", client.name).strip("-.") or "client"
    return f"{stem[:60]}-credentials.csv"


@router.post("/clients/{ref}/export")
def export_csv(ref: str, state: State, viewer: ViewerDep) -> Response:
    """The CSV (every credential with its password and notes), audited first."""
    viewer.actor.require(*_EXPORT_NEEDS)
    client = state.vault.clients.get(viewer.actor, ref)
    out = io.StringIO()
    state.vault.csv.export_csv(viewer.actor, state.keys, client.id, out, destination=DOWNLOAD)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{_file_name(client)}"',
        },
    )
