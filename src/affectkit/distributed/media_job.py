"""``affectkit analyze`` of image, audio and video files on the partitioned engine (``--engine ray``).

The job's input is the media table the CLI built (:func:`affectkit.media.cli.media_input`: a ``path`` column, or
the user's table with ``--path-col``); its units are chunks of :func:`~affectkit.media.cli.chunk_rows` rows, the
same chunks the local engine writes as resumable parts. A worker analyzes its chunk with
:func:`~affectkit.media.cli.analyze_media`, the local engine's function, and writes it with the local engine's
writer; the engine assembles the chunks in input order into the one output file, so both engines write the same
bytes. A chunk is verified on a rerun by its rows and the size and SHA-256 of each of its files
(:func:`~affectkit.media.cli.media_fingerprint`), so a rerun after an interruption or a failed chunk computes only
what is missing.

Relative paths are read from the driver's folder: a worker changes to it for its chunk when that folder exists on
its node (on a cluster, give paths on a shared file system).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from affectkit.distributed.jobs import PartitionJob, PartStats
from affectkit.distributed.partitions import OutputLayout, Partition
from affectkit.errors import InputError
from affectkit.media.cli import (
    MEDIA_BATCH,
    analyze_media,
    chunk_rows,
    chunk_starts,
    media_fingerprint,
    media_model,
)
from affectkit.reports import JobReport


@dataclass
class MediaRequest:
    """A media job's input table and layout (``run_distributed("analyze-media", ..., options=MediaRequest(...))``);
    ``options`` are the :class:`~affectkit.runner.AnalyzeOptions`."""

    frame: pd.DataFrame
    path_col: str
    segments: bool
    options: Any


@contextmanager
def _in_folder(folder: str) -> Iterator[None]:
    """Run in ``folder`` (the driver's) when it exists here; a Ray actor runs one call at a time."""
    here = os.getcwd()
    move = os.path.isdir(folder) and folder != here
    if move:
        os.chdir(folder)
    try:
        yield
    finally:
        if move:
            os.chdir(here)


class MediaJob(PartitionJob):
    """One chunk of media files per unit, into one output file."""

    command = "analyze-media"

    def __init__(self, model: str, request: MediaRequest, chunk_size: int = MEDIA_BATCH) -> None:
        spec = media_model(model)
        self.model = str(Path(spec).absolute()) if Path(spec).is_dir() else spec
        self.request = request
        self.chunk = chunk_rows(chunk_size)
        self.cwd = os.getcwd()

    def check_layout(self, layout: OutputLayout) -> None:
        if not layout.single_file:
            raise InputError("image, audio and video jobs write one file: give -o FILE (.csv, .tsv, .jsonl or "
                             ".parquet)")

    def identity(self) -> dict[str, Any]:
        """The model (loaded here, on the driver: an unknown model fails before any worker starts), the options
        and the chunking; each chunk's rows and files are its own :meth:`fingerprint`."""
        import affectkit

        r = self.request
        return {"model": affectkit.load(self.model).info(), "options": r.options.identity(), "path_col": r.path_col,
                "segments": r.segments, "chunk_size": self.chunk}

    def partitions(self, input: str | Path, fmt: str | None, exclude: Path | None) -> list[Partition]:
        frame, col = self.request.frame, self.request.path_col
        units = []
        for i, lo in enumerate(chunk_starts(len(frame), self.chunk)):
            hi = min(lo + self.chunk, len(frame))
            first = f": {frame[col].iloc[lo]}" + (" ..." if hi - lo > 1 else "") if hi > lo else ""
            units.append(Partition(f"chunk-{i:08d}", f"{input} rows {lo + 1}-{hi}{first}", ""))
        return units

    def _rows(self, partition: Partition) -> tuple[int, pd.DataFrame]:
        lo = int(partition.key.split("-")[1]) * self.chunk
        return lo, self.request.frame.iloc[lo : lo + self.chunk]

    def fingerprint(self, partition: Partition) -> dict[str, Any]:
        _, rows = self._rows(partition)
        with _in_folder(self.cwd):
            return media_fingerprint(rows, self.request.path_col)

    def setup(self) -> Any:
        import affectkit

        return affectkit.load(self.model)

    def run(self, state: Any, partition: Partition, target: Path, fmt: str) -> PartStats:
        from affectkit.tabular import write_frame

        r = self.request
        lo, rows = self._rows(partition)
        with _in_folder(self.cwd):
            out = analyze_media(rows, r.path_col, state, r.options, r.segments, offset=lo)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        write_frame(out, tmp, fmt, escape_formulas=r.options.csv_escape_formulas)
        os.replace(tmp, target)
        report = JobReport(rows=len(out))
        report.count_errors(out[r.options.prefix + "error"])
        return PartStats(report.rows, report.errors, report.error_counts)
