"""Thread settings for processes that affectkit runs (the CLI and the service)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def limit_blas_threads() -> None:
    """Give numpy's BLAS one thread.

    OpenBLAS threads busy-wait after every matrix product. affectkit's products are small (text vectors times a
    head) and its encoders run their own threads, so extra BLAS threads only spin on the cores the encoder needs:
    with them, batches of a dozen texts (the service's micro-batches) cost twice the CPU per text (7.8 instead of
    3.9 ms with `default` on 2 cores). Called by ``affectkit`` commands and the service at start; a Python user who
    calls models on small batches can do the same (``threadpoolctl.threadpool_limits(1, "blas")``).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency; absent only in odd installs
        log.debug("threadpoolctl is not installed; BLAS keeps its threads")
        return
    threadpool_limits(1, user_api="blas")
