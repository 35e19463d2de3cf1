"""The backup archive's file format (see docs/backup.md): writing one, and reading one back
with every check made before anything is believed.

::

    "CREDSYNC-BACKUP\\n"                      magic (16 bytes)
    u32 length + header (JSON, UTF-8)         format, the master key's KDF parameters and
                                              check, the archive's salt; in the clear
    chunks: u32 length + u8 last + sealed     AES-256-GCM (credsync.crypto.archive), in order

The chunks hold one zlib stream of JSON lines: first the manifest (``format``,
``credsync_version``, ``schema_revision``, ``created_at``, ``created_by``, ``database``,
``audit_head``, ``tables`` with each one's columns and row count), then one line per row,
``[table index, [values]]``, every table's rows together, parents first.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from credsync.crypto import KdfParams, KeyEncryptionKey
from credsync.crypto.archive import ARCHIVE_SALT_BYTES, ArchiveKey
from credsync.errors import IntegrityError, InvalidInput

__all__ = ["FORMAT", "MAGIC", "ArchiveReader", "ArchiveWriter", "Header"]

MAGIC = b"CREDSYNC-BACKUP\n"
FORMAT = 1
CHUNK_BYTES = 1 << 20
_MAX_HEADER = 64 * 1024
_MAX_CHUNK = CHUNK_BYTES + 1024
_U32 = struct.Struct(">I")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class Header:
    """What an archive says in the clear: how to derive the key that opens it."""

    kdf: KdfParams
    kek_check: bytes
    salt: bytes
    raw: bytes  # as written: the chunks are bound to it

    @classmethod
    def new(cls, kdf: KdfParams, kek_check: bytes, salt: bytes) -> Header:
        doc = {
            "format": FORMAT,
            "kdf": {
                "algorithm": "argon2id",
                "salt": _b64(kdf.salt),
                "time_cost": kdf.time_cost,
                "memory_kib": kdf.memory_kib,
                "parallelism": kdf.parallelism,
            },
            "kek_check": _b64(kek_check),
            "salt": _b64(salt),
        }
        raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return cls(kdf, kek_check, salt, raw)

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        try:
            doc = json.loads(raw.decode("utf-8"))
            version = doc["format"]
            if isinstance(version, int) and version > FORMAT:
                raise InvalidInput(
                    f"the backup is in archive format {version}, newer than this credsync's "
                    f"{FORMAT}: restore it with a newer credsync",
                    field="archive",
                )
            if version != FORMAT or doc["kdf"]["algorithm"] != "argon2id":
                raise ValueError("unknown format")
            kdf = KdfParams(
                salt=base64.b64decode(doc["kdf"]["salt"], validate=True),
                time_cost=int(doc["kdf"]["time_cost"]),
                memory_kib=int(doc["kdf"]["memory_kib"]),
                parallelism=int(doc["kdf"]["parallelism"]),
            )
            check = base64.b64decode(doc["kek_check"], validate=True)
            salt = base64.b64decode(doc["salt"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise IntegrityError("backup archive: its header is damaged") from None
        if len(salt) != ARCHIVE_SALT_BYTES:
            raise IntegrityError("backup archive: its header is damaged")
        return cls(kdf, check, salt, raw)


class ArchiveWriter:
    """Writes the header, then JSON lines, compressed and sealed in chunks; :meth:`close`
    seals the last chunk (an archive without it is truncated)."""

    def __init__(self, out: IO[bytes], header: Header, kek: KeyEncryptionKey) -> None:
        self._out = out
        self._key = kek.archive_key(header.salt, header.raw)
        self._zip = zlib.compressobj(6)
        self._pending = bytearray()
        self._index = 0
        out.write(MAGIC + _U32.pack(len(header.raw)) + header.raw)

    def line(self, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n"
        self._pending += self._zip.compress(text.encode("utf-8"))
        while len(self._pending) >= CHUNK_BYTES:
            self._seal(bytes(self._pending[:CHUNK_BYTES]), final=False)
            del self._pending[:CHUNK_BYTES]

    def _seal(self, data: bytes, *, final: bool) -> None:
        sealed = self._key.seal(self._index, data, final=final)
        self._out.write(_U32.pack(len(sealed)) + (b"\x01" if final else b"\x00") + sealed)
        self._index += 1

    def close(self) -> None:
        self._pending += self._zip.flush()
        while len(self._pending) > CHUNK_BYTES:
            self._seal(bytes(self._pending[:CHUNK_BYTES]), final=False)
            del self._pending[:CHUNK_BYTES]
        self._seal(bytes(self._pending), final=True)
        self._pending.clear()


def read_header(src: IO[bytes]) -> Header:
    magic = src.read(len(MAGIC))
    if magic != MAGIC:
        raise InvalidInput("the file is not a credsync backup", field="archive")
    size = _read_exact(src, _U32.size, "header")
    (length,) = _U32.unpack(size)
    if length > _MAX_HEADER:
        raise IntegrityError("backup archive: its header is damaged")
    return Header.parse(_read_exact(src, length, "header"))


def _read_exact(src: IO[bytes], size: int, what: str) -> bytes:
    data = src.read(size)
    if len(data) != size:
        raise IntegrityError(f"backup archive: truncated (the file ends in its {what})")
    return data


class ArchiveReader:
    """The JSON lines of an archive, each chunk opened (authenticated) before its lines are
    read; the file must end right after its last chunk."""

    def __init__(self, src: IO[bytes], header: Header, kek: KeyEncryptionKey) -> None:
        self._src = src
        self._key: ArchiveKey = kek.archive_key(header.salt, header.raw)

    def _plain(self) -> Iterator[bytes]:
        index = 0
        while True:
            frame = self._src.read(_U32.size + 1)
            if not frame:
                raise IntegrityError(
                    "backup archive: truncated (the file ends before its last chunk)"
                )
            if len(frame) != _U32.size + 1 or frame[-1:] not in (b"\x00", b"\x01"):
                raise IntegrityError(f"backup archive: chunk {index} is damaged")
            (length,) = _U32.unpack(frame[: _U32.size])
            if length > _MAX_CHUNK:
                raise IntegrityError(f"backup archive: chunk {index} is damaged")
            final = frame[-1:] == b"\x01"
            blob = _read_exact(self._src, length, f"chunk {index}")
            yield self._key.open(index, blob, final=final)
            index += 1
            if final:
                if self._src.read(1):
                    raise IntegrityError("backup archive: data after its last chunk")
                return

    def lines(self) -> Iterator[Any]:
        unzip = zlib.decompressobj()
        rest = b""
        try:
            for plain in self._plain():
                rest += unzip.decompress(plain)
                *whole, rest = rest.split(b"\n")
                for line in whole:
                    yield json.loads(line)
            rest += unzip.flush()
        except (zlib.error, ValueError):
            raise IntegrityError("backup archive: its content is damaged") from None
        if rest or not unzip.eof:
            raise IntegrityError("backup archive: its content is damaged")
