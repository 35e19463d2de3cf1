"""The vault as an identity provider (issue 17): ``idp_signing_keys`` (each client's
token-signing keys: the private key sealed by the master key, the certificate, its state:
current, next or retired), ``federated_domains`` (a client's Office 365 domains federated to
the vault), ``federation_identities`` (who may sign in through a domain: a person and their
Entra user's immutable id and UPN) and ``idp_requests`` (sign-in requests waiting for the
person to sign in: one-time, short-lived).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idp_signing_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("cert_der", sa.LargeBinary, nullable=False),
        sa.Column("thumbprint", sa.String(64), nullable=False),
        sa.Column("not_before", _TS, nullable=False),
        sa.Column("not_after", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("rotated_at", _TS),
        sa.Column("rotated_by", sa.String(64)),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_idp_signing_keys_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idp_signing_keys"),
    )
    op.create_index("ix_idp_signing_keys_client_id", "idp_signing_keys", ["client_id"])
    op.create_table(
        "federated_domains",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("login_url", sa.String(500), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("mfa_behavior", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("config_id", sa.String(64)),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_federated_domains_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("domain", name="pk_federated_domains"),
    )
    op.create_index("ix_federated_domains_client_id", "federated_domains", ["client_id"])
    op.create_table(
        "federation_identities",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("immutable_id", sa.String(64), nullable=False),
        sa.Column("upn", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["federated_domains.domain"],
            name="fk_federation_identities_domain_federated_domains",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_federation_identities_person_id_people"
        ),
        sa.PrimaryKeyConstraint("domain", "person_id", name="pk_federation_identities"),
        sa.UniqueConstraint(
            "domain", "immutable_id", name="uq_federation_identities_domain_immutable_id"
        ),
    )
    op.create_table(
        "idp_requests",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(256)),
        sa.Column("relay_state", sa.Text),
        sa.Column("force_authn", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idp_requests"),
    )
    op.create_index("ix_idp_requests_expires_at", "idp_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idp_requests_expires_at", table_name="idp_requests")
    op.drop_table("idp_requests")
    op.drop_table("federation_identities")
    op.drop_index("ix_federated_domains_client_id", table_name="federated_domains")
    op.drop_table("federated_domains")
    op.drop_index("ix_idp_signing_keys_client_id", table_name="idp_signing_keys")
    op.drop_table("idp_signing_keys")
