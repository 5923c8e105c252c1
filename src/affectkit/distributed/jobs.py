"""Jobs that run partition by partition, the same way on the local engine and on Ray workers.

A :class:`PartitionJob` says what one partition's work is; the engine (:mod:`affectkit.distributed.engine`) does
the rest: finding partitions, skipping verified ones, scheduling, the manifest, assembling the output, and
reporting failures. ``analyze``, ``rank`` (:mod:`~affectkit.distributed.rank_job`) and ``eval``
(:mod:`~affectkit.distributed.eval_job`) are registered here. Another command plugs in by subclassing
:class:`PartitionJob` and calling :func:`register_job` (see ``docs/scale-out.md``)::

    class RankJob(PartitionJob):
        command = "rank"
        def setup(self): return affectkit.load(self.model)           # once per worker
        def run(self, state, partition, target): ...                 # score one partition into target
        def finish(self, parts, output, fmt): ...                    # e.g. k-way merge of sorted parts

    register_job("rank", RankJob)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from affectkit.distributed.manifest import PartRecord, count_rows, sha256_file, verify_part
from affectkit.distributed.partitions import WORK_SUFFIX, OutputLayout, Partition, find_partitions
from affectkit.errors import AffectkitError


@dataclass
class PartStats:
    """What :meth:`PartitionJob.run` reports about the partition it wrote."""

    rows: int
    errors: int = 0
    error_counts: dict[str, int] | None = None


class PartitionJob(ABC):
    """One command's work on one partition. Instances are pickled to the workers, so keep them light: load
    models in :meth:`setup`, which runs once per worker."""

    command: str = ""
    #: format of the per-partition results when the output does not say (default: the output layout's, Parquet)
    part_format: str | None = None
    #: call :meth:`finish` for a directory output too (default: only a single-file output is finished)
    finish_directory: bool = False

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """Everything that changes the results (model, options, formats). A rerun with another identity starts
        over instead of reusing results."""

    @abstractmethod
    def setup(self) -> Any:
        """Per-worker state (e.g. the loaded model), passed to every :meth:`run` call of that worker."""

    @abstractmethod
    def run(self, state: Any, partition: Partition, target: Path, fmt: str) -> PartStats:
        """Process ``partition`` into the file ``target`` in format ``fmt``, atomically (the file appears
        complete or not at all), one output row per input row, in input order."""

    def check_layout(self, layout: OutputLayout) -> None:
        """Refuse an output this job cannot write (default: a directory or one file are both fine)."""

    def fingerprint(self, partition: Partition) -> dict[str, Any]:
        """What identifies a partition's input: a rerun skips the partition only if this is unchanged (default:
        size and a SHA-256 of all its bytes, :func:`~affectkit.tabular.writers.fingerprint_file`)."""
        from affectkit.tabular.writers import fingerprint_file

        return fingerprint_file(partition.path)

    def partitions(self, input: str | Path, fmt: str | None, exclude: Path | None) -> list[Partition]:
        """The units of work (default: the files of ``input``, see
        :func:`~affectkit.distributed.partitions.find_partitions`). A job whose units are not input files (e.g.
        evaluation: one unit per task and model) returns its own, and overrides :meth:`fingerprint`."""
        return find_partitions(input, fmt, exclude=exclude)

    def finish(self, parts: list[Path], output: Path, fmt: str) -> None:
        """Combine the per-partition results into the output file (default: concatenate in partition order); with
        :attr:`finish_directory`, also called for a directory output (``output`` is then the directory)."""
        from affectkit.tabular.writers import assemble_parts

        assemble_parts(parts, output, fmt)


class AnalyzeJob(PartitionJob):
    """``affectkit analyze`` on one partition: exactly :func:`affectkit.runner.run_analyze`, the local engine's
    job loop (chunked reading, :func:`~affectkit.runner.analyze_frame` per chunk, atomic part files that let an
    interrupted partition resume), run on that partition's file."""

    command = "analyze"

    def __init__(self, model: str, options: Any, chunk_size: int = 1024) -> None:
        # a model folder given relative to the driver's cwd must resolve on the workers too
        self.model = str(Path(model).absolute()) if Path(model).is_dir() else model
        self.options = options
        self.chunk_size = chunk_size

    def identity(self) -> dict[str, Any]:
        """The same identity as the local engine's (model info, options, chunk size). Loading the model here, on
        the driver, also fails fast on an unknown model before any worker starts."""
        import affectkit
        from affectkit.tabular import CHUNK_CHARS

        return {"model": affectkit.load(self.model).info(), "options": self.options.identity(),
                "chunk_size": self.chunk_size, "chunk_chars": CHUNK_CHARS}

    def setup(self) -> Any:
        import affectkit

        return affectkit.load(self.model)

    def run(self, state: Any, partition: Partition, target: Path, fmt: str) -> PartStats:
        from affectkit.runner import run_analyze

        report = run_analyze(partition.path, target, state, self.options, fmt=partition.fmt, output_format=fmt,
                             chunk_size=self.chunk_size, resume=True, progress=False)
        return PartStats(report.rows, report.errors, report.error_counts)


@dataclass
class Unit:
    """A partition as sent to a worker: where its result goes, and the earlier run's record if there is one."""

    partition: Partition
    part: str  # result file relative to the work folder
    previous: PartRecord | None = None

    def to_json(self) -> str:
        return json.dumps({"partition": asdict(self.partition), "part": self.part,
                           "previous": asdict(self.previous) if self.previous else None}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Unit":
        d = json.loads(text)
        return cls(Partition(**d["partition"]), d["part"], PartRecord(**d["previous"]) if d["previous"] else None)


def run_unit(job: PartitionJob, state: Any, unit: Unit, work_dir: Path, fmt: str) -> PartRecord:
    """Skip ``unit`` if its earlier result still verifies, else run ``job`` on it. Never raises: a partition that
    cannot be processed comes back as a failed record with its reason, and the others go on."""
    p = unit.partition
    target = work_dir / unit.part
    t0, c0 = time.time(), time.process_time()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        fingerprint = job.fingerprint(p)
        prev = unit.previous
        if prev is not None and prev.source_fingerprint == fingerprint and prev.part == unit.part \
                and verify_part(target, fmt, prev) is None:
            prev.skipped = True
            return prev
        stats = job.run(state, p, target, fmt)
        written = count_rows(target, fmt)
        if written != stats.rows:
            raise RuntimeError(f"wrote {written} rows for {stats.rows} input rows")
        return PartRecord(p.key, "ok", p.path, fingerprint, unit.part, stats.rows, stats.errors,
                          dict(stats.error_counts or {}), sha256_file(target), target.stat().st_size,
                          round(time.time() - t0, 3), round(time.process_time() - c0, 3), worker,
                          started=round(t0, 3))
    except Exception as e:  # noqa: BLE001 - one partition's failure must not stop the others
        reason = str(e) if isinstance(e, AffectkitError) else f"{type(e).__name__}: {e}"
        # leave nothing of this partition behind: no stale result from an earlier run, no half-done chunks
        target.unlink(missing_ok=True)
        shutil.rmtree(target.with_name(target.name + WORK_SUFFIX), ignore_errors=True)
        return PartRecord(p.key, "failed", p.path, part=unit.part, seconds=round(time.time() - t0, 3),
                          cpu_seconds=round(time.process_time() - c0, 3), worker=worker, reason=reason,
                          started=round(t0, 3))
