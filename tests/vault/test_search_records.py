"""A search's credentials are the records every other read gives: on PostgreSQL a page of
them is one statement, the tags and the directories whose password the vault does not know
read as arrays (credsync.vault.listing.credentials_in_title_order); on SQLite three."""

from __future__ import annotations

import datetime as dt
import uuid

from credsync.storage import links
from credsync.storage.links import PASSWORD_UNKNOWN, LinkCheck

from .flag_seed import add_ad_directory


def test_search_records_equal_get_with_tags_and_unknown_passwords(ctx) -> None:
    word = "q" + uuid.uuid4().hex[:10]
    tagged = ctx.add(f"{word} Zulu router", tags=["wan", "Core", "b-site"])
    unknown = ctx.add(f"{word} alpha switch", tags=["lan"])
    plain = ctx.add(f"{word} Mike printer")
    directories = [add_ad_directory(ctx.world, ctx.name, name)[0] for name in ("zeta-ad", "Beta")]
    now = dt.datetime.now(dt.UTC)
    with ctx.world.db.write() as conn:
        for n, directory_id in enumerate(directories):
            check = LinkCheck(unknown.id, f"acct-{n}", PASSWORD_UNKNOWN, "accepted", {}, new=True)
            links.record(conn, directory_id, [check], by="test", now=now)

    found = ctx.vault.credentials.search(ctx.admin, word, client_ref=ctx.name)
    everywhere = ctx.vault.credentials.search(ctx.admin, f"{word} swi")

    assert [c.title for c in found] == [unknown.title, plain.title, tagged.title]  # by title
    assert found == [ctx.vault.credentials.get(ctx.admin, c.id) for c in found]
    by_id = {c.id: c for c in found}
    assert by_id[tagged.id].tags == ("b-site", "core", "wan")
    assert by_id[unknown.id].password_unknown_in == ("Beta", "zeta-ad")
    assert by_id[plain.id].tags == ()
    assert by_id[plain.id].password_unknown_in == ()
    assert everywhere == [by_id[unknown.id]]
