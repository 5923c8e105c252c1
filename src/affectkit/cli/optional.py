"""Commands whose implementation lives in optional subpackages register here when those import."""

from __future__ import annotations

import importlib

for _mod in ("affectkit.cli.rank", "affectkit.cli.evaluate", "affectkit.cli.serve"):
    try:
        importlib.import_module(_mod)
    except ModuleNotFoundError as e:  # the subpackage is not there (yet)
        if e.name != _mod:
            raise
