"""The ``credsync`` command. Importing this stays cheap: subcommands load on first use."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    import click

    from credsync.cli.app import cli
    from credsync.cli.exits import exit_code_of
    from credsync.errors import CredsyncError, PermissionDenied

    shared: dict[str, Any] = {}  # the root context's obj: the runtime, the command's context
    try:
        # Without standalone mode click returns (not raises) the code of ``ctx.exit(code)``.
        status = cli.main(args=argv, prog_name="credsync", standalone_mode=False, obj=shared)
    except CredsyncError as err:
        from credsync.cli.fields import describe
        from credsync.cli.runtime import log_failure, record_denial

        log_failure(err)
        if isinstance(err, PermissionDenied):
            record_denial(shared, err)
        ran = shared.get("command")
        line = describe(err, ran if isinstance(ran, click.Context) else None)
        click.echo(f"credsync: error: {line}", err=True)
        return exit_code_of(err)
    except click.exceptions.Abort:
        click.echo("credsync: aborted", err=True)
        return 130
    except click.ClickException as err:
        message = " ".join(err.format_message().split())
        if isinstance(err, click.UsageError) and err.ctx is not None:
            message += f" (see '{err.ctx.command_path} --help')"
        click.echo(f"credsync: error: {message}", err=True)
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except KeyboardInterrupt:
        click.echo("credsync: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
