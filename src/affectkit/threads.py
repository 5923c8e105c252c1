"""Thread settings for processes that affectkit runs (the CLI and the service), and what the CPU offers."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

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


INT8_INSTRUCTIONS = {"avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI", "amx_int8": "AMX-INT8",
                     "asimddp": "dot product"}  # /proc/cpuinfo flag -> name


def cpu_description() -> str:
    """The CPU's model name, core count and int8 dot-product instructions, for benchmark reports.

    The int8 encoder of ``default`` runs about twice as fast as float32 where the CPU has VNNI (or ARM's dot
    product instructions), and at about float32 speed where it has AVX2 only, so its figures need this.
    """
    name, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                name = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    found = [label for flag, label in INT8_INSTRUCTIONS.items() if flag in flags]
    return f"{name}, {os.cpu_count()} CPUs, int8 dot products: {', '.join(found) or 'none found'}"
