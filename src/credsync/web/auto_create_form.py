"""The auto-create form of a directory's page: its fields as the settings are (the routes
are :mod:`credsync.web.routes.auto_create`)."""

from __future__ import annotations

from credsync.vault.auto_create_settings import AutoCreateSettings
from credsync.web.forms import Form

__all__ = ["AutoCreateForm", "form_of"]


class AutoCreateForm(Form):
    """The form's fields are the settings' JSON names (``ous`` and ``groups`` one DN a line,
    ``tags`` comma separated), so a refusal lands on its own field."""


def form_of(settings: AutoCreateSettings) -> AutoCreateForm:
    """The form's fields as the settings are."""
    return AutoCreateForm(
        {
            "enabled": "on" if settings.enabled else "",
            "trigger": settings.trigger,
            "ous": "\n".join(settings.ous),
            "groups": "\n".join(settings.groups),
            "include_disabled": "on" if settings.include_disabled else "",
            "name_filter": settings.name_filter or "",
            "folder": settings.folder or "",
            "title": settings.title,
            "tags": ", ".join(settings.tags),
            "sync_mode": settings.sync_mode.value if settings.sync_mode else "",
            "max_per_run": str(settings.max_per_run),
            "version": str(settings.version),
        }
    )
