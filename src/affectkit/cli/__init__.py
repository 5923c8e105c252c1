"""The ``affectkit`` command line. Each command lives in its own module and registers on ``app``."""

from __future__ import annotations

import sys

from affectkit.cli import adapt as _adapt  # noqa: F401,E402

# importing the command modules registers their commands
from affectkit.cli import analyze as _analyze  # noqa: F401,E402
from affectkit.cli import info as _info  # noqa: F401,E402
from affectkit.cli import optional as _optional  # noqa: F401,E402
from affectkit.cli import probe as _probe  # noqa: F401,E402
from affectkit.cli import report as _report  # noqa: F401,E402
from affectkit.cli import train as _train  # noqa: F401,E402
from affectkit.cli.app import app


def main(argv: list[str] | None = None) -> int:
    """Entry point. Exit status (the table in README.md): 0 success; 1 the job failed as a whole (including: every
    row failed); 2 usage error; 3 partial failure (some input partitions failed and are listed, the rest were
    written; or more rows failed than ``--max-error-rate`` allows); 130 interrupted."""
    from affectkit.cli.console import say
    from affectkit.errors import AffectkitError
    from affectkit.interrupts import interrupts_recorded
    from affectkit.threads import limit_blas_threads

    limit_blas_threads()
    try:
        with interrupts_recorded():
            rc = app(args=argv if argv is not None else sys.argv[1:], prog_name="affectkit", standalone_mode=False)
    except AffectkitError as e:
        say(f"error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        rc = 130
    except SystemExit as e:  # typer/click usage errors
        return int(e.code or 0)
    except Exception as e:  # click exceptions carry their own exit codes
        # matched by name: typer >= 0.2x raises its vendored copy of click's classes (typer._click), not click's
        names = {c.__name__ for c in type(e).__mro__}
        if "Abort" in names:
            rc = 130
        elif "ClickException" in names:
            e.show()  # type: ignore[attr-defined]
            return e.exit_code  # type: ignore[attr-defined]
        elif "Exit" in names:
            rc = e.exit_code  # type: ignore[attr-defined]
        else:
            raise
    if rc == 130:  # Ctrl-C: typer returns 130 (without standalone mode) instead of raising KeyboardInterrupt
        say("interrupted: rerun the same command to resume")
    return rc if isinstance(rc, int) else 0
