"""Unit tests of :mod:`credsync.crypto`: envelope encryption, associated data, tamper detection,
key hygiene (reprs, pickling) and the Argon2id key derivation."""

from __future__ import annotations

import copy
import os
import pickle

import pytest
from argon2.low_level import Type, hash_secret_raw

from credsync.crypto import DataKey, KdfParams, KeyEncryptionKey, MacKey, SessionKey, derive_kek
from credsync.crypto.hashing import hash_password, verify_password
from credsync.crypto.kdf import MIN_MEMORY_KIB
from credsync.errors import IntegrityError, InvalidInput
from credsync.types import Secret

from ._safe import check_absent, check_secret
from ._top import FAST_KDF

PLAINTEXT = "Zq9-crypto-unit-secret-\u00e9\u00df"
RECORD = "6f1c2a9e-0000-4000-8000-000000000001"
OTHER_RECORD = "6f1c2a9e-0000-4000-8000-000000000002"


def _key_bytes() -> bytes:
    return os.urandom(32)


def _assert_clean_error(err: BaseException, *secrets: str) -> None:
    text = f"{err} {err!r} {err.args!r}"
    check_absent({f"secret {i}": s for i, s in enumerate(secrets)}, text, "the error")


# -- data keys: round trips and associated data ---------------------------------------------


def test_data_key_round_trip() -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text(RECORD, 3, "password", PLAINTEXT)
    opened = key.open_text(RECORD, 3, "password", blob)
    assert isinstance(opened, Secret)
    check_secret(opened, PLAINTEXT, "round trip")
    check_absent({"plaintext": PLAINTEXT}, blob, "the sealed blob")


def test_each_seal_uses_a_fresh_nonce() -> None:
    key = DataKey(_key_bytes())
    first = key.seal_text(RECORD, 1, "password", PLAINTEXT)
    second = key.seal_text(RECORD, 1, "password", PLAINTEXT)
    assert first != second
    assert first[1:13] != second[1:13]
    assert key.open_text(RECORD, 1, "password", first) == key.open_text(
        RECORD, 1, "password", second
    )


@pytest.mark.parametrize(
    ("record", "version", "field"),
    [
        (OTHER_RECORD, 3, "password"),
        (RECORD, 2, "password"),
        (RECORD, 4, "password"),
        (RECORD, 3, "notes"),
    ],
    ids=["other-record", "older-version", "newer-version", "other-field"],
)
def test_ciphertext_is_bound_to_record_version_and_field(
    record: str, version: int, field: str
) -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text(RECORD, 3, "password", PLAINTEXT)
    with pytest.raises(IntegrityError, match="failed authentication") as caught:
        key.open_text(record, version, field, blob)
    _assert_clean_error(caught.value, PLAINTEXT)


def test_aad_fields_cannot_be_shifted_across_the_separator() -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text("abc", 1, "password", PLAINTEXT)
    assert DataKey.field_aad("abc", 1, "password") != DataKey.field_aad("ab", 1, "cpassword")
    with pytest.raises(IntegrityError):
        key.open_text("abc|1", 1, "password", blob)


def test_flipping_any_bit_of_a_blob_is_detected() -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text(RECORD, 1, "password", PLAINTEXT)
    checked = 0
    for index in range(len(blob)):
        for bit in range(8):
            tampered = bytearray(blob)
            tampered[index] ^= 1 << bit
            with pytest.raises(IntegrityError) as caught:
                key.open_text(RECORD, 1, "password", bytes(tampered))
            _assert_clean_error(caught.value, PLAINTEXT)
            checked += 1
    assert checked == len(blob) * 8


def test_truncated_or_extended_blobs_are_detected() -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text(RECORD, 1, "password", PLAINTEXT)
    for length in range(len(blob)):
        with pytest.raises(IntegrityError):
            key.open_text(RECORD, 1, "password", blob[:length])
    with pytest.raises(IntegrityError):
        key.open_text(RECORD, 1, "password", blob + b"\x00")


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x01", b"\x00" * 64, os.urandom(64), b"\x02" + os.urandom(40)],
    ids=["empty", "format-byte-only", "zeros", "random", "unknown-format"],
)
def test_foreign_bytes_are_not_a_ciphertext(blob: bytes) -> None:
    key = DataKey(_key_bytes())
    with pytest.raises(IntegrityError, match=r"(not a credsync ciphertext|failed authentication)"):
        key.open_text(RECORD, 1, "password", blob)


def test_another_keys_blob_fails() -> None:
    blob = DataKey(_key_bytes()).seal_text(RECORD, 1, "password", PLAINTEXT)
    with pytest.raises(IntegrityError, match="wrong key"):
        DataKey(_key_bytes()).open_text(RECORD, 1, "password", blob)


def test_wrong_format_byte_is_refused_before_decryption() -> None:
    key = DataKey(_key_bytes())
    blob = key.seal_text(RECORD, 1, "password", PLAINTEXT)
    with pytest.raises(IntegrityError, match="not a credsync ciphertext"):
        key.open_text(RECORD, 1, "password", b"\x02" + blob[1:])


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_keys_must_be_32_bytes(length: int) -> None:
    for cls in (DataKey, KeyEncryptionKey, SessionKey, MacKey):
        with pytest.raises(ValueError, match="32 bytes"):
            cls(os.urandom(length))


# -- key-encryption keys --------------------------------------------------------------------


def test_wrapped_data_key_round_trip_and_client_binding() -> None:
    kek = KeyEncryptionKey(_key_bytes())
    data_key, wrapped = kek.new_data_key("client-a")
    blob = data_key.seal_text(RECORD, 1, "password", PLAINTEXT)
    unwrapped = kek.unwrap_data_key("client-a", wrapped)
    check_secret(unwrapped.open_text(RECORD, 1, "password", blob), PLAINTEXT, "unwrapped key")
    with pytest.raises(IntegrityError, match="data key of client-b"):
        kek.unwrap_data_key("client-b", wrapped)
    with pytest.raises(IntegrityError):
        KeyEncryptionKey(_key_bytes()).unwrap_data_key("client-a", wrapped)
    tampered = bytearray(wrapped)
    tampered[20] ^= 0x01
    with pytest.raises(IntegrityError):
        kek.unwrap_data_key("client-a", bytes(tampered))


def test_each_client_gets_its_own_data_key() -> None:
    kek = KeyEncryptionKey(_key_bytes())
    key_a, _ = kek.new_data_key("client-a")
    key_b, _ = kek.new_data_key("client-b")
    blob = key_a.seal_text(RECORD, 1, "password", PLAINTEXT)
    with pytest.raises(IntegrityError):
        key_b.open_text(RECORD, 1, "password", blob)


def test_rewrap_moves_a_data_key_to_a_new_kek_without_changing_it() -> None:
    old = KeyEncryptionKey(_key_bytes())
    new = KeyEncryptionKey(_key_bytes())
    data_key, wrapped = old.new_data_key("client-a")
    blob = data_key.seal_text(RECORD, 7, "password", PLAINTEXT)
    rewrapped = old.rewrap_data_key("client-a", wrapped, new)
    assert rewrapped != wrapped
    reopened = new.unwrap_data_key("client-a", rewrapped)
    check_secret(reopened.open_text(RECORD, 7, "password", blob), PLAINTEXT, "rewrapped key")
    with pytest.raises(IntegrityError):
        old.unwrap_data_key("client-a", rewrapped)
    with pytest.raises(IntegrityError):
        new.unwrap_data_key("client-a", wrapped)
    with pytest.raises(IntegrityError):
        new.rewrap_data_key("client-a", wrapped, old)


def test_key_check_tells_keys_apart() -> None:
    kek = KeyEncryptionKey(_key_bytes())
    check = kek.make_check()
    assert kek.matches_check(check)
    assert not KeyEncryptionKey(_key_bytes()).matches_check(check)
    tampered = bytearray(check)
    tampered[-1] ^= 0x80
    assert not kek.matches_check(bytes(tampered))
    assert not kek.matches_check(b"")
    # a data-key blob is not a key check, even under the same key
    _, wrapped = kek.new_data_key("client-a")
    assert not kek.matches_check(wrapped)


# -- session keys ---------------------------------------------------------------------------


def test_session_key_seals_the_kek_bound_to_its_aad() -> None:
    kek = KeyEncryptionKey(_key_bytes())
    session = SessionKey.generate()
    sealed = kek.seal_for_session(session, b"session-1|operator|2030|1")
    restored = SessionKey(session.export()).open_kek(sealed, b"session-1|operator|2030|1")
    assert restored.matches_check(kek.make_check())
    with pytest.raises(IntegrityError):
        session.open_kek(sealed, b"session-1|operator|2030|2")
    with pytest.raises(IntegrityError):
        session.open_kek(sealed, b"session-2|operator|2030|1")
    with pytest.raises(IntegrityError):
        SessionKey.generate().open_kek(sealed, b"session-1|operator|2030|1")


def test_session_keys_are_random_32_bytes() -> None:
    first, second = SessionKey.generate(), SessionKey.generate()
    assert len(first.export()) == 32
    assert first.export() != second.export()


# -- keys of keyed digests -------------------------------------------------------------------
def test_mac_keys_are_derived_per_vault_and_per_purpose() -> None:
    """HMAC-SHA256 under HKDF(master key, purpose): the same vault and purpose always give
    the same digest; another purpose or another vault's master key, another digest; and the
    digest is no plain hash of the text."""
    import hashlib
    import hmac

    raw = _key_bytes()
    kek = KeyEncryptionKey(raw)
    text = "name:alice"
    digest = kek.mac_key("sign-in-failures").digest(text)
    assert len(digest) == 64
    assert KeyEncryptionKey(raw).mac_key("sign-in-failures").digest(text) == digest
    assert kek.mac_key("other purpose").digest(text) != digest
    assert KeyEncryptionKey(_key_bytes()).mac_key("sign-in-failures").digest(text) != digest
    assert hashlib.sha256(text.encode()).hexdigest() != digest
    assert hmac.new(raw, text.encode(), hashlib.sha256).hexdigest() != digest  # not the KEK


# -- key hygiene ----------------------------------------------------------------------------


def _all_keys() -> list[tuple[object, bytes]]:
    raw_data, raw_kek, raw_session = _key_bytes(), _key_bytes(), _key_bytes()
    return [
        (DataKey(raw_data), raw_data),
        (KeyEncryptionKey(raw_kek), raw_kek),
        (SessionKey(raw_session), raw_session),
        (MacKey(raw_data), raw_data),
    ]


def _renderings(raw: bytes) -> list[str]:
    import base64

    return [
        raw.hex(),
        raw.hex().upper(),
        repr(raw),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def test_key_reprs_never_show_key_bytes() -> None:
    for key, raw in _all_keys():
        shown = [repr(key), str(key), f"{key}", format(key), repr([key]), repr({"k": key})]
        for text in shown:
            assert "<hidden>" in text
            for rendering in _renderings(raw):
                assert rendering not in text
        assert not hasattr(key, "__dict__")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_keys_cannot_be_pickled(protocol: int) -> None:
    for key, _ in _all_keys():
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(key, protocol=protocol)


def test_keys_cannot_be_copied() -> None:
    for key, _ in _all_keys():
        with pytest.raises(TypeError, match="cannot be pickled"):
            copy.copy(key)
        with pytest.raises(TypeError, match="cannot be pickled"):
            copy.deepcopy(key)


# -- Secret -----------------------------------------------------------------------------------


def test_secret_never_renders_its_value() -> None:
    secret = Secret(PLAINTEXT)
    renderings = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret:>60}",
        format(secret),
        format(secret, "*^40"),
        repr([secret]),
        repr({"password": secret}),
        repr((secret,)),
        str(ValueError(secret)),
    ]
    for text in renderings:
        check_absent({"plaintext": PLAINTEXT}, text, "a rendering of a Secret")
        assert "********" in text
    check_secret(secret, PLAINTEXT, "reveal")


def test_secret_in_a_log_record_stays_hidden(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logger = logging.getLogger("credsync.tests.security")
    with caplog.at_level(logging.INFO, logger="credsync.tests.security"):
        logger.info("password is %s (%r)", Secret(PLAINTEXT), Secret(PLAINTEXT))
    assert caplog.records
    check_absent({"plaintext": PLAINTEXT}, caplog.text, "the log")
    assert "********" in caplog.text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_secret_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(PLAINTEXT), protocol=protocol)


def test_secret_cannot_be_copied_hashed_or_built_from_bytes() -> None:
    secret = Secret(PLAINTEXT)
    with pytest.raises(TypeError):
        copy.deepcopy(secret)
    with pytest.raises(TypeError, match="not hashable"):
        hash(secret)
    with pytest.raises(TypeError):
        Secret(PLAINTEXT.encode())  # type: ignore[arg-type]
    assert not hasattr(secret, "__dict__")


def test_secret_equality_and_truth() -> None:
    same = Secret(PLAINTEXT) == Secret(PLAINTEXT)
    different = Secret(PLAINTEXT) != Secret(PLAINTEXT + "x")
    not_a_string = Secret(PLAINTEXT) != PLAINTEXT
    assert (same, different, not_a_string) == (True, True, True)
    assert len(Secret(PLAINTEXT)) == len(PLAINTEXT)
    assert not Secret("")
    assert Secret("x")


# -- KDF --------------------------------------------------------------------------------------


def test_product_default_kdf_is_argon2id_t3_m64mib_p4() -> None:
    params = KdfParams.new()
    assert (params.time_cost, params.memory_kib, params.parallelism) == (3, 64 * 1024, 4)
    assert len(params.salt) == 16
    assert KdfParams.new().salt != params.salt
    assert "argon2id" in repr(params)
    assert params.salt.hex() not in repr(params)


@pytest.mark.usefixtures("product_password_hasher")
def test_product_default_operator_password_hash_is_argon2id_t3_m64mib_p4() -> None:
    password = Secret("operator-" + PLAINTEXT)
    stored = hash_password(password)
    assert stored.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in stored
    check_absent({"password": password.reveal()}, stored, "the stored hash")
    assert verify_password(stored, password)
    assert not verify_password(stored, Secret("operator-wrong"))
    assert not verify_password(None, password)
    assert not verify_password("not-a-hash", password)


def test_init_command_defaults_match_the_product_kdf() -> None:
    from credsync.cli.commands.setup import init_cmd

    defaults = {p.name: p.default for p in init_cmd.params}
    assert defaults["kdf_time_cost"] == 3
    assert defaults["kdf_memory_kib"] == 64 * 1024
    assert defaults["kdf_parallelism"] == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_cost": 0},
        {"time_cost": 51},
        {"memory_kib": MIN_MEMORY_KIB - 1},
        {"memory_kib": 4 * 1024 * 1024 + 1},
        {"parallelism": 0},
        {"parallelism": 17},
    ],
)
def test_kdf_limits_are_enforced(kwargs: dict[str, int]) -> None:
    [value] = kwargs.values()
    with pytest.raises(InvalidInput, match=f"not {value}$"):
        KdfParams.new(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_cost": 1},
        {"time_cost": 50},
        {"memory_kib": MIN_MEMORY_KIB},
        {"memory_kib": 4 * 1024 * 1024},
        {"parallelism": 1},
        {"parallelism": 16},
    ],
)
def test_kdf_limits_are_inclusive(kwargs: dict[str, int]) -> None:
    params = KdfParams.new(**kwargs)
    [(name, value)] = kwargs.items()
    assert getattr(params, name) == value


def test_kdf_floor_is_8_mib() -> None:
    assert MIN_MEMORY_KIB == 8 * 1024


def test_derive_kek_is_argon2id_over_the_passphrase() -> None:
    params = KdfParams.new(**FAST_KDF)
    passphrase = Secret("kdf-unit-passphrase-" + PLAINTEXT)
    kek = derive_kek(passphrase, params)

    def reference(kind: Type, secret: str = passphrase.reveal()) -> KeyEncryptionKey:
        raw = hash_secret_raw(
            secret=secret.encode("utf-8"),
            salt=params.salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            type=kind,
        )
        return KeyEncryptionKey(raw)

    assert reference(Type.ID).matches_check(kek.make_check())
    assert not reference(Type.I).matches_check(kek.make_check())
    assert not reference(Type.D).matches_check(kek.make_check())


def test_derive_kek_depends_on_passphrase_salt_and_cost() -> None:
    params = KdfParams.new(**FAST_KDF)
    passphrase = Secret("kdf-unit-passphrase")
    check = derive_kek(passphrase, params).make_check()
    assert derive_kek(Secret("kdf-unit-passphrase"), params).matches_check(check)
    assert not derive_kek(Secret("kdf-unit-passphrasE"), params).matches_check(check)
    other_salt = KdfParams.new(**FAST_KDF)
    assert not derive_kek(passphrase, other_salt).matches_check(check)
    more_passes = KdfParams(
        salt=params.salt,
        time_cost=params.time_cost + 1,
        memory_kib=params.memory_kib,
        parallelism=params.parallelism,
    )
    assert not derive_kek(passphrase, more_passes).matches_check(check)
