"""Self-service leaves no secret behind: after a mail server with a password, an invitation,
onboarding with a chosen password and a reset by link, the bytes of the SQLite database (and its
WAL), the log records and the audit details hold none of the link tokens, the passwords or the
SMTP password, in UTF-8, UTF-16 or hex."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pytest

from credsync.sync.self_service import set_person_password
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from credsync.vault.self_service import INVITE, RESET
from sync.selfservice_world import add_person
from vault.helpers import VaultWorld

SMTP_PASSWORD = "smtp-pass-Q7"  # the MailTrap's (tests/conftest.py)


def _forms(value: str) -> list[bytes]:
    return [value.encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be")] + [
        value.encode().hex().encode()
    ]


def _token(trap: MailTrap, address: str, path: str) -> tuple[str, str]:
    [*_, mail] = trap.to(address)
    found = re.search(rf"/my/([^/]+)/{path}/([A-Za-z0-9_-]+)", mail.text)
    assert found is not None
    return found[1], found[2]


def test_no_token_or_password_on_disk_in_logs_or_in_the_audit(
    sqlite_world: VaultWorld, mail_trap_tls: MailTrap, caplog: pytest.LogCaptureFixture
) -> None:
    world, trap = sqlite_world, mail_trap_tls
    caplog.set_level(logging.DEBUG)
    world.vault.mail.set(world.admin, world.keys, {
        "host": "127.0.0.1", "port": trap.port, "security": "starttls", "ca_pem": trap.ca_pem,
        "username": "mailer", "password": Secret(SMTP_PASSWORD),
        "from_address": "vault@msp.test", "public_url": "https://vault.msp.test",
    })  # fmt: skip
    client = world.vault.clients.add(world.admin, world.keys, "Secretive")
    ada = add_person(world, client.name, accounts={}, awaiting=True)
    world.vault.self_service.invite(world.admin, world.keys, ada.username)
    trap.wait_for(1)
    client_id, invite_token = _token(trap, ada.email, "welcome")
    chosen = "Chosen-Onboarding-Pa55"
    link = world.vault.self_service.open_link(client_id, invite_token, INVITE)
    asyncio.run(set_person_password(world.vault, world.keys, ada.person_id, Secret(chosen),
                                    why="onboarding", link=link))  # fmt: skip
    world.vault.self_service.request_reset(world.keys, client_id, ada.email, address="127.0.0.1")
    trap.wait_for(2)
    _, reset_token = _token(trap, ada.email, "reset")
    reset = "Reset-By-Link-Pa55word"
    link = world.vault.self_service.open_link(client_id, reset_token, RESET)
    asyncio.run(set_person_password(world.vault, world.keys, ada.person_id, Secret(reset),
                                    why="reset", link=link))  # fmt: skip
    secrets = {"invite token": invite_token, "reset token": reset_token, "chosen": chosen,
               "reset": reset, "smtp password": SMTP_PASSWORD}  # fmt: skip
    path = Path(world.url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    audit = json.dumps([e.details for e in world.vault.audit.list(world.admin, limit=500)])
    for name, value in secrets.items():
        for form in _forms(value):
            assert form not in stored, f"the {name} is in the database's bytes"
        assert value not in logged, f"the {name} is in the logs"
        assert value not in audit, f"the {name} is in the audit"
