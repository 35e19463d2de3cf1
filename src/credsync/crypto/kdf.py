"""Argon2id key derivation for the master passphrase."""

from __future__ import annotations

import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from credsync.crypto.keys import KEY_BYTES, KeyEncryptionKey
from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = ["MIN_MEMORY_KIB", "KdfParams", "derive_kek"]

# OWASP's first Argon2id recommendation is m=19 MiB, t=2; our default is stronger. The floor
# below is what we refuse to go under even for throwaway vaults.
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 64 * 1024
DEFAULT_PARALLELISM = 4
MIN_MEMORY_KIB = 8 * 1024
MIN_PASSPHRASE_CHARS = 8


@dataclass(frozen=True)
class KdfParams:
    salt: bytes
    time_cost: int = DEFAULT_TIME_COST
    memory_kib: int = DEFAULT_MEMORY_KIB
    parallelism: int = DEFAULT_PARALLELISM

    def __repr__(self) -> str:
        return (
            f"KdfParams(argon2id, t={self.time_cost}, m={self.memory_kib} KiB, "
            f"p={self.parallelism})"
        )

    @classmethod
    def new(
        cls,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_kib: int = DEFAULT_MEMORY_KIB,
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> KdfParams:
        if time_cost < 1 or time_cost > 50:
            raise InvalidInput(f"Argon2 time cost must be 1..50, not {time_cost}")
        if memory_kib < MIN_MEMORY_KIB or memory_kib > 4 * 1024 * 1024:
            raise InvalidInput(
                f"Argon2 memory must be {MIN_MEMORY_KIB}..4194304 KiB, not {memory_kib}"
            )
        if parallelism < 1 or parallelism > 16:
            raise InvalidInput(f"Argon2 parallelism must be 1..16, not {parallelism}")
        return cls(
            salt=os.urandom(16),
            time_cost=time_cost,
            memory_kib=memory_kib,
            parallelism=parallelism,
        )


def check_passphrase_strength(passphrase: Secret) -> None:
    if len(passphrase.reveal()) < MIN_PASSPHRASE_CHARS:
        raise InvalidInput(
            f"the master passphrase must have at least {MIN_PASSPHRASE_CHARS} characters"
        )


def derive_kek(passphrase: Secret, params: KdfParams) -> KeyEncryptionKey:
    raw = hash_secret_raw(
        secret=passphrase.reveal().encode("utf-8"),
        salt=params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )
    return KeyEncryptionKey(raw)
