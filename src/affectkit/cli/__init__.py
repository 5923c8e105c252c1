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
    """Entry point. Exit status: 0 success; 1 the job failed as a whole; 2 usage error; 3 the job is incomplete
    (some input partitions failed and are listed, the rest were written; rerun to retry them); 130 interrupted."""
    from affectkit.errors import AffectkitError
    from affectkit.threads import limit_blas_threads

    limit_blas_threads()
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="affectkit", standalone_mode=False)
    except AffectkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    except SystemExit as e:  # typer/click usage errors
        return int(e.code or 0)
    except Exception as e:  # click exceptions carry their own exit codes
        # matched by name: typer >= 0.2x raises its vendored copy of click's classes (typer._click), not click's
        names = {c.__name__ for c in type(e).__mro__}
        if "Abort" in names:
            return 130
        if "ClickException" in names:
            e.show()  # type: ignore[attr-defined]
            return e.exit_code  # type: ignore[attr-defined]
        if "Exit" in names:
            return e.exit_code  # type: ignore[attr-defined]
        raise
    return 0
