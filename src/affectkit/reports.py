"""One report type for jobs (analyze, rank, partitioned runs): rows written, rows with an error (by reason),
rows computed in this run, seconds and the output. Each job's report extends :class:`JobReport` with what only
that job has (resumed chunks, partitions, a spilled sort)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass
class JobReport:
    """A job's totals. ``rows`` and ``errors`` count every row of the output (rows an earlier run finished and
    this one resumed included); ``analysed`` counts the rows this run computed, and the speed is over those."""

    rows: int = 0
    errors: int = 0
    analysed: int = 0
    seconds: float = 0.0
    output: str | None = None
    error_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.analysed / self.seconds if self.seconds else 0.0

    def count_errors(self, errors: Iterable[Any]) -> None:
        """Count the non-empty error cells of some rows, by reason (the text before the first ``:``)."""
        for e in errors:
            if e is None or (isinstance(e, float) and math.isnan(e)) or type(e).__name__ in ("NAType", "NaTType"):
                continue
            if isinstance(e, str) and not e:
                continue
            self.errors += 1
            key = str(e).split(":")[0]
            self.error_counts[key] = self.error_counts.get(key, 0) + 1

    def add_error_counts(self, counts: dict[str, int]) -> None:
        """Merge error counts by reason from another report (a partition's)."""
        for reason, n in counts.items():
            self.error_counts[reason] = self.error_counts.get(reason, 0) + n
