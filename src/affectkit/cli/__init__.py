"""The ``affectkit`` command line. Each command lives in its own module and registers on ``app``."""

from __future__ import annotations

import sys

from affectkit.cli.app import app

# importing the command modules registers their commands
from affectkit.cli import analyze as _analyze  # noqa: F401,E402
from affectkit.cli import info as _info  # noqa: F401,E402
from affectkit.cli import train as _train  # noqa: F401,E402
from affectkit.cli import optional as _optional  # noqa: F401,E402


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 when the job fails as a whole, 2 on usage errors."""
    from affectkit.errors import AffectkitError

    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="affectkit", standalone_mode=False)
    except AffectkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    except SystemExit as e:  # typer/click usage errors
        return int(e.code or 0)
    except Exception as e:  # click exceptions carry their own exit codes
        import click

        if isinstance(e, click.exceptions.Abort):
            return 130
        if isinstance(e, click.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Exit):
            return e.exit_code
        raise
    return 0
