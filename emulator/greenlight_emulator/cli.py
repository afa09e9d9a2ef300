"""The command line of ``python -m greenlight_emulator``: arguments, signal handling and
the emulator's state, all before moto is loaded (server.py), which takes a second or more."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

from .clock import time_scale_from_env
from .control import MAX_LATENCY_MS, ecr_scan_seconds_from_env, init_state, latency_ms, latency_ms_from_env

DEFAULT_PORT = 4566
READY_LINE = "greenlight emulator listening on http://{host}:{port}"


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
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=None,
        help=(
            "wall milliseconds every AWS request waits before it is handled, like a round trip to a "
            f"region; requests in flight overlap (0-{MAX_LATENCY_MS}; default: "
            "$GREENLIGHT_EMULATOR_LATENCY_MS, else 0)"
        ),
    )
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    return parser


@dataclass
class Startup:
    args: argparse.Namespace
    stop: threading.Event
    scale: float
    latency_ms: int = 0


def prepare(argv: list[str] | None = None) -> Startup | int:
    """Parses the arguments, installs the signal handlers and sets up the emulator's state:
    the startup, or the exit status of a bad configuration."""
    args = _parser().parse_args(argv)

    # Handlers first, so that a signal during the (slow) start-up still ends the
    # process cleanly with status 0.
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        scale = args.time_scale if args.time_scale is not None else time_scale_from_env()
        if not scale > 0:
            raise ValueError("--time-scale must be greater than 0")
        ecr_scan_seconds_from_env()
        latency = latency_ms(args.latency_ms, "--latency-ms") if args.latency_ms is not None else latency_ms_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    init_state(scale, latency)
    return Startup(args, stop, scale, latency)
