"""Auto-create: a directory's settings (read, change) and the dry run listing what it would
make now. The rules are :mod:`credsync.vault.auto_create`'s; the dry run reads the directory
(:mod:`credsync.sync.auto_create`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.sync.auto_create import AutoCreatePreview, AutoCreatePreviewJson, preview
from credsync.vault.auto_create_settings import AutoCreateJson, Trigger

router = api_router(prefix="/directories", tags=["directories"])


class AutoCreateIn(BaseModel):
    """Only the fields given change; ``null`` clears name_filter, folder and sync_mode.
    ``version``: refuse (409) if the settings changed since it was read."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    ous: list[str] | None = Field(
        default=None, max_length=50, description="OU DNs whose subtrees are in scope (none: all)."
    )
    groups: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Group DNs; their members are in scope, nested membership included.",
    )
    include_disabled: bool | None = None
    name_filter: str | None = Field(
        default=None, max_length=255, description="A glob on the account's name or UPN."
    )
    folder: str | None = Field(default=None, max_length=500)
    title: str | None = Field(
        default=None,
        max_length=255,
        description="Placeholders: {displayName}, {sAMAccountName}, {username}, "
        "{userPrincipalName}, {domain}.",
    )
    tags: list[str] | None = Field(default=None, max_length=50)
    sync_mode: str | None = Field(
        default=None, description="report, enforce or two_way (null: the client's default)."
    )
    trigger: Trigger | None = None
    max_per_run: int | None = None
    version: int | None = None


@router.get("/{ref}/auto-create", response_model=AutoCreateJson)
def get_auto_create(ref: str, actor: Caller, state: State) -> AutoCreateJson:
    """The directory's auto-create settings (needs vault.read); version 0: never saved."""
    directory, settings = state.vault.auto_create.get(actor, ref)
    return settings.to_json(directory.name)


@router.patch("/{ref}/auto-create", response_model=AutoCreateJson)
def change_auto_create(ref: str, body: AutoCreateIn, actor: Caller, state: State) -> AutoCreateJson:
    """Change the directory's auto-create settings (needs directory.setup: the credentials it
    makes may be pushed). A bad value is a 400 naming the field; turning it on for a kind
    that can't select accounts by scope is refused."""
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    directory, settings = state.vault.auto_create.update(
        actor, ref, given, expected_version=body.version
    )
    return settings.to_json(directory.name)


@router.post("/{ref}/auto-create/dry-run", response_model=AutoCreatePreviewJson)
def dry_run_auto_create(ref: str, actor: Caller, state: State) -> AutoCreatePreviewJson:
    """What auto-create would make now (the accounts, titles and folder), nothing stored;
    it reads the directory (needs directory.setup and directory_admin.use)."""

    async def shown() -> AutoCreatePreview:
        return await preview(state.vault, state.keys, actor, ref)

    return run_coroutine(shown).to_json()
