"""The whole exception tree of credsync, grouped by what a caller can do about it.

::

    CredsyncError                       base of every error credsync raises on purpose
    ├── ConfigError                     settings or environment are wrong: fix them and rerun
    ├── InvalidInput                    a value given by a user or a file is wrong: fix the input
    │                                   (``field``: which input, in the service's terms)
    ├── AuthError                       who you are or what you may do
    │   ├── AuthenticationFailed        wrong operator/password, bad or expired token or session
    │   │   ├── MfaRequired             the sign-in needs the second factor's code
    │   │   ├── MfaFailed               the one-time code was wrong or already used
    │   │   ├── MfaEnrolmentRequired    MFA is required and not set up: enrol first
    │   │   ├── SignInRefused           a person's sign-in was refused (one message, whatever
    │   │   │   │                       the reason: the reason is audited, never shown)
    │   │   │   └── TooManyAttempts     too many failures: try again in ``retry_after`` seconds
    │   │   ├── CaptureUnauthenticated  a capture batch's forwarder is unknown, revoked, or its
    │   │   │   │                       signature is bad
    │   │   │   └── CaptureStale        its sent_at is too far from the server's clock
    │   │   └── AgentUnauthenticated    a remote agent unknown, revoked, or its signature bad
    │   └── PermissionDenied            authenticated, but the role lacks a permission
    │       └── CaptureForbidden        a remote agent's captures for a directory not its own
    ├── VaultError
    │   ├── VaultLocked                 no master key available (no passphrase, no session)
    │   ├── WrongPassphrase             the master passphrase does not open this vault
    │   ├── NotFound                    no such client / credential / operator / ...
    │   ├── Conflict                    the state changed underneath: reload and retry
    │   │   ├── AlreadyExists           a name that must be unique is taken
    │   │   │   └── DuplicateCredential a credential with the same folder, title and username
    │   │   │                           is in the client (allowed when the caller says so)
    │   │   ├── StaleVersion            an update was based on an old version of a record
    │   │   ├── CaptureReplayed         a capture batch's nonce was already used
    │   │   ├── CaptureSequence         a capture batch's seq is not past the last accepted
    │   │   │                           (``last_seq``: go on from the one after)
    │   │   └── RunInProgress           a directory's run is under way (it holds the lease)
    │   └── IntegrityError              tampering or corruption (failed decryption, broken chain)
    ├── StorageError                    the database could not be reached or used
    │   └── SchemaOutOfDate             the database needs ``credsync db upgrade``
    ├── ConnectorError                  a directory connector failed
    │   ├── TransientConnectorError     retry later (``retry_after`` seconds, when known)
    │   │   └── DirectoryUnreachable    no answer: DNS, TCP, timeout, the server went away
    │   └── PermanentConnectorError     retrying will not help
    │       ├── DirectoryAuthFailed     the directory refused our bind credential
    │       ├── DirectoryTlsError       TLS failed: untrusted certificate, wrong name, handshake
    │       ├── DirectoryDenied         our bind credential lacks a right (read, reset password)
    │       ├── AccountNotFound         the account is gone from the directory
    │       ├── PolicyRejected          the directory refused a password (complexity, history)
    │       └── NotSupported            the connector lacks this capability
    ├── SyncError                       a sync run could not complete
    │   └── SyncAborted                 the run stopped; its cursor was left untouched
    └── MailError                       the mail server refused or could not be reached (its
                                        name and its own words; nothing is lost: send again)

Messages name what was wrong and never contain a secret. The classes know nothing of the
boundaries: the CLI's exit statuses are its table (``credsync.cli.exits``), the API's HTTP
statuses its own (``credsync.api.errors``), each looked up along the class's MRO. ``code`` is
the wire identity of a class: the REST API answers an error with it
(``{"error": {"status", "code", "message"}}``), and :func:`error_of_code` turns it back into the
class for a client of the API (the CLI against a server), so that it raises what a local
command would.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccountNotFound",
    "AgentUnauthenticated",
    "AlreadyExists",
    "AuthError",
    "AuthenticationFailed",
    "CaptureForbidden",
    "CaptureReplayed",
    "CaptureSequence",
    "CaptureStale",
    "CaptureUnauthenticated",
    "ConfigError",
    "Conflict",
    "ConnectorError",
    "CredsyncError",
    "DirectoryAuthFailed",
    "DirectoryDenied",
    "DirectoryTlsError",
    "DirectoryUnreachable",
    "DuplicateCredential",
    "IntegrityError",
    "InvalidInput",
    "MailError",
    "MfaEnrolmentRequired",
    "MfaFailed",
    "MfaRequired",
    "NotFound",
    "NotSupported",
    "PermanentConnectorError",
    "PermissionDenied",
    "PolicyRejected",
    "RunInProgress",
    "SchemaOutOfDate",
    "SignInRefused",
    "StaleVersion",
    "StorageError",
    "SyncAborted",
    "SyncError",
    "TooManyAttempts",
    "TransientConnectorError",
    "VaultError",
    "VaultLocked",
    "WrongPassphrase",
    "error_of_code",
]


class CredsyncError(Exception):
    """Base of every error credsync raises on purpose."""

    code = "error"


class ConfigError(CredsyncError):
    """Settings or environment are wrong."""

    code = "config_error"


class InvalidInput(CredsyncError):
    """A value given by a user, a file or the network is not acceptable.

    ``field`` names the input the problem concerns in the service's own terms (``"title"``,
    ``"tenant_id"``, ``"options.push_cap"``), or the inputs when it concerns several together
    (``("directory_sync", "default_sync_mode")``: give one of them); None when it concerns no
    one input. Each boundary says which of its own inputs that is (a CLI flag, a JSON field, a
    form field), so the message itself names none of them. ``fields`` holds them all (empty
    when none), ``field`` the first.
    """

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | Sequence[str] | None = None) -> None:
        super().__init__(message)
        names = (field,) if isinstance(field, str) else tuple(field or ())
        for name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(f"an InvalidInput field is a non-empty name, not {name!r}")
        self.fields: tuple[str, ...] = names

    @property
    def field(self) -> str | None:
        return self.fields[0] if self.fields else None


class AuthError(CredsyncError):
    code = "unauthenticated"


class AuthenticationFailed(AuthError):
    """The operator could not be authenticated."""


class MfaRequired(AuthenticationFailed):
    """The operator uses a second factor (or must): the sign-in needs a one-time code, or
    an API token is asked for by a sign-in that did not pass it."""

    code = "mfa_required"


class MfaFailed(AuthenticationFailed):
    """The one-time code (or recovery code) was wrong, or was already used."""

    code = "mfa_failed"


class MfaEnrolmentRequired(AuthenticationFailed):
    """The operator must use a second factor and has not set one up: only enrolment works."""

    code = "mfa_enrollment_required"


class SignInRefused(AuthenticationFailed):
    """A person's sign-in (password or second factor) was refused: the message is the same
    whatever the reason (a wrong password, an unknown username, a disabled person...), which
    is audited, never shown."""

    code = "sign_in_refused"


class TooManyAttempts(SignInRefused):
    """Too many failed sign-ins of a person, or from an address, in the window: try again in
    ``retry_after`` seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CaptureUnauthenticated(AuthenticationFailed):
    """A capture batch whose forwarder is unknown or revoked, whose signature is missing or
    does not verify, or whose body names another forwarder than its path."""

    code = "capture_unauthenticated"


class AgentUnauthenticated(AuthenticationFailed):
    """A remote agent's request whose agent is unknown, revoked or not registered, whose
    signature is missing, stale or does not verify, or an enrolment token that is unknown,
    used or expired."""

    code = "agent_unauthenticated"


class CaptureStale(CaptureUnauthenticated):
    """A capture batch sent (its ``sent_at``) too long ago, or in the future."""

    code = "capture_stale"


class PermissionDenied(AuthError):
    """The operator's role lacks a permission (or a form's CSRF token is wrong).

    ``operator`` is who was refused and ``permissions`` what they lack (empty when it is not
    a permission), for the audit entry each boundary makes of a refusal
    (``permission.denied``); an error rebuilt from an API answer has neither.
    """

    code = "forbidden"

    def __init__(
        self, message: str, *, operator: str | None = None, permissions: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.operator = operator
        self.permissions: tuple[str, ...] = tuple(permissions)


class CaptureForbidden(PermissionDenied):
    """A remote agent (authenticated) sent captures for, or asked the capture key of, a
    directory it is not bound to."""

    code = "capture_forbidden"


class VaultError(CredsyncError):
    pass


class VaultLocked(VaultError):
    """An operation needs the master key and none was given."""

    code = "vault_locked"


class WrongPassphrase(VaultError):
    """The master passphrase does not open this vault."""

    code = "wrong_passphrase"


class NotFound(VaultError):
    code = "not_found"


class Conflict(VaultError):
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class DuplicateCredential(AlreadyExists):
    """The client has a credential (outside the trash) with the same folder, title and
    username (``existing_id``): a second is made only when the caller allows a duplicate."""

    code = "duplicate_credential"
    # The input that would allow it, for the boundaries to name (a flag, a form field).
    fields: tuple[str, ...] = ("allow_duplicate",)

    def __init__(self, message: str, *, existing_id: str = "") -> None:
        super().__init__(message)
        self.existing_id = existing_id


class StaleVersion(Conflict):
    code = "stale_version"


class RunInProgress(Conflict):
    """Another run of the directory is under way and holds its lease: try again later."""

    code = "run_in_progress"


class CaptureReplayed(Conflict):
    """A capture batch whose nonce the forwarder already sent (a replay)."""

    code = "capture_replayed"


class CaptureSequence(Conflict):
    """A capture batch whose ``seq`` is not greater than the forwarder's last accepted one;
    ``last_seq`` is that one (None in an error rebuilt from an answer without it)."""

    code = "capture_sequence"

    def __init__(self, message: str, *, last_seq: int | None = None) -> None:
        super().__init__(message)
        self.last_seq = last_seq


class IntegrityError(VaultError):
    """Stored data failed an integrity check (decryption, audit chain)."""

    code = "integrity_error"


class StorageError(CredsyncError):
    code = "storage_unavailable"


class SchemaOutOfDate(StorageError):
    pass


class ConnectorError(CredsyncError):
    code = "directory_error"


class TransientConnectorError(ConnectorError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DirectoryUnreachable(TransientConnectorError):
    pass


class PermanentConnectorError(ConnectorError):
    pass


class DirectoryAuthFailed(PermanentConnectorError):
    pass


class DirectoryTlsError(PermanentConnectorError):
    pass


class DirectoryDenied(PermanentConnectorError):
    pass


class AccountNotFound(PermanentConnectorError):
    pass


class PolicyRejected(PermanentConnectorError):
    code = "policy_rejected"


class NotSupported(PermanentConnectorError):
    pass


class SyncError(CredsyncError):
    code = "sync_error"


class SyncAborted(SyncError):
    pass


class MailError(CredsyncError):
    """The mail server could not be reached or refused a message: the message names the
    server and quotes what it said (never a password)."""

    code = "mail_failed"


# Codes the API answers with for errors it finds itself (a malformed request, a body too
# large), and the error each is to a client.
_API_CODES: dict[str, type[CredsyncError]] = {
    "invalid_request": InvalidInput,
    "bad_request": InvalidInput,
    "too_large": InvalidInput,
    "unsupported_media_type": InvalidInput,
}


def _classes(root: type[CredsyncError]) -> list[type[CredsyncError]]:
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_classes(sub))
    return found


def error_of_code(code: str) -> type[CredsyncError]:
    """The class of an error the API answered with ``code`` (CredsyncError when unknown)."""
    for cls in _classes(CredsyncError):
        if cls.__dict__.get("code") == code:
            return cls
    return _API_CODES.get(code, CredsyncError)
