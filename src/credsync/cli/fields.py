"""Which of a command's flags an input field is, for the line that reports a bad input.

A service names the input a refusal concerns in its own terms (``InvalidInput.field``:
``"tenant_id"``, ``"options.push_cap"``), never a flag; the CLI says which flag that is::

    credsync: error: tenant id 'x' must be a GUID or a domain name (--tenant-id)

By default a field is the command's parameter of the same name (click names the parameter of
``--tenant-id`` ``tenant_id``; ``type_`` is ``type`` too), else of its last dotted part
(``options.push_cap`` is ``--push-cap``); a list is a flag given once per item, named in the
singular (``tags`` is ``--tag``); a secret, which the CLI never takes as a flag's value, is the
flag that reads it (``password`` is ``--password-stdin``, or ``--password-file`` when that was
given; ``notes`` read by ``--notes-stdin`` or ``--notes-file`` is that flag, not ``--notes``);
an argument is shown by its metavar (``QUERY``). A command whose flag is named otherwise says
so with :func:`flag_names`::

    @directory_group.command("add")
    @click.option("--client-id", ...)
    @flag_names(app_id="--client-id")
    def directory_add(...): ...

(an option can also be given the field's name as its parameter name:
``@click.option("--client-id", "app_id")``). A field the command has no flag for is left out:
the line is the service's message alone, as for an error that names no field.

Against a server the fields come back in the answer's ``details`` (``cli.remote``) under the
API's names, which are the service's but where a route renames one (``api.errors.field_names``:
``POST /clients/{client}/folders`` answers a bad ``folder`` as its body's ``path``); a command
that should name such a field the same way locally and remotely declares both names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import click

from credsync.errors import CredsyncError, DuplicateCredential, InvalidInput

__all__ = ["describe", "flag_names", "flag_of", "flags_of"]

_ATTRIBUTE = "__credsync_flag_names__"
F = TypeVar("F", bound=Callable[..., Any])


def flag_names(**names: str) -> Callable[[F], F]:
    """Declare the flags of fields whose names differ from the command's parameters
    (``app_id="--client-id"``). Goes on the command's function, above or below
    ``@click.command``."""
    for field, flag in names.items():
        if not flag:
            raise ValueError(f"flag_names: no flag given for {field!r}")

    def declare(target: F) -> F:
        function = target.callback if isinstance(target, click.Command) else target
        if function is None:  # pragma: no cover - a command always has a callback here
            raise TypeError("flag_names goes on a command with a callback")
        setattr(function, _ATTRIBUTE, {**getattr(function, _ATTRIBUTE, {}), **names})
        return target

    return declare


def _declared(command: click.Command) -> Mapping[str, str]:
    declared = getattr(command.callback, _ATTRIBUTE, None)
    return declared if isinstance(declared, dict) else {}


def _shown(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        long = [opt for opt in param.opts if opt.startswith("--")]
        return (long or param.opts)[0]
    return param.human_readable_name


def flag_of(ctx: click.Context, field: str) -> str | None:
    """The flag (or argument) of the context's command that is ``field``, None when it has
    none. Of a secret's flags, the one given on this command line."""
    command = ctx.command
    declared = _declared(command)
    if field in declared:
        return declared[field]
    by_name = {param.name: param for param in command.params if param.name}
    last = field.rsplit(".", 1)[-1]
    readers = [by_name[n] for n in (f"{last}_stdin", f"{last}_file") if n in by_name]
    given = [param for param in readers if ctx.params.get(param.name or "")]
    if given:  # the notes read by --notes-stdin, not the --notes that was not given
        return _shown(given[0])
    for name in (field.replace(".", "_"), last, f"{last}_"):
        if name in by_name:
            return _shown(by_name[name])
    single = by_name.get(last.removesuffix("s"))
    if isinstance(single, click.Option) and single.multiple:
        return _shown(single)
    return _shown(readers[0]) if readers else None


def flags_of(ctx: click.Context, fields: Iterable[str]) -> list[str]:
    """The flags of ``fields`` that the context's command has, in order, each once."""
    found = (flag_of(ctx, field) for field in fields)
    return list(dict.fromkeys(flag for flag in found if flag))


def _names(message: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", message) is not None


def describe(err: CredsyncError, ctx: click.Context | None) -> str:
    """The error's message, followed by the flags it concerns when the command (``ctx``: the
    context it ran in) has them and the message does not name them already."""
    message = str(err)
    fields = err.fields if isinstance(err, InvalidInput | DuplicateCredential) else ()
    if ctx is None or not fields:
        return message
    flags = [flag for flag in flags_of(ctx, fields) if not _names(message, flag)]
    return f"{message} ({', '.join(flags)})" if flags else message
