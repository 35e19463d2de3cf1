"""Bulk inserts hand the driver values in the same form SQLAlchemy would."""

import datetime as dt
import io
import re

import sqlalchemy as sa

from credsync.storage.tables import credentials
from credsync.types import Secret
from credsync.vault.drafts import make_draft


def test_bulk_and_orm_rows_store_times_alike(world) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    draft = make_draft(title="One by one", password=Secret("Single-Pa55!"))
    single = world.vault.credentials.add(world.admin, world.keys, "Contoso", draft)
    csv_file = io.BytesIO(b"title,password\r\nIn bulk,Bulk-Pa55!\r\n")
    report = world.vault.csv.import_csv(world.admin, world.keys, "Contoso", csv_file)
    assert report.imported == 1
    with world.db.read() as conn:
        if world.db.is_sqlite:
            raw = conn.exec_driver_sql("SELECT title, created_at FROM credentials").all()
            shapes = {
                title: re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", text)
                for title, text in raw
            }
            assert all(shapes.values()), raw
        rows = conn.execute(
            sa.select(credentials.c.title, credentials.c.created_at).order_by(
                credentials.c.created_at
            )
        ).all()
        # Compared in SQL, the bulk row sorts after the one added before it.
        assert [r.title for r in rows] == ["One by one", "In bulk"]
        later = conn.execute(
            sa.select(sa.func.count())
            .select_from(credentials)
            .where(credentials.c.created_at > single.created_at - dt.timedelta(seconds=1))
        ).scalar_one()
        assert later == 2
