"""Running a :class:`~affectkit.distributed.jobs.PartitionJob` over every partition of an input.

The driver finds the partitions, hands each one (with its earlier record, if any) to an executor, records what
comes back in the manifest, and at the end assembles a single-file output or leaves the per-partition results.
Executors only decide *where* :func:`~affectkit.distributed.jobs.run_unit` runs: in this process
(:class:`LocalExecutor`) or on a Ray actor pool (:class:`~affectkit.distributed.ray_engine.RayExecutor`), so
both engines write the same files.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from affectkit.distributed.jobs import PartitionJob, Unit, run_unit
from affectkit.distributed.manifest import Manifest, PartRecord
from affectkit.distributed.partitions import OutputLayout, Partition, check_part_names, output_layout
from affectkit.errors import AffectkitError, IncompleteJobError, InputError
from affectkit.reports import JobReport
from affectkit.tabular.writers import OutputLock

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs units and yields one record per unit, in any order."""

    name: str
    workers: int

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc: object) -> None: ...

    def run(self, job: PartitionJob, units: list[Unit], work_dir: Path, fmt: str) -> Iterable[PartRecord]: ...


class LocalExecutor:
    """Every partition in this process, one after the other."""

    name = "local"
    workers = 1

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, job: PartitionJob, units: list[Unit], work_dir: Path, fmt: str) -> Iterator[PartRecord]:
        state = job.setup()
        for unit in units:
            yield run_unit(job, state, unit, work_dir, fmt)


@dataclass
class PartitionedReport(JobReport):
    """What a partitioned job did: :class:`~affectkit.reports.JobReport` (``rows`` counts every row in the output,
    ``analysed`` only those computed in this run, not the partitions verified from an earlier run) plus its
    partitions."""

    command: str = ""
    engine: str = ""
    workers: int = 0
    partitions: int = 0
    computed: int = 0
    skipped: int = 0
    failed: list[PartRecord] = field(default_factory=list)
    output: str | None = ""
    manifest: str = ""

    @property
    def rows_computed(self) -> int:
        return self.analysed

    def add(self, rec: PartRecord) -> None:
        if not rec.ok:
            self.failed.append(rec)
            return
        self.rows += rec.rows
        self.errors += rec.errors
        self.add_error_counts(rec.error_counts)
        if rec.skipped:
            self.skipped += 1
        else:
            self.computed += 1
            self.analysed += rec.rows

    def summary(self) -> str:
        lines = [f"{self.command} ({self.engine}, {self.workers} worker(s)): {self.partitions} partition(s): "
                 f"{self.computed} computed, {self.skipped} verified from an earlier run, {len(self.failed)} failed; "
                 f"{self.rows:,} rows ({self.errors:,} with row errors); {self.rows_computed:,} rows computed in "
                 f"{self.seconds:.1f}s ({self.rows_per_second:,.0f} rows/s) -> {self.output}"]
        for reason, count in sorted(self.error_counts.items(), key=lambda kv: -kv[1])[:10]:
            lines.append(f"  {count:,} x {reason}")
        return "\n".join(lines)


def run_partitioned(job: PartitionJob, input: str | Path, output: str | Path, executor: Executor,
                    fmt: str | None = None, output_format: str | None = None, resume: bool = True,
                    progress: bool = True) -> PartitionedReport:
    """Run ``job`` on every partition of ``input`` into ``output`` (a directory, or one file assembled at the end).

    Raises :class:`~affectkit.errors.IncompleteJobError` (exit status 3) when some partitions failed, with each
    one's path and reason, after the others are written and recorded; a plain
    :class:`~affectkit.errors.AffectkitError` (exit status 1) when every partition failed.
    """
    layout = output_layout(output, output_format or job.part_format)
    job.check_layout(layout)
    with OutputLock(layout.target):  # a second job on the same output stops here, with a message
        return _run_locked(job, input, layout, executor, fmt, resume, progress)


def _run_locked(job: PartitionJob, input: str | Path, layout: OutputLayout, executor: Executor, fmt: str | None,
                resume: bool, progress: bool) -> PartitionedReport:
    partitions = job.partitions(input, fmt, exclude=layout.target)
    check_part_names(partitions, layout)
    manifest = Manifest(layout.manifest, job.command, job.identity(), layout.fmt)
    earlier = _prepare_work_dir(layout, manifest, partitions, resume)
    manifest.order = [p.key for p in partitions]
    units = [Unit(p, layout.part_name(p.key), earlier.get(p.key)) for p in partitions]
    manifest.save()
    report = PartitionedReport(command=job.command, engine=executor.name, partitions=len(units),
                               output=str(layout.target), manifest=str(layout.manifest))
    t0 = time.time()
    bar = progress_bar(len(units), progress)
    try:
        with executor:
            for rec in executor.run(job, units, layout.work_dir, layout.fmt):
                manifest.record(rec)
                report.add(rec)
                bar.set_postfix(rows=f"{report.rows:,}", failed=len(report.failed), refresh=False)
                bar.update(1)
                if not rec.ok:
                    log.error("partition %s failed: %s", rec.source, rec.reason)
                manifest.save(every=2.0)
            report.workers = executor.workers
        for unit in units:  # a unit the executor gave up on (its worker kept dying) has no record
            if unit.partition.key not in manifest.records:
                rec = PartRecord(unit.partition.key, "failed", unit.partition.path, part=unit.part,
                                 reason="no result: the worker processing it died on every attempt "
                                        "(out of memory? see the Ray logs)")
                manifest.record(rec)
                report.add(rec)
    finally:
        bar.close()
        manifest.save(complete=not report.failed and len(manifest.records) == len(units))
    report.seconds = time.time() - t0
    if not report.failed and (layout.single_file or job.finish_directory):
        job.finish([layout.part_path(p.key) for p in partitions], layout.target, layout.fmt)
    if not report.failed and layout.single_file:
        shutil.rmtree(layout.work_dir)
        report.manifest = ""
    if report.failed:
        _raise_failures(report, layout)
    return report


def _prepare_work_dir(layout: OutputLayout, manifest: Manifest, partitions: list[Partition],
                      resume: bool) -> dict[str, PartRecord]:
    """Reuse what an earlier run of the same job finished; remove results that no longer belong to this job."""
    work = layout.work_dir
    previous = Manifest.read_previous(layout.manifest)
    if work.is_dir() and previous is None and any(work.iterdir()):
        if not layout.single_file:
            raise InputError(f"output directory {work} is not empty and has no {layout.manifest.name}: "
                             "give a new or empty directory")
        shutil.rmtree(work)  # a FILE.affectkit-parts folder of another engine or an unreadable manifest
    earlier = manifest.adopt(previous) if resume else {}
    keys = {p.key for p in partitions}
    for rec in (previous or {}).get("partitions", []):
        if rec.get("key") not in earlier or rec.get("key") not in keys:
            stale = work / rec.get("part", "")
            if rec.get("part") and stale.is_file():
                stale.unlink()
    if earlier:
        log.warning("resuming: %d partition(s) finished by an earlier run are verified before being skipped",
                    sum(k in keys for k in earlier))
    return {k: r for k, r in earlier.items() if k in keys}


def _raise_failures(report: PartitionedReport, layout: OutputLayout) -> None:
    """Exit status 1 if nothing succeeded, else 3 (incomplete); the report rides along for the summary."""
    listed = "\n".join(f"  {r.source}: {r.reason}" for r in report.failed[:20])
    more = f"\n  ... and {len(report.failed) - 20} more (see {layout.manifest})" if len(report.failed) > 20 else ""
    if report.computed + report.skipped == 0:
        err: AffectkitError = AffectkitError(f"all {report.partitions} partition(s) failed:\n{listed}{more}")
    else:
        where = (f"the finished partitions are in {layout.work_dir}; {layout.target} is assembled once all are "
                 "done" if layout.single_file else f"the finished partitions are in {layout.target}")
        err = IncompleteJobError(f"{len(report.failed)} of {report.partitions} partition(s) failed:\n{listed}"
                                 f"{more}\n{where}; fix or remove the failing inputs and rerun the same command "
                                 "to finish (finished partitions are verified and skipped)")
    err.report = report  # type: ignore[attr-defined]
    raise err


def progress_bar(total: int, enabled: bool):
    from affectkit import progress

    return progress.progress_bar(total, "part", enabled, "partitions", unit_scale=False)

