"""The Ray engine: partitions go to a pool of Ray actors, one partition per actor at a time.

Each actor loads the model once (:meth:`PartitionJob.setup`) and then processes whole partitions with
:func:`~affectkit.distributed.jobs.run_unit`, which reads with the same chunked readers and calls the same
:func:`~affectkit.runner.analyze_frame` as the local engine, and writes the partition's result file atomically.
Only partition descriptors and small records travel through Ray; rows never do, so per-row read errors, column
types and undecodable bytes behave exactly as in the local engine.

The pool is plain Ray actors driven by :func:`ray.wait`, not Ray Data: the driver does nothing per row (no
blocks, no streaming executor polling on the driver's core), the actors' constructor arguments are small values
sent with the call (Ray Data passes them as object-store references, which with restartable actors makes Ray
print an error line about ``max_restarts > 0`` on every run), and a worker takes its next partition as soon as
it reports the last one. Each actor gets ``cpus_per_worker`` CPUs and as many onnxruntime and BLAS threads
(``AFFECTKIT_THREADS``; one by default), so workers do not fight over cores.

Fault tolerance comes from Ray: a dead actor is restarted (``max_restarts=-1``) and its partition retried
(``max_task_retries``); since a result file is replaced atomically and a retry writes the same content, a retry
neither loses nor duplicates rows. A partition whose worker dies on every attempt yields no record, and the
engine reports it as failed while the other partitions finish.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from affectkit.distributed.jobs import PartitionJob, Unit, run_unit
from affectkit.distributed.manifest import PartRecord
from affectkit.errors import AffectkitError

log = logging.getLogger(__name__)

LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # only descriptors and records go through it
AUTH_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"


class PartitionWorker:
    """The actor: one model per actor, one partition per :meth:`run` call."""

    def __init__(self, job: PartitionJob, work_dir: str, fmt: str, threads: int) -> None:
        # onnxruntime and BLAS would otherwise start one thread per core of the machine in every actor
        os.environ.setdefault("AFFECTKIT_THREADS", str(threads))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        from affectkit.threads import limit_blas_threads

        limit_blas_threads()
        self.job, self.work_dir, self.fmt = job, Path(work_dir), fmt
        self.state = job.setup()

    def run(self, unit: str) -> str:
        return run_unit(self.job, self.state, Unit.from_json(unit), self.work_dir, self.fmt).to_json()


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

    def __enter__(self) -> RayExecutor:
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
            # a new local Ray turns token authentication on (good: the job's private Ray is closed to other local
            # users) and prints a WARNING saying so on every run; that notice is not about this job
            logging.getLogger(AUTH_NOTICE_LOGGER).setLevel(logging.ERROR)
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

        if not units:
            return
        _, hi = self._pool_size(len(units))
        self.workers = hi
        threads = max(1, math.ceil(self.cpus_per_worker))
        actor = ray.remote(PartitionWorker).options(num_cpus=self.cpus_per_worker, max_restarts=-1,
                                                    max_task_retries=self.max_task_retries)
        # all `hi` actors are asked for: those the cluster cannot place yet wait (and an autoscaling cluster sees
        # the demand); partitions go to whichever actors are up
        pool: list[Any] = [actor.remote(job, str(work_dir), fmt, threads) for _ in range(hi)]
        try:
            yield from self._drive(pool, units)
        except (KeyboardInterrupt, AffectkitError):
            raise
        except Exception as e:  # noqa: BLE001 - the pool could not start, or Ray itself failed
            hint = (" (is affectkit installed on the Ray workers? see docs/scale-out.md)"
                    if "ModuleNotFoundError" in f"{type(e).__name__}: {e}" else "")
            raise AffectkitError(f"the Ray job failed: {type(e).__name__}: {e}{hint}; finished partitions are "
                                 "recorded in the manifest, rerun the same command to resume") from None
        finally:
            for a in pool:
                ray.kill(a, no_restart=True)

    def _drive(self, pool: list[Any], units: list[Unit]) -> Iterator[PartRecord]:
        """Give each idle actor the next partition; yield each record as it arrives. A partition whose actor died
        on every retry yields nothing (the engine records it as failed); its actor is restarted by Ray."""
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        todo, idle = deque(units), list(reversed(pool))
        running: dict[Any, tuple[Any, Unit]] = {}
        while todo or running:
            while idle and todo:
                a, unit = idle.pop(), todo.popleft()
                running[a.run.remote(unit.to_json())] = (a, unit)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                a, unit = running.pop(ref)
                idle.append(a)
                try:
                    record = ray.get(ref)
                except (ActorDiedError, ActorUnavailableError, RayActorError) as e:
                    if _actor_init_failed(e):
                        raise
                    log.warning("partition %s: its worker died on every attempt (%s)", unit.partition.key,
                                type(e).__name__)
                    continue
                yield PartRecord.from_json(record)


def _actor_init_failed(error: Exception) -> bool:
    """Whether an actor error comes from the actor's constructor (the model could not load, affectkit is missing
    on the worker ...): then every partition would fail the same way, and the job stops with that error."""
    return "creation task" in str(error)
