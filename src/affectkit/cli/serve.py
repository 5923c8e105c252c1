from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from affectkit.cli.app import WrappingGroup, app

serve_app = typer.Typer(help="Run the REST service and web page (needs the serve extra); 'new-key' makes API keys.",
                        invoke_without_command=True, cls=WrappingGroup)
app.add_typer(serve_app, name="serve")

# long: a typer command: most of its lines are its option declarations
@serve_app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Anything but loopback requires API keys."),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="A model to serve (repeat for several; the "
                                              "first is the default). Default: default."),
    keys_file: Optional[Path] = typer.Option(None, "--keys-file", help="API key digests, one 'NAME sha256:HEX' per "
                                             "line (see 'affectkit serve new-key'). Also read: "
                                             "$AFFECTKIT_API_KEY_HASHES."),
    max_batch_size: int = typer.Option(64, "--max-batch-size", min=1, help="Texts per model call."),
    max_wait_ms: float = typer.Option(2.0, "--max-wait-ms", min=0, help="How long a text may wait for others to "
                                      "share its model call."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Model calls that may run at once in "
                                          "each process, each in its own thread. Default: 2, or 1 with --processes "
                                          "above 1 (a process per core, each with one model call at a time)."),
    processes: int = typer.Option(1, "--processes", min=1, help="Worker processes sharing the port, each with its "
                                  "own event loop and model copy (uses more cores for single-text requests; "
                                  "--threads is then per process, default: the CPU count / processes)."),
    threads: int = typer.Option(0, "--threads", min=0, help="onnxruntime runs at once, shared by the workers (sets "
                                "AFFECTKIT_THREADS). Default: the CPU count."),
    max_body_bytes: int = typer.Option(2 * 1024 * 1024, "--max-body-bytes", min=1, help="Largest request body (JSON "
                                       "or upload)."),
    max_texts: int = typer.Option(1000, "--max-texts", min=1, help="Most texts (or file rows) per request."),
    max_text_chars: int = typer.Option(20_000, "--max-text-chars", min=1, help="Longest text, in characters."),
    rate: float = typer.Option(50.0, "--rate", min=0, help="Requests per second per API key (0 = unlimited)."),
    burst: int = typer.Option(100, "--burst", min=1, help="Requests a key may send at once before --rate applies."),
    max_header_bytes: int = typer.Option(64 * 1024, "--max-header-bytes", min=1024, help="Largest request line plus "
                                         "headers; over it: 431 and the connection is closed."),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1, help="Seconds a connection (or each new "
                                         "request on it) has to send its complete headers; then it is closed (408)."),
    keep_alive: float = typer.Option(5.0, "--keep-alive", min=1, help="Seconds an idle connection stays open between "
                                     "requests."),
    max_connections: int = typer.Option(1024, "--max-connections", min=1, help="Open connections at once (cut to "
                                        "what the open-files limit allows); over it: 503 and closed at once."),
    max_connections_per_client: int = typer.Option(128, "--max-connections-per-client", min=1, help="Open "
                                                   "connections per client address (IPv6: per /64); over it: 503 and "
                                                   "closed at once."),
    cors_origin: Optional[List[str]] = typer.Option(None, "--cors-origin", help="Allow browser calls from this "
                                                    "origin (repeatable). Default: CORS off."),
    page: bool = typer.Option(True, "--page/--no-page", help="Serve the web page at /."),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log", help="Log every request."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning, error."),
) -> None:
    """Serve POST /v1/analyze, /v1/analyze/file and /v1/rank, GET /v1/models, /v1/labelsets, /healthz and
    /metrics, the OpenAPI docs at /docs, and the web page at /."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        import uvicorn

        from affectkit.serve import Limits, ServeSettings, create_app
    except ImportError as e:
        from affectkit.errors import AffectkitError

        raise AffectkitError(f"affectkit serve needs the serve extra (pip install 'affectkit[serve]'): {e}") from None
    if workers is None:  # one call per process keeps batches large when the processes already fill the cores
        workers = 1 if processes > 1 else 2
    if processes > 1 and not threads:  # the cores are shared by the processes
        threads = max(1, (os.cpu_count() or 1) // processes)
    if threads:  # otherwise the encoder's own default (AFFECTKIT_THREADS, or the CPU count): one pool per model,
        # shared by the workers, so that while one worker tokenizes or writes out, the other's batches use the cores
        os.environ["AFFECTKIT_THREADS"] = str(threads)
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(levelname)s:     %(name)s: %(message)s")
    settings = ServeSettings(
        host=host, port=port, models=list(model or ["default"]), max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms, workers=workers, api_keys_file=str(keys_file) if keys_file else None,
        limits=Limits(max_body_bytes=max_body_bytes, max_texts=max_texts, max_text_chars=max_text_chars, rate=rate,
                      burst=burst, max_header_bytes=max_header_bytes, header_timeout=header_timeout,
                      keep_alive=keep_alive, max_connections=max_connections,
                      max_connections_per_client=max_connections_per_client),
        cors_origins=list(cors_origin or []), page=page)
    if processes > 1:
        from affectkit.serve.app import check_auth_policy
        from affectkit.serve.auth import KeyStore
        from affectkit.serve.processes import run_processes

        auth = check_auth_policy(KeyStore.load(settings.api_keys_file, settings.api_keys_env), host)
        print(f"affectkit serve: http://{host}:{port}/  auth {'ON' if auth else 'OFF (no API keys; loopback only)'}"
              f"  models {', '.join(settings.models)}  {processes} processes", file=sys.stderr, flush=True)
        run_processes(settings, processes, log_level, access_log)
        return
    application = create_app(settings)
    state = "ON" if application.state.service.auth else "OFF (no API keys; loopback only)"
    print(f"affectkit serve: http://{host}:{port}/  auth {state}  models {', '.join(settings.models)}",
          file=sys.stderr, flush=True)
    from affectkit.serve.protocol import serve_options

    lim = settings.limits
    guards = serve_options(lim.max_header_bytes, lim.header_timeout, lim.keep_alive, lim.max_connections,
                           lim.max_connections_per_client)
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=access_log,
                server_header=False, date_header=False, **guards)


@serve_app.command("new-key")
def new_key(
    name: str = typer.Argument(..., help="Who the key is for (letters, digits, _.@-); shows in logs, never the key."),
    keys_file: Path = typer.Option(..., "--keys-file", help="Keys file to append the digest to (created 0600)."),
) -> None:
    """Make an API key: its SHA-256 digest goes into the keys file, the key itself is printed once."""
    from affectkit.serve.auth import add_key

    key = add_key(keys_file, name)
    print(key)
    print(f"added {name!r} to {keys_file}; the key above is not stored anywhere: keep it now", file=sys.stderr)
