"""schemathesis over the OpenAPI document: requests generated from every operation's schema
(valid and invalid) against the app in-process, signed in as admin over a vault with a
client and a credential. No answer may be a 5xx, and every answer must match the document
(status codes declared, bodies valid against their schema, the error shape).

Left out: schemathesis's "schema-valid request rejected" check. The document states types and
lengths; the vault also refuses what a schema can't say (a name with a control character, a
name already taken, a password the policy refuses) with a 4xx, which is right.

(schemathesis's own pytest plugin does not run under this pytest, so each operation's
strategy is driven by Hypothesis directly.)"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from vault.helpers import make_world

EXAMPLES = 12  # per operation: enough to reach every status path, quick enough for CI


def test_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    world = make_world(f"sqlite:///{tmp_path / 'vault.db'}")
    try:
        world.vault.clients.add(world.admin, world.keys, "Contoso")
        world.vault.credentials.add(
            world.admin,
            world.keys,
            "Contoso",
            make_draft(title="Domain admin", username="admin", password=Secret("Pa55-word-1!")),
        )
        _, token = world.vault.access.create_token(world.admin, "fuzz")
        headers = {"Authorization": f"Bearer {token.reveal()}"}
        app = create_app(ServerState(world.vault, world.keys))
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except (AssertionError, BaseExceptionGroup) as err:  # reported together below
                failures.append(f"{operation.label}: {str(err)[:1500]}")
        assert not failures, "\n\n".join(failures)
    finally:
        world.db.dispose()
