"""The Ray engine: partitions go through Ray Data ``map_batches`` on an actor pool.

Each actor loads the model once (:meth:`PartitionJob.setup`) and then processes whole partitions with
:func:`~affectkit.distributed.jobs.run_unit`, which reads with the same chunked readers and calls the same
:func:`~affectkit.runner.analyze_frame` as the local engine, and writes the partition's result file atomically.
Only partition descriptors and small records travel through Ray; rows never do, so per-row read errors, column
types and undecodable bytes behave exactly as in the local engine.

Fault tolerance comes from Ray: a dead actor is restarted (``max_restarts=-1``) and its partition retried
(``max_task_retries``); since a result file is replaced atomically and a retry writes the same content, a retry
neither loses nor duplicates rows. A partition whose worker dies on every attempt is reported as failed
(``DataContext.max_errored_blocks=-1`` lets the other partitions finish).
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any, Iterator

from affectkit.distributed.jobs import PartitionJob, Unit, run_unit
from affectkit.distributed.manifest import PartRecord
from affectkit.errors import AffectkitError

LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # only descriptors and records go through it


class PartitionWorker:
    """The callable class Ray Data runs on each actor: one model per actor, one partition per call."""

    def __init__(self, job: PartitionJob, work_dir: str, fmt: str, threads: int) -> None:
        # onnxruntime would otherwise start one thread per core of the machine in every actor
        os.environ.setdefault("AFFECTKIT_THREADS", str(threads))
        self.job, self.work_dir, self.fmt = job, Path(work_dir), fmt
        self.state = job.setup()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        return {"record": [run_unit(self.job, self.state, Unit.from_json(str(u)), self.work_dir, self.fmt).to_json()
                           for u in batch["unit"]]}


def _quiet_ray_data(quiet: bool) -> None:
    """Ray Data's INFO lines and its notice about disabled progress bars are noise next to our progress bar."""
    from ray.util.debug import log_once

    logging.getLogger("ray.data").setLevel(logging.ERROR if quiet else logging.WARNING)
    log_once("ray_data_progress_manager_disabled")  # marks Ray Data's one-time notice as already shown


def parse_workers(spec: str | int | None) -> tuple[int, int] | None:
    """``"4"`` -> ``(4, 4)`` (a fixed pool); ``"2-8"`` -> ``(2, 8)`` (Ray Data autoscales between the two)."""
    if spec is None or spec == "":
        return None
    text = str(spec)
    try:
        lo, _, hi = text.partition("-")
        pair = (int(lo), int(hi or lo))
    except ValueError:
        raise AffectkitError(f"--workers takes N or MIN-MAX, not {text!r}") from None
    if pair[0] < 1 or pair[1] < pair[0]:
        raise AffectkitError(f"--workers {text}: need 1 <= MIN <= MAX")
    return pair


class RayExecutor:
    """Connects to Ray (``address``: ``auto``, ``HOST:PORT`` or ``ray://HOST:10001``; ``None`` starts a local Ray
    for the job) and runs units on an actor pool of ``workers`` actors with ``cpus_per_worker`` CPUs each
    (default: as many as the cluster's CPUs allow)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: str | int | tuple[int, int] | None = None,
                 cpus_per_worker: float = 1.0, runtime_env: dict[str, Any] | None = None,
                 max_task_retries: int = 3, quiet: bool = False) -> None:
        self.address = address
        self.pool = workers if isinstance(workers, tuple) else parse_workers(workers)
        self.cpus_per_worker = cpus_per_worker
        self.runtime_env = runtime_env
        self.max_task_retries = max_task_retries
        self.quiet = quiet
        self.workers = 0
        self._started = False

    def __enter__(self) -> "RayExecutor":
        try:
            import ray
        except ImportError:
            raise AffectkitError("--engine ray needs Ray: pip install 'affectkit[ray]'") from None
        if ray.is_initialized():
            return self  # the caller's Ray session; leave it running
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR if self.quiet else logging.WARNING,
                                  "log_to_driver": not self.quiet}
        if self.runtime_env:
            kwargs["runtime_env"] = self.runtime_env
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs.update(address="local", include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
        try:
            ray.init(**kwargs)
        except Exception as e:  # ConnectionError, RuntimeError, ValueError, auth errors ...
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
            raise AffectkitError(f"cannot start or reach {where}: {type(e).__name__}: {e}") from None
        self._started = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def _pool_size(self, n_units: int) -> tuple[int, int]:
        import ray

        if self.pool is None:
            cpus = ray.cluster_resources().get("CPU", 1.0)
            n = max(1, int(cpus // self.cpus_per_worker))
            return min(n, n_units), min(n, n_units)
        lo, hi = self.pool
        hi = min(hi, n_units)
        return min(lo, hi), hi

    def run(self, job: PartitionJob, units: list[Unit], work_dir: Path, fmt: str) -> Iterator[PartRecord]:
        import ray
        from ray.data import ActorPoolStrategy

        if not units:
            return
        lo, hi = self._pool_size(len(units))
        self.workers = hi
        ds = ray.data.from_items([{"unit": u.to_json()} for u in units], override_num_blocks=len(units))
        _quiet_ray_data(self.quiet)
        ctx = ds.context
        ctx.enable_progress_bars = False  # the driver shows its own progress, per partition
        ctx.print_on_execution_start = False
        ctx.max_errored_blocks = -1  # a partition that kills its worker on every retry must not stop the others
        compute = (ActorPoolStrategy(size=hi, max_tasks_in_flight_per_actor=1) if lo == hi else
                   ActorPoolStrategy(min_size=lo, max_size=hi, max_tasks_in_flight_per_actor=1))
        kwargs = dict(batch_size=1, batch_format="numpy", compute=compute, num_cpus=self.cpus_per_worker,
                      fn_constructor_kwargs={"job": job, "work_dir": str(work_dir), "fmt": fmt,
                                             "threads": max(1, math.ceil(self.cpus_per_worker))})
        with warnings.catch_warnings():
            # bounded retries are still passed as plain remote args (deprecated in Ray 2.60, with no named
            # replacement); where a later Ray refuses them, its default (retry forever) applies
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                results = ds.map_batches(PartitionWorker, **kwargs, max_restarts=-1,
                                         max_task_retries=self.max_task_retries)
            except TypeError:
                results = ds.map_batches(PartitionWorker, **kwargs)
        try:
            for row in results.iter_rows():
                yield PartRecord.from_json(row["record"])
        except (KeyboardInterrupt, AffectkitError):
            raise
        except Exception as e:  # the pool could not start, or Ray itself failed
            hint = (" (is affectkit installed on the Ray workers? see docs/scale-out.md)"
                    if "ModuleNotFoundError" in f"{type(e).__name__}: {e}" else "")
            raise AffectkitError(f"the Ray job failed: {type(e).__name__}: {e}{hint}; finished partitions are "
                                 "recorded in the manifest, rerun the same command to resume") from None
