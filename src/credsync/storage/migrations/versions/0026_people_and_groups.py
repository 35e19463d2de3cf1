"""People and groups per client (issue 16): ``people`` (identity attributes, primary login
credential, the directory that is the source of truth of some attributes), ``person_accounts``
(a person's account in one of the client's directories), ``groups``, ``group_members``
(people and groups), ``group_objects`` (a group's object in a directory) and the word index
of both (``people_terms``, ``group_terms``).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(36)
_TERM = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("deleted_at", _TS),
        sa.Column("deleted_by", sa.String(64)),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("given_name", sa.String(64), nullable=False),
        sa.Column("surname", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("display_key", sa.String(256), nullable=False),
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("username_key", sa.String(320), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("usage_location", sa.String(2), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("job_title", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("credential_id", _ID),
        sa.Column("source_directory_id", _ID),
        sa.Column("sourced", sa.String(200), nullable=False),
        *_audit_columns(),
        _fk("people", "client_id", "clients"),
        _fk("people", "credential_id", "credentials"),
        _fk("people", "source_directory_id", "directories"),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("client_id", "username_key", name="uq_people_client_id_username_key"),
    )
    op.create_index("ix_people_client_display", "people", ["client_id", "display_key", "id"])
    op.create_index("ix_people_credential_id", "people", ["credential_id"])
    op.create_table(
        "person_accounts",
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=False),
        _fk("person_accounts", "person_id", "people"),
        _fk("person_accounts", "directory_id", "directories"),
        sa.PrimaryKeyConstraint("person_id", "directory_id", name="pk_person_accounts"),
        sa.UniqueConstraint(
            "directory_id", "object_id", name="uq_person_accounts_directory_id_object_id"
        ),
    )
    op.create_table(
        "groups",
        sa.Column("id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("description", sa.String(1024), nullable=False),
        sa.Column("source_directory_id", _ID),
        sa.Column("sourced", sa.String(200), nullable=False),
        *_audit_columns(),
        _fk("groups", "client_id", "clients"),
        _fk("groups", "source_directory_id", "directories"),
        sa.PrimaryKeyConstraint("id", name="pk_groups"),
    )
    op.create_index("ix_groups_client_name", "groups", ["client_id", "name_key", "id"])
    op.create_table(
        "group_members",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("member_type", sa.String(8), nullable=False),
        sa.Column("added_at", _TS, nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        _fk("group_members", "group_id", "groups"),
        sa.PrimaryKeyConstraint("group_id", "member_id", name="pk_group_members"),
    )
    op.create_index("ix_group_members_member_id", "group_members", ["member_id", "group_id"])
    op.create_table(
        "group_objects",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=False),
        _fk("group_objects", "group_id", "groups"),
        _fk("group_objects", "directory_id", "directories"),
        sa.PrimaryKeyConstraint("group_id", "directory_id", name="pk_group_objects"),
        sa.UniqueConstraint(
            "directory_id", "object_id", name="uq_group_objects_directory_id_object_id"
        ),
    )
    for table, owner, target in (
        ("people_terms", "person_id", "people"),
        ("group_terms", "group_id", "groups"),
    ):
        op.create_table(
            table,
            sa.Column("client_id", _ID, nullable=False),
            sa.Column("term", _TERM, nullable=False),
            sa.Column(owner, _ID, nullable=False),
            _fk(table, owner, target),
            sa.PrimaryKeyConstraint("client_id", "term", owner, name=f"pk_{table}"),
            sqlite_with_rowid=False,
        )
    op.create_index("ix_people_terms_person", "people_terms", ["person_id", "term"])
    op.create_index("ix_group_terms_group", "group_terms", ["group_id", "term"])


def downgrade() -> None:
    op.drop_index("ix_group_terms_group", "group_terms")
    op.drop_index("ix_people_terms_person", "people_terms")
    op.drop_table("group_terms")
    op.drop_table("people_terms")
    op.drop_table("group_objects")
    op.drop_index("ix_group_members_member_id", "group_members")
    op.drop_table("group_members")
    op.drop_index("ix_groups_client_name", "groups")
    op.drop_table("groups")
    op.drop_table("person_accounts")
    op.drop_index("ix_people_credential_id", "people")
    op.drop_index("ix_people_client_display", "people")
    op.drop_table("people")
