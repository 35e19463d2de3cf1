"""The dashboard's forms put a service's refusal on the field it concerns: the form's own name
for the service's field (``Form.field_names``, else the same name), never guessed from words of
the message."""

from __future__ import annotations

from types import MappingProxyType

from credsync.errors import Conflict, InvalidInput, NotFound
from credsync.web.forms import Form


class _FolderForm(Form):
    field_names = MappingProxyType({"folder": "new_folder"})


def test_a_refusal_goes_on_the_field_it_concerns() -> None:
    form = _FolderForm({})
    form.refused(InvalidInput("folder path must name at least one folder", field="folder"))
    form.refused(InvalidInput("title must not be empty", field="title"))
    form.refused(InvalidInput("give one", field=("directory_sync", "default_sync_mode")))
    assert form.errors == [
        ("new_folder", "Folder path must name at least one folder"),
        ("title", "Title must not be empty"),
        ("directory_sync", "Give one"),
    ]


class _SearchForm(Form):
    default_field = "q"


def test_a_refusal_about_no_field_goes_on_the_default() -> None:
    form = Form({})
    # words that once decided the field ("title", "password") no longer do
    form.refused(InvalidInput("the title and the password of 'x' clash"))
    form.refused(Conflict("the credential changed since version 1"))
    assert form.errors == [
        ("", "The title and the password of 'x' clash"),
        ("", "The credential changed since version 1"),
    ]
    assert Form.field_names == {}
    search = _SearchForm({})
    search.refused(NotFound("no client named 'x'"))
    search.refused(InvalidInput("bad", field="tag"))
    assert search.errors == [("q", "No client named 'x'"), ("tag", "Bad")]
