"""Provisioning people to a directory: ``provisioning_settings`` (a target directory's
username mapping, principal name suffix, default licence and usage location, and whether
passwords come from the vault) and ``provisioned_people`` (the directory users provisioning
created or wrote to, with the person each is and the password version set there).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provisioning_settings",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("username_template", sa.String(200), nullable=False),
        sa.Column("upn_suffix", sa.String(255), nullable=False),
        sa.Column("licence", sa.String(64), nullable=False),
        sa.Column("usage_location", sa.String(2), nullable=False),
        sa.Column("passwords", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_provisioning_settings_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", name="pk_provisioning_settings"),
    )
    op.create_table(
        "provisioned_people",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("credential_id", sa.String(36)),
        sa.Column("secret_version", sa.Integer),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_provisioned_people_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", "object_id", name="pk_provisioned_people"),
    )
    op.create_index("ix_provisioned_people_person", "provisioned_people", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_provisioned_people_person", "provisioned_people")
    op.drop_table("provisioned_people")
    op.drop_table("provisioning_settings")
