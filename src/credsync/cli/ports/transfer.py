"""CSV import and export of a client's credentials (the vault's ``CsvIO`` both ways)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, Protocol

from credsync.cli.ports import LocalVault, Record
from credsync.cli.remote import Remote, path_of

if TYPE_CHECKING:
    from credsync.vault.csvio import ImportReportJson

__all__ = ["COUNT_HEADER", "LocalTransfer", "RemoteTransfer", "TransferPort", "local", "remote"]

COUNT_HEADER = "X-Credential-Count"  # the API's export answer: how many credentials it holds


class TransferPort(Protocol):
    def import_csv(
        self,
        client: str,
        stream: IO[bytes],
        *,
        source: str,
        policy: str | None,
        strict: bool,
        allow_duplicates: bool,
        generate_missing: bool,
        dry_run: bool,
    ) -> ImportReportJson:
        """The import's report. A strict import with rejected rows raises ImportRejected,
        whose report says which rows and why."""
        ...

    def export_csv(self, client: str, out: IO[str], *, destination: str) -> int:
        """Write the client's credentials with their passwords to ``out`` (audited as going
        to ``destination``); how many."""
        ...


class LocalTransfer:
    def __init__(self, rt: LocalVault) -> None:
        self._rt = rt

    def import_csv(self, client: str, stream: IO[bytes], **options: Any) -> ImportReportJson:
        rt = self._rt
        source = options.pop("source")
        return rt.vault.csv.import_csv(
            rt.actor, rt.keys, client, stream, source_name=source, **options
        ).to_json()

    def export_csv(self, client: str, out: IO[str], *, destination: str) -> int:
        rt = self._rt
        return rt.vault.csv.export_csv(rt.actor, rt.keys, client, out, destination=destination)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """Sent as it is read (a pipe's size is not known ahead)."""
    while chunk := stream.read(1 << 16):
        yield chunk


def _rejected(report: Record) -> Exception:
    """A strict import's refusal, as the vault raises it."""
    from credsync.vault.csvio import ImportRejected, ImportReport, Rejection

    fields = {**report, "rejected": [Rejection(**r) for r in report["rejected"]]}
    return ImportRejected(ImportReport(**fields))


class RemoteTransfer:
    def __init__(self, api: Remote) -> None:
        self._api = api

    def import_csv(self, client: str, stream: IO[bytes], **options: Any) -> ImportReportJson:
        api = self._api
        response = api.request(
            "POST",
            path_of("clients", client, "import"),
            params=options,
            content=_chunks(stream),
            content_type="text/csv",
        )
        if response.status_code == 400:  # a strict import's refusal carries the report
            data = api.json_of(response)
            error = data.get("error") if isinstance(data, dict) else None
            if isinstance(error, dict) and isinstance(error.get("report"), dict):
                raise _rejected(error["report"])
        api.raise_for_error(response)
        report: ImportReportJson = api.json_of(response)
        return report

    def export_csv(self, client: str, out: IO[str], *, destination: str) -> int:
        response = self._api.request(
            "POST", path_of("clients", client, "export"), params={"destination": destination}
        )
        self._api.raise_for_error(response)
        out.write(response.text)
        return int(response.headers.get(COUNT_HEADER, "0"))


def local(rt: LocalVault) -> TransferPort:
    return LocalTransfer(rt)


def remote(api: Remote) -> TransferPort:
    return RemoteTransfer(api)
