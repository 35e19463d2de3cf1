"""The :class:`Vault` facade: one object per database, holding every vault service."""

from __future__ import annotations

from credsync.crypto import KdfParams, KeyEncryptionKey, derive_kek
from credsync.crypto.kdf import check_passphrase_strength
from credsync.errors import AlreadyExists, StaleVersion
from credsync.storage import Database, meta, sessions
from credsync.storage import capture as capture_rows
from credsync.storage import clients as client_rows
from credsync.storage import idp_keys as idp_key_rows
from credsync.storage import mail_settings as mail_rows
from credsync.storage import operator_sign_in as sign_in_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.access import Access
from credsync.vault.audit import GENESIS_HASH, AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.auto_create import AutoCreate
from credsync.vault.backup import Backups
from credsync.vault.capture import Capture
from credsync.vault.capture_intake import CaptureIntake
from credsync.vault.clients import Clients
from credsync.vault.credentials import Credentials
from credsync.vault.csvio import CsvIO
from credsync.vault.denials import Denials
from credsync.vault.directories import Directories
from credsync.vault.federated_domains import FederatedDomains
from credsync.vault.flags import Flags
from credsync.vault.groups import Groups
from credsync.vault.identity_provider import IdentityProvider
from credsync.vault.idp_keys import IdpKeys
from credsync.vault.keyring import KeyRing, derive_and_check, read_kdf_params
from credsync.vault.mail import SEALED_AS, Mail
from credsync.vault.models import Operator
from credsync.vault.operator_groups import OperatorGroups
from credsync.vault.operator_sign_in import OperatorSignIn
from credsync.vault.operators import Operators, check_operator_password, seed_roles
from credsync.vault.people import People
from credsync.vault.person_auth import PersonAuth
from credsync.vault.person_passwords import PersonPasswords
from credsync.vault.person_sessions import PersonSessions
from credsync.vault.policies import Policies
from credsync.vault.provisioning import Provisioning
from credsync.vault.quarantine_defaults import QuarantineDefaults
from credsync.vault.relays import Relays
from credsync.vault.self_service import SelfService
from credsync.vault.websessions import WebSessions

__all__ = ["Vault"]


class Vault:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.audit = AuditLog(db)
        self.denials = Denials(db, self.audit)
        self.operators = Operators(db, self.audit)
        self.access = Access(db, self.audit, self.operators)
        self.clients = Clients(db, self.audit)
        self.backups = Backups(db, self.audit)
        self.policies = Policies(db, self.audit)
        self.credentials = Credentials(db, self.audit, self.policies)
        self.csv = CsvIO(db, self.audit, self.policies)
        self.directories = Directories(db, self.audit)
        self.auto_create = AutoCreate(db, self.audit)
        self.relays = Relays(db, self.audit)
        self.person_auth = PersonAuth(db, self.audit)
        self.person_sessions = PersonSessions(db, self.audit, self.person_auth)
        self.people = People(db, self.audit)
        self.groups = Groups(db, self.audit)
        self.provisioning = Provisioning(db, self.audit)
        self.flags = Flags(db, self.audit)
        self.mail = Mail(db, self.audit)
        self.quarantine_defaults = QuarantineDefaults(db, self.audit)
        self.person_passwords = PersonPasswords(db, self.audit)
        self.self_service = SelfService(db, self.audit, self.mail, self.person_passwords)
        self.capture = Capture(db, self.audit)
        self.capture_intake = CaptureIntake(db, self.audit, self.flags, self.auto_create)
        self.web_sessions = WebSessions(db, self.audit, self.access, self.operators)
        self.operator_sign_in = OperatorSignIn(db, self.audit, self.operators, self.access)
        self.operator_groups = OperatorGroups(db, self.audit)
        self.idp_keys = IdpKeys(db, self.audit)
        self.federated_domains = FederatedDomains(db, self.audit)
        self.identity_provider = IdentityProvider(
            db, self.audit, self.federated_domains, self.idp_keys
        )
        self.mfa = self.access.mfa
        self.security_keys = self.access.security_keys

    @classmethod
    def open(cls, db: Database) -> Vault:
        db.require_schema()
        return cls(db)

    @classmethod
    def initialise(
        cls,
        db: Database,
        *,
        passphrase: Secret,
        admin_name: str,
        admin_password: Secret,
        kdf: KdfParams | None = None,
    ) -> tuple[Vault, Operator, KeyEncryptionKey]:
        """Create the schema, the master key check, the built-in roles and the first admin."""
        check_passphrase_strength(passphrase)
        check_operator_password(admin_password)
        if cls.exists(db):
            raise AlreadyExists(f"a vault already exists in {db.safe_url}")
        db.upgrade()
        params = kdf or KdfParams.new()
        kek = derive_kek(passphrase, params)
        vault = cls(db)
        with db.write() as conn:
            if meta.exists(conn):
                raise AlreadyExists(f"a vault already exists in {db.safe_url}")
            meta.create(
                conn,
                params=params,
                kek_check=kek.make_check(),
                genesis_hash=GENESIS_HASH,
                now=utcnow(),
            )
            seed_roles(conn)
            vault.audit.append(
                conn,
                SYSTEM,
                "vault.init",
                target_type="vault",
                target_id="vault",
                details={"kdf": repr(params)},
            )
            admin = vault.operators.add_in(conn, SYSTEM, admin_name, admin_password, "admin")
        return vault, admin, kek

    @staticmethod
    def exists(db: Database) -> bool:
        """Whether ``db`` already holds an initialised vault."""
        if db.schema_revision() is None:
            return False
        with db.read() as conn:
            return meta.exists(conn)

    def unlock(self, passphrase: Secret) -> KeyEncryptionKey:
        return derive_and_check(self.db, passphrase)

    def rotate_key(
        self,
        actor: Actor,
        keys: KeyRing,
        new_passphrase: Secret,
        *,
        kdf: KdfParams | None = None,
    ) -> int:
        """Change the master passphrase: re-wrap every client's data key, and every
        directory's capture key and every identity-provider signing key, under a new key.

        Secrets are not re-encrypted (their data keys do not change). Every CLI session ends,
        since each holds the old key. Returns the number of data keys re-wrapped.
        """
        actor.require(Permission.ADMIN)
        check_passphrase_strength(new_passphrase)
        old = keys.kek()
        with self.db.read() as conn:
            current, _, _ = read_kdf_params(conn)
        params = kdf or KdfParams.new(
            time_cost=current.time_cost,
            memory_kib=current.memory_kib,
            parallelism=current.parallelism,
        )
        new = derive_kek(new_passphrase, params)
        with self.db.write() as conn:
            state = meta.key_state(conn, lock=True)
            if not old.matches_check(state.kek_check):
                raise StaleVersion("the master key was rotated meanwhile: unlock again")
            rows = client_rows.wrapped_keys(conn)
            for client_id, wrapped in rows:
                client_rows.set_wrapped_key(
                    conn, client_id, old.rewrap_data_key(client_id, wrapped, new)
                )
            capture_keys = capture_rows.wrapped_keys(conn)
            for directory_id, wrapped in capture_keys:
                capture_rows.set_wrapped_key(
                    conn, directory_id, old.rewrap_capture_key(directory_id, wrapped, new)
                )
            for provider, sealed in sign_in_rows.sealed_secrets(conn):
                sign_in_rows.set_sealed_secret(
                    conn, provider, old.rewrap_sign_in_secret(provider, sealed, new)
                )
            idp_keys = idp_key_rows.wrapped_keys(conn)
            for client_id, key_id, wrapped in idp_keys:
                idp_key_rows.set_wrapped_key(
                    conn, key_id, old.rewrap_idp_key(client_id, key_id, wrapped, new)
                )
            mail_password = mail_rows.sealed_password(conn)
            if mail_password is not None:
                mail_rows.set_sealed_password(
                    conn, old.rewrap_sign_in_secret(SEALED_AS, mail_password, new)
                )
            meta.set_key(
                conn,
                params=params,
                kek_check=new.make_check(),
                key_generation=state.key_generation + 1,
                rotated_at=utcnow(),
            )
            ended = sessions.end_all_cli(conn)
            self.audit.append(
                conn,
                actor,
                "key.rotate",
                target_type="vault",
                target_id="vault",
                details={
                    "data_keys": len(rows),
                    "capture_keys": len(capture_keys),
                    "idp_keys": len(idp_keys),
                    "sessions_ended": ended,
                    "key_generation": state.key_generation + 1,
                    "kdf": repr(params),
                },
            )
        keys.forget()
        return len(rows)
