"""Search: credentials whose title, username, url or tags hold words starting with each word
of the query (``vault.credentials.search``, as ``credsync cred search`` and
``GET /api/v1/credentials?q=`` do), across the clients or within one, optionally with a tag,
with their checks. Bad input is an error on the search page itself (400), with the form kept.
"""

from __future__ import annotations

from fastapi import Query, Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput, NotFound
from credsync.sync.views import checks_of
from credsync.vault.models import Client, Credential
from credsync.web.forms import Form
from credsync.web.pages import page, page_router
from credsync.web.session import ViewerDep

__all__ = ["MAX_QUERY_CHARS", "MAX_RESULTS", "SearchForm", "router"]

router = page_router()

MAX_RESULTS = 100  # shown; one more is asked for, to know that the query should be narrowed
MAX_QUERY_CHARS = 512  # as the API's ``q``
MAX_TAG_CHARS = 128


class SearchForm(Form):
    """What was asked (``q``, ``client``, ``tag``), kept in the form."""

    default_field = "q"  # the search's refusals are about the words asked

    @property
    def query(self) -> str:
        return self.values["q"]

    @property
    def client_ref(self) -> str:
        return self.values["client"]

    @property
    def tag(self) -> str:
        return self.values["tag"]

    def error(self, name: str, message: str) -> None:
        super().error(name, message if message.endswith(".") else f"{message}.")


@router.get("/search")
def search(
    request: Request,
    state: State,
    viewer: ViewerDep,
    q: str | None = Query(None),
    client: str | None = Query(None),
    tag: str | None = Query(None),
) -> Response:
    """The search form, and when there is a query (``q``, even empty: then an error) its
    results, by title: at most :data:`MAX_RESULTS`, with a note to narrow the search when more
    match. Needs vault.read."""
    vault, actor = state.vault, viewer.actor
    asked = {"q": q, "client": client, "tag": tag}
    form = SearchForm({name: (value or "").strip() for name, value in asked.items()})
    if len(form.query) > MAX_QUERY_CHARS:
        form.error("q", f"the search is too long (at most {MAX_QUERY_CHARS} characters)")
        form.values["q"] = ""
    if len(form.tag) > MAX_TAG_CHARS:
        form.error("tag", f"the tag is too long (at most {MAX_TAG_CHARS} characters)")
        form.values["tag"] = ""
    shown_client: Client | None = None
    if form.client_ref:
        try:
            shown_client = vault.clients.get(actor, form.client_ref)
        except NotFound as exc:
            form.error("client", str(exc))
    found: list[Credential] = []
    if not form.errors and q is not None:
        try:
            found = vault.credentials.search(
                actor,
                form.query,
                client_ref=shown_client.id if shown_client else None,
                tag=form.tag or None,
                limit=MAX_RESULTS + 1,
            )
        except InvalidInput as exc:
            form.refused(exc)
    shown = found[:MAX_RESULTS]
    unknown_client = [name for name, _ in form.errors] == ["client"]
    return page(
        request,
        "search.html",
        viewer,
        status=(404 if unknown_client else 400) if form.errors else 200,
        title=f"Search: {form.query}" if form.query and not form.errors else "Search",
        form=form,
        client=shown_client,
        clients=vault.clients.list(actor),
        searched=q is not None and not form.errors,
        credentials=shown,
        more=len(found) > MAX_RESULTS,
        limit=MAX_RESULTS,
        checks=checks_of(vault.db, actor, [c.id for c in shown]) if shown else {},
    )
