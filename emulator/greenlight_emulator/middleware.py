"""The WSGI layer in front of moto: control endpoints under /_greenlight/,
the call log, the added latency, request faults, the CBOR bridge, and advancing
deployments (CodeDeploy and ECS) before each AWS request."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.codedeploy.models import codedeploy_backends
from moto.core.base_backend import BackendDict

from . import alarms, protocol
from .codedeploy import api as codedeploy_api
from .codedeploy.engine import EcsDeployment
from .control import LIFECYCLE_EVENTS, STATE, FaultError, latency_ms
from .ecr import control_endpoint as ecr_control
from .ecs import controller as ecs_controller
from .ecs import service_tasks as ecs_service_tasks
from .ecs import tasks as ecs_tasks
from .round_trips import calls_until, sequential_round_trips

CONTROL_PREFIX = "/_greenlight/"

StartResponse = Callable[..., Any]


def tick_all() -> None:
    """Advances every deployment (CodeDeploy and ECS) and one-off ECS task to now; call it
    under STATE.lock. Alarms first: a deployment sees an alarm that went off by now."""
    alarms.tick_all()
    codedeploy_api.tick_all()
    ecs_controller.tick_all()
    ecs_tasks.tick_all()
    ecs_service_tasks.tick_all()


def _json_response(start_response: StartResponse, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    start_response(
        protocol.status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            size = int(length)
        except ValueError:
            size = 0
        body = stream.read(size) if size > 0 else b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class GreenlightMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    # ------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            return self._control(environ, start_response, path)
        if path.startswith("/moto-api") or path == "/favicon.ico":
            with STATE.lock:
                status, headers, body = self._call_inner(environ)
            start_response(status, headers)
            return [body]
        return self._aws(environ, start_response)

    def _call_inner(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = list(headers)
            return chunks.append

        result = self.app(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured.get("status", "500 Internal Server Error"), captured.get("headers", []), b"".join(chunks)

    # ------------------------------------------------------------------
    def _aws(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        info = protocol.identify(environ, body)
        protocol.route_by_target(environ, info)
        entry = STATE.calls.start(info.service, info.action)
        # The request's trip to the region: after its arrival is logged (so the log keeps the
        # order the server saw), before it is handled, and outside STATE.lock so that
        # requests in flight overlap as on a network.
        delay_ms = STATE.latency_ms
        if delay_ms > 0:
            time.sleep(delay_ms / 1000)

        fault = STATE.faults.take_request_fault(info.service, info.action)
        if fault is not None and fault["kind"] == "hang":
            # Accepted and then silent, like a frozen proxy; answered normally once released.
            STATE.faults.hold(fault)
            fault = None
        if fault is not None:
            if fault["kind"] == "throttle":
                status_code, code = 400, "ThrottlingException"
                message = fault.get("message") or "Rate exceeded"
            else:
                status_code = fault["status"]
                code = fault.get("errorCode") or _default_error_code(status_code)
                message = fault.get("message") or f"Injected HTTP {status_code} for {info.action}"
            status, headers, payload = protocol.error_response(info, status_code, code, message)
            STATE.calls.finish(entry, status_code)
            start_response(status, headers)
            return [payload]

        with STATE.lock:
            tick_all()
            if info.protocol == "cbor":
                status, headers, payload = self._call_cbor(environ, body, info)
            else:
                status, headers, payload = self._call_inner(environ)
                if info.protocol == "json":
                    headers = _json_content_type(headers, payload, info.json_version)
        try:
            status_code: int | None = int(status.split(" ", 1)[0])
        except ValueError:
            status_code = None
        STATE.calls.finish(entry, status_code)
        start_response(status, headers)
        return [payload]

    def _call_cbor(
        self, environ: dict[str, Any], body: bytes, info: protocol.RequestInfo
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        try:
            json_body = protocol.cbor_request_to_json(body)
        except Exception as exc:  # noqa: BLE001 - any decoding problem is the caller's
            return protocol.error_response(info, 400, "SerializationException", f"Cannot decode the CBOR body: {exc}")
        env = dict(environ)
        env["PATH_INFO"] = "/"
        env["RAW_URI"] = "/"
        env["REQUEST_URI"] = "/"
        env["QUERY_STRING"] = ""
        env["CONTENT_TYPE"] = f"application/x-amz-json-{info.json_version}"
        env["HTTP_X_AMZ_TARGET"] = f"{info.target_prefix}.{info.action}"
        env.pop("HTTP_SMITHY_PROTOCOL", None)
        env["wsgi.input"] = io.BytesIO(json_body)
        env["CONTENT_LENGTH"] = str(len(json_body))
        status, headers, payload = self._call_inner(env)
        code = int(status.split(" ", 1)[0])
        cbor_body = protocol.json_response_to_cbor(info.service, info.action, code, payload)
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        kept += [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(cbor_body))),
        ]
        return status, kept, cbor_body

    # ------------------------------------------------------------------
    def _control(self, environ: dict[str, Any], start_response: StartResponse, path: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        route = path[len(CONTROL_PREFIX) :].strip("/") if path.startswith(CONTROL_PREFIX) else ""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        body = _read_body(environ)
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            return _json_response(start_response, 400, {"error": "the body is not valid JSON"})

        def allowed(*methods: str) -> bool:
            return method in methods

        if route == "health":
            if not allowed("GET", "HEAD"):
                return _json_response(start_response, 405, {"error": "use GET"})
            return _json_response(start_response, 200, {"status": "ok", "time_scale": STATE.clock.scale})

        if route == "calls":
            if allowed("GET"):
                calls = STATE.calls.snapshot()
                for field in ("service", "action"):
                    if field in query:
                        calls = [c for c in calls if c.get(field) in query[field]]
                return _json_response(start_response, 200, {"calls": calls})
            if allowed("DELETE"):
                STATE.calls.clear()
                return _json_response(start_response, 200, {"calls": []})
            return _json_response(start_response, 405, {"error": "use GET or DELETE"})

        if route == "round-trips":
            if not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET"})
            until = query["until"][0] if query.get("until") else None
            considered = calls_until(STATE.calls.snapshot(), until)
            return _json_response(
                start_response, 200, {"round_trips": sequential_round_trips(considered), "calls": len(considered)}
            )

        if route == "latency":
            if allowed("POST", "PUT"):
                if not isinstance(payload, dict) or "latency_ms" not in payload:
                    return _json_response(start_response, 400, {"error": 'expected a JSON object {"latency_ms": N}'})
                try:
                    STATE.latency_ms = latency_ms(payload["latency_ms"])
                except ValueError as exc:
                    return _json_response(start_response, 400, {"error": str(exc)})
            elif not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET or POST"})
            return _json_response(start_response, 200, {"latency_ms": STATE.latency_ms})

        if route == "faults":
            if allowed("GET"):
                return _json_response(start_response, 200, {"faults": STATE.faults.list()})
            if allowed("DELETE"):
                STATE.faults.clear()
                return _json_response(start_response, 200, {"faults": []})
            if allowed("POST", "PUT"):
                try:
                    if isinstance(payload, list):
                        added = [STATE.faults.add(item) for item in payload]
                        return _json_response(start_response, 200, {"faults": added})
                    return _json_response(start_response, 200, {"fault": STATE.faults.add(payload)})
                except FaultError as exc:
                    return _json_response(start_response, 400, {"error": str(exc)})
            return _json_response(start_response, 405, {"error": "use GET, POST or DELETE"})

        if route.startswith("faults/"):
            if not allowed("DELETE"):
                return _json_response(start_response, 405, {"error": "use DELETE"})
            try:
                fault_id = int(route.split("/", 1)[1])
            except ValueError:
                return _json_response(start_response, 404, {"error": "no such fault"})
            if STATE.faults.remove(fault_id):
                return _json_response(start_response, 200, {"faults": STATE.faults.list()})
            return _json_response(start_response, 404, {"error": "no such fault"})

        if route == "config":
            if allowed("POST", "PUT"):
                if not isinstance(payload, dict):
                    return _json_response(start_response, 400, {"error": "expected a JSON object"})
                if "time_scale" in payload:
                    scale = payload["time_scale"]
                    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
                        return _json_response(
                            start_response, 400, {"error": "time_scale must be a number greater than 0"}
                        )
                    with STATE.lock:
                        tick_all()
                        STATE.clock.set_scale(float(scale))
            elif not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET or POST"})
            return _json_response(start_response, 200, {"time_scale": STATE.clock.scale})

        if route == "deployments":
            if not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET"})
            with STATE.lock:
                tick_all()
                return _json_response(start_response, 200, {"deployments": _deployments_snapshot()})

        if route == "tasks":
            if not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET"})
            with STATE.lock:
                tick_all()
                return _json_response(start_response, 200, {"tasks": ecs_tasks.snapshot()})

        if route == "alarms":
            if not allowed("GET"):
                return _json_response(start_response, 405, {"error": "use GET"})
            with STATE.lock:
                tick_all()
                shown = [dict(e, at=STATE.clock.to_wall(e["at"])) for e in STATE.alarms.snapshot()]
                return _json_response(start_response, 200, {"alarms": shown})

        if route == "transitions":
            if allowed("GET"):
                with STATE.lock:
                    tick_all()
                return _json_response(start_response, 200, STATE.transitions.snapshot())
            if allowed("DELETE"):
                STATE.transitions.clear()
                return _json_response(start_response, 200, [])
            return _json_response(start_response, 405, {"error": "use GET or DELETE"})

        if route.startswith("ecr/"):
            status_code, answer = ecr_control.handle_control(method, route, payload, query)
            return _json_response(start_response, status_code, answer)

        if route == "reset":
            if not allowed("POST"):
                return _json_response(start_response, 405, {"error": "use POST"})
            with STATE.lock:
                BackendDict.reset()
                STATE.reset()
            return _json_response(start_response, 200, {"status": "reset"})

        return _json_response(start_response, 404, {"error": f"unknown control endpoint {path}"})


def _json_content_type(headers: list[tuple[str, str]], payload: bytes, version: str) -> list[tuple[str, str]]:
    """awsJson answers carry application/x-amz-json-1.x, whatever moto set."""
    current = next((v for k, v in headers if k.lower() == "content-type"), "")
    if current.startswith("application/x-amz-json") or not payload.lstrip().startswith(b"{"):
        return headers
    kept = [(k, v) for k, v in headers if k.lower() != "content-type"]
    kept.append(("Content-Type", f"application/x-amz-json-{version}"))
    return kept


def _default_error_code(status: int) -> str:
    return {
        400: "BadRequest",
        403: "AccessDeniedException",
        404: "NotFound",
        429: "TooManyRequestsException",
        500: "InternalFailure",
        502: "BadGateway",
        503: "ServiceUnavailable",
        504: "GatewayTimeout",
    }.get(status, "InternalFailure" if status >= 500 else "BadRequest")


def _deployments_snapshot() -> list[dict[str, Any]]:
    now = STATE.clock.now()
    out = []
    for account, regions in list(codedeploy_backends.items()):
        for region, backend in list(regions.items()):
            for deployment in backend.deployments.values():
                item: dict[str, Any] = {
                    "accountId": account,
                    "region": region,
                    "deploymentId": deployment.deployment_id,
                    "applicationName": deployment.application_name,
                    "deploymentGroupName": deployment.deployment_group_name,
                    "status": deployment.status,
                }
                if isinstance(deployment, EcsDeployment):
                    event = (
                        LIFECYCLE_EVENTS[deployment.event_index]
                        if deployment.phase == "event" and deployment.event_index >= 0
                        else None
                    )
                    item.update(
                        {
                            "phase": deployment.phase,
                            "lifecycleEvent": event,
                            "greenTrafficWeight": deployment.green_weight(now),
                            "rollbackOf": deployment.rollback_of.deployment_id if deployment.rollback_of else None,
                            "faults": {
                                "failLifecycleEvent": (deployment.fail_event or {}).get("event"),
                                "neverReady": deployment.never_ready,
                            },
                        }
                    )
                out.append(item)
    return out
