"""SamrSetInformationUser2 at level 31 (``UserInternal7Information``, MS-SAMR 2.2.6.32): the
NDR impacket lacks (fortra/impacket PR #1783 was closed), written after the spec.

Wire layout: ``SAMPR_ENCRYPTED_PASSWORD_AES { UCHAR AuthData[64]; UCHAR Salt[16]; ULONG
cbCipher; [size_is(cbCipher)] PUCHAR Cipher; ULONGLONG PBKDF2Iterations; }`` then ``UCHAR
PasswordExpired``, in the SAMPR_USER_INFO_BUFFER union with tag 31. Two pitfalls of impacket:
a bare fixed-size byte field is aligned to its size (the fixed arrays are wrapped in structs
aligned to 1, or the server answers ``rpc_x_bad_stub_data``), and ``dce.request`` looks the
response class and ``DCERPCSessionError`` up in the request's module (both defined here).
"""

# mypy: disable-error-code="misc"
# (impacket has no types: every class here subclasses one of its Any-typed NDR classes)

from __future__ import annotations

from typing import Any

from impacket.dcerpc.v5 import samr
from impacket.dcerpc.v5.dtypes import NTSTATUS, UCHAR, ULONG, ULONGLONG, USHORT
from impacket.dcerpc.v5.ndr import (
    NDRCALL,
    NDRPOINTER,
    NDRSTRUCT,
    NDRUNION,
    NDRUniConformantArray,
)

from credsync.crypto.samr import AesBlob

__all__ = ["DCERPCSessionError", "set_aes"]

DCERPCSessionError = samr.DCERPCSessionError
LEVEL = 31


class _Bytes64(NDRSTRUCT):
    structure = (("Data", "64s=b''"),)

    def getAlignment(self) -> int:  # impacket's name
        return 1


class _Bytes16(NDRSTRUCT):
    structure = (("Data", "16s=b''"),)

    def getAlignment(self) -> int:  # impacket's name
        return 1


class _ByteArray(NDRUniConformantArray):
    item = "c"


class _PByteArray(NDRPOINTER):
    referent = (("Data", _ByteArray),)


class EncryptedPasswordAes(NDRSTRUCT):
    structure = (
        ("AuthData", _Bytes64),
        ("Salt", _Bytes16),
        ("cbCipher", ULONG),
        ("Cipher", _PByteArray),
        ("PBKDF2Iterations", ULONGLONG),
    )


class UserInternal7Information(NDRSTRUCT):
    structure = (
        ("UserPassword", EncryptedPasswordAes),
        ("PasswordExpired", UCHAR),
    )


class UserInfoBuffer7(NDRUNION):
    union = {LEVEL: ("Internal7", UserInternal7Information)}  # noqa: RUF012 - impacket's shape


class SamrSetInformationUser2Aes(NDRCALL):
    opnum = 58
    structure = (
        ("UserHandle", samr.SAMPR_HANDLE),
        ("UserInformationClass", USHORT),
        ("Buffer", UserInfoBuffer7),
    )


class SamrSetInformationUser2AesResponse(NDRCALL):
    structure = (("ErrorCode", NTSTATUS),)


def set_aes(dce: Any, handle: Any, blob: AesBlob, password_expired: int) -> None:
    """Set the password of the open user ``handle`` from ``blob`` (level 31)."""
    request = SamrSetInformationUser2Aes()
    request["UserHandle"] = handle
    request["UserInformationClass"] = LEVEL
    request["Buffer"]["tag"] = LEVEL
    info = request["Buffer"]["Internal7"]
    info["UserPassword"]["AuthData"] = blob.auth_data
    info["UserPassword"]["Salt"] = blob.salt
    info["UserPassword"]["cbCipher"] = len(blob.cipher)
    info["UserPassword"]["Cipher"] = list(blob.cipher)
    info["UserPassword"]["PBKDF2Iterations"] = 0
    info["PasswordExpired"] = password_expired
    dce.request(request)
