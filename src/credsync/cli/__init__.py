"""The ``credsync`` command. Importing this stays cheap: subcommands load on first use."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    import click

    from credsync.cli.app import cli
    from credsync.cli.exits import exit_code_of
    from credsync.errors import CredsyncError

    try:
        # Without standalone mode click returns (not raises) the code of ``ctx.exit(code)``.
        status = cli.main(args=argv, prog_name="credsync", standalone_mode=False)
    except CredsyncError as err:
        from credsync.cli.runtime import log_failure

        log_failure(err)
        click.echo(f"credsync: error: {err}", err=True)
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
