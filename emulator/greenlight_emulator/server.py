"""Runs moto in-process, with the greenlight extension, behind our middleware."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

DEFAULT_PORT = 4566
READY_LINE = "greenlight emulator listening on http://{host}:{port}"


def build_app() -> Any:
    """The WSGI application: our middleware around moto's dispatcher."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .codedeploy import api as codedeploy_ext
    from .ecr import api as ecr_ext
    from .ecs import ext as ecs_ext
    from .middleware import GreenlightMiddleware

    ecs_ext.install()
    codedeploy_ext.install()
    ecr_ext.install()
    return GreenlightMiddleware(DomainDispatcherApplication(create_backend_app))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m greenlight_emulator",
        description=(
            "Local AWS emulator for greenlight: moto (ECS, ECR, ELBv2, STS, IAM, CodeDeploy) with "
            "CodeDeploy ECS blue/green deployments that progress over time, fault injection and a "
            "call log under /_greenlight/. Prints 'greenlight emulator listening on URL' once ready."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help=(
            "how many seconds of AWS time pass per real second (default: "
            "$GREENLIGHT_EMULATOR_TIME_SCALE, else 1; 60 turns a minute into a second)"
        ),
    )
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    # Handlers first, so that a signal during the (slow) start-up still ends the
    # process cleanly with status 0.
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    from werkzeug.serving import make_server

    from .clock import time_scale_from_env
    from .control import ecr_scan_seconds_from_env, init_state

    try:
        scale = args.time_scale if args.time_scale is not None else time_scale_from_env()
        if not scale > 0:
            raise ValueError("--time-scale must be greater than 0")
        ecr_scan_seconds_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    init_state(scale)

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class RequestHandler(MotoRequestHandler):
        def log_request(self, *a: Any, **kw: Any) -> None:
            if args.verbose:
                super().log_request(*a, **kw)

    app = build_app()
    try:
        server = make_server(args.host, args.port, app, threaded=True, request_handler=RequestHandler)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    os.environ.setdefault("MOTO_PORT", str(port))

    if stop.is_set():
        server.server_close()
        return 0
    thread = threading.Thread(target=server.serve_forever, name="greenlight-emulator", daemon=True)
    thread.start()
    shown_host = f"[{host}]" if ":" in str(host) else host
    print(READY_LINE.format(host=shown_host, port=port), flush=True)
    print(f"time scale: {scale:g} (AWS seconds per real second)", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0
