"""What adding or changing a directory takes, and its checks: :class:`DirectoryInput` (the
same input names at every boundary), the options every directory has, a directory's CA
certificates and options checked. A refused value raises InvalidInput with the ``field`` it
concerns. :mod:`credsync.vault.directories` uses them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credsync.connectors import registry
from credsync.connectors.kinds import Kind, OptionSpec
from credsync.errors import InvalidInput

__all__ = [
    "COMMON_INPUTS",
    "COMMON_OPTIONS",
    "MAX_CA_BYTES",
    "DirectoryInput",
    "clean_ca_pem",
    "clean_options",
    "options_of",
]

# Options every directory has, with their defaults and bounds (seconds, counts, percent); a
# kind may add its own (see its descriptor).
COMMON_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("interval", 60, 5, 86_400, "seconds between periodic runs of the agent"),
    OptionSpec("jitter", 10, 0, 3_600, "up to this many seconds added at random to each interval"),
    OptionSpec("full_pass_hours", 24, 1, 24 * 7, "an incremental run becomes a full pass after"),
    OptionSpec("push_cap", 500, 1, 1_000_000, "pushes one run may make before it stops"),
    OptionSpec(
        "push_cap_percent", 0, 0, 100, "a plan pushing over this % of the links is held (0: off)"
    ),
    OptionSpec(
        "change_cap", 500, 1, 1_000_000, "creates, disables, deletes a provisioning run may plan"
    ),
    OptionSpec(
        "change_cap_percent", 0, 0, 100, "such changes to over this % of the objects are held"
    ),
    OptionSpec("inbound_cap", 100, 0, 1_000_000, "directory changes one run takes before holding"),
    OptionSpec(
        "inbound_cap_percent", 20, 0, 100, "changes to over this % of the links are held (0: off)"
    ),
    OptionSpec(
        "min_account_ratio", 50, 0, 100, "a pass reading under this % of the last full one acts"
    ),
    OptionSpec("force_change", 0, 0, 1, "1: a pushed password must be changed at the next sign-in"),
)
MAX_CA_BYTES = 256 * 1024
COMMON_INPUTS = ("ca_pem", "insecure_skip_verify", "options")


def options_of(kind: Kind[Any]) -> tuple[OptionSpec, ...]:
    """The options a directory of ``kind`` has: every directory's, then the kind's own."""
    return COMMON_OPTIONS + kind.options


@dataclass(frozen=True)
class DirectoryInput:
    """What adding or changing a directory takes; what is None or absent is not given.
    ``settings`` by setting name, ``binds`` by bind input (``bind_credential``,
    ``certificate_credential``...); ``ca_pem=""`` removes the CA (a change)."""

    settings: Mapping[str, str | None] = field(default_factory=dict)
    binds: Mapping[str, str | None] = field(default_factory=dict)
    ca_pem: str | None = None
    insecure_skip_verify: bool | None = None
    options: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> DirectoryInput:
        """From flat input names, as every boundary has them (the API's JSON fields, the
        CLI's options, the form's fields): any kind's settings and bind inputs, ``ca_pem``,
        ``insecure_skip_verify`` and ``options``. An unknown name is refused."""
        setting_names = registry.settings().keys()
        bind_fields = registry.bind_methods().keys()
        settings: dict[str, str | None] = {}
        binds: dict[str, str | None] = {}
        for name, value in values.items():
            if name in setting_names:
                settings[name] = value
            elif name in bind_fields:
                binds[name] = value
            elif name not in COMMON_INPUTS:
                raise InvalidInput(f"{name} is not a setting of any directory kind", field=name)
        return cls(
            settings=settings,
            binds=binds,
            ca_pem=values.get("ca_pem"),
            insecure_skip_verify=values.get("insecure_skip_verify"),
            options=dict(values.get("options") or {}),
        )


def clean_ca_pem(pem: str | None) -> str | None:
    if pem is None:
        return None
    if len(pem) > MAX_CA_BYTES:
        raise InvalidInput(
            f"the CA file is too large (at most {MAX_CA_BYTES} bytes)", field="ca_pem"
        )
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise InvalidInput(
            "the CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)", field="ca_pem"
        )
    from credsync.crypto.certs import check_ca_pem

    try:
        check_ca_pem(pem)
    except InvalidInput as exc:
        raise InvalidInput(str(exc), field="ca_pem") from None
    return pem


def clean_options(
    kind: Kind[Any], given: Mapping[str, int], current: Mapping[str, int] | None = None
) -> dict[str, int]:
    specs = {o.name: o for o in options_of(kind)}
    out = dict(current or {})
    for key, value in given.items():
        spec = specs.get(key)
        if spec is None:
            known = {o.name for o in COMMON_OPTIONS} | {
                o.name for k in registry.KINDS for o in k.options
            }
            if key in known:
                raise InvalidInput(
                    f"directory option {key} is not one of {kind.display_name}'s (its options: "
                    f"{', '.join(specs)})",
                    field=f"options.{key}",
                )
            raise InvalidInput(
                f"unknown directory option {key!r} (one of: {', '.join(specs)})",
                field=f"options.{key}",
            )
        if not spec.low <= value <= spec.high:
            raise InvalidInput(
                f"directory option {key} must be between {spec.low} and {spec.high}",
                field=f"options.{key}",
            )
        out[key] = value
    return out
