"""The options that choose where a command runs (``--engine local|ray`` and Ray's settings), shared by
``analyze``, ``rank`` and ``eval``. See ``docs/scale-out.md``."""

from __future__ import annotations

from typing import Any

import typer


def engine_option(ray_help: str = "Ray Data actor pool") -> Any:
    return typer.Option("local", "--engine", help=f"local (this process), or ray ({ray_help}; see docs/scale-out.md).")


def ray_address_option() -> Any:
    return typer.Option(None, "--ray-address", help="Ray cluster: auto, HOST:PORT or ray://HOST:10001. Default: "
                        "start a local Ray for this job.")


def workers_option() -> Any:
    return typer.Option(None, "--workers", help="Ray actors: N, or MIN-MAX to autoscale. Default: as many as the "
                        "cluster's CPUs allow.")


def cpus_per_worker_option() -> Any:
    return typer.Option(1.0, "--cpus-per-worker", min=0.01, help="CPUs per Ray actor (also its onnxruntime threads).")


def ray_runtime_env_option() -> Any:
    return typer.Option(None, "--ray-runtime-env", help="Ray runtime_env as inline JSON or a JSON/YAML file (e.g. "
                        "to install affectkit on workers, or set AFFECTKIT_DATA for them).")


def check_engine(engine: str) -> None:
    from affectkit.distributed import ENGINES

    if engine not in ENGINES:
        raise typer.BadParameter(f"choose one of {', '.join(ENGINES)}", param_hint="--engine")


__all__ = ["engine_option", "ray_address_option", "workers_option", "cpus_per_worker_option",
           "ray_runtime_env_option", "check_engine"]
