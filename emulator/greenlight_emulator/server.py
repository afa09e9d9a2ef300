"""Runs moto in-process, with the greenlight extension, behind our middleware."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from .cli import READY_LINE, Startup
from .codedeploy import api as codedeploy_api
from . import alarms, elbv2
from .ecr import api as ecr_api
from .ecs import ext as ecs_ext
from .middleware import GreenlightMiddleware


class Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher with the backend of each host remembered. moto finds it anew on every
    request by scanning its list of modules and every URL pattern, about half of its own
    per-request work; the answer depends on the host alone, and the server handles requests one
    at a time, so that scan is what several clients wait for in turn."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # Called under the dispatcher's own lock.
        if host not in self._backend_of:
            self._backend_of[host] = super().get_backend_for_host(host)
        return self._backend_of[host]


def build_app() -> Any:
    """The WSGI application: our middleware around moto's dispatcher."""
    ecs_ext.install()
    codedeploy_api.install()
    ecr_api.install()
    elbv2.install()
    alarms.install()
    return GreenlightMiddleware(Dispatcher(create_backend_app))


def serve(startup: Startup) -> int:
    """Serves until a signal sets startup.stop; the exit status."""
    args, stop = startup.args, startup.stop

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
    print(f"time scale: {startup.scale:g} (AWS seconds per real second)", file=sys.stderr, flush=True)
    if startup.latency_ms:
        print(f"latency: {startup.latency_ms} ms before every AWS request", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0
