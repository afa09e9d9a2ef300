"""Emulator-wide state driven through the /_greenlight control endpoints:
the call log, injected faults and the scaled clock."""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any

from .clock import ScaledClock, time_scale_from_env

ENV_ECR_SCAN_SECONDS = "GREENLIGHT_EMULATOR_ECR_SCAN_SECONDS"
DEFAULT_ECR_SCAN_SECONDS = 20.0

LIFECYCLE_EVENTS = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]

FAULT_KINDS = ("fail_lifecycle_event", "never_ready", "throttle", "http_error")


class FaultError(ValueError):
    """A fault definition that cannot be accepted (answered with HTTP 400)."""


class CallLog:
    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def start(self, service: str | None, action: str | None) -> dict[str, Any]:
        """Log a request as it arrives; finish() adds the HTTP status it got."""
        entry: dict[str, Any] = {"service": service, "action": action, "ts": time.time()}
        with self._lock:
            self._calls.append(entry)
            if len(self._calls) > self.MAX_ENTRIES:
                del self._calls[: len(self._calls) - self.MAX_ENTRIES]
        return entry

    def finish(self, entry: dict[str, Any], status: int) -> None:
        with self._lock:
            entry["status"] = status

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FaultError(f"{field} must be a positive integer")
    return value


def _optional_str(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FaultError(f"{field} must be a non-empty string")
    return value


class FaultStore:
    """Faults injected on demand. Every fault has an id and an optional count
    of remaining uses (None means: until cleared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    # -- management -------------------------------------------------------
    def add(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise FaultError("the fault must be a JSON object")
        kind = body.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        fault: dict[str, Any] = {"kind": kind}
        if kind == "fail_lifecycle_event":
            event = body.get("event")
            if event not in LIFECYCLE_EVENTS:
                raise FaultError(f"event must be one of {', '.join(LIFECYCLE_EVENTS)}")
            fault["event"] = event
            for field in ("message", "errorCode", "applicationName", "deploymentGroupName"):
                value = _optional_str(body, field)
                if value is not None:
                    fault[field] = value
            fault["count"] = None if body.get("count") is None else _positive_int(body["count"], "count")
        elif kind == "never_ready":
            for field in ("applicationName", "deploymentGroupName"):
                value = _optional_str(body, field)
                if value is not None:
                    fault[field] = value
            fault["count"] = None if body.get("count") is None else _positive_int(body["count"], "count")
        else:
            action = _optional_str(body, "action")
            if action is None:
                raise FaultError("action is required (for example GetDeployment)")
            fault["action"] = action
            service = _optional_str(body, "service")
            if service is not None:
                fault["service"] = service
            fault["count"] = 1 if body.get("count") is None else _positive_int(body["count"], "count")
            if kind == "http_error":
                status = body.get("status")
                if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                    raise FaultError("status must be an HTTP error status (400-599)")
                fault["status"] = status
                for field in ("errorCode", "message"):
                    value = _optional_str(body, field)
                    if value is not None:
                        fault[field] = value
            else:
                message = _optional_str(body, "message")
                if message is not None:
                    fault["message"] = message
        with self._lock:
            fault["id"] = next(self._ids)
            self._faults.append(fault)
            return dict(fault)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f["id"] != fault_id]
            return len(self._faults) != before

    # -- consumption ------------------------------------------------------
    def _use(self, fault: dict[str, Any]) -> None:
        if fault["count"] is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                self._faults.remove(fault)

    def take_request_fault(self, service: str | None, action: str | None) -> dict[str, Any] | None:
        """The throttle/http_error fault that applies to this request, if any (one use is consumed)."""
        if action is None:
            return None
        with self._lock:
            for fault in self._faults:
                if fault["kind"] not in ("throttle", "http_error"):
                    continue
                if fault["action"] != action:
                    continue
                if "service" in fault and fault["service"] != service:
                    continue
                taken = dict(fault)
                self._use(fault)
                return taken
        return None

    def take_deployment_faults(self, application: str, deployment_group: str) -> dict[str, Any]:
        """The deployment faults bound to a deployment created now (uses are consumed)."""
        result: dict[str, Any] = {"fail_event": None, "never_ready": False}
        with self._lock:
            for fault in list(self._faults):
                if fault["kind"] not in ("fail_lifecycle_event", "never_ready"):
                    continue
                if fault.get("applicationName") not in (None, application):
                    continue
                if fault.get("deploymentGroupName") not in (None, deployment_group):
                    continue
                if fault["kind"] == "fail_lifecycle_event":
                    if result["fail_event"] is not None:
                        continue
                    result["fail_event"] = dict(fault)
                else:
                    if result["never_ready"]:
                        continue
                    result["never_ready"] = True
                self._use(fault)
        return result


def ecr_scan_seconds_from_env(default: float = DEFAULT_ECR_SCAN_SECONDS) -> float:
    """How long (AWS seconds) an ECR image scan stays IN_PROGRESS unless configured otherwise."""
    raw = os.environ.get(ENV_ECR_SCAN_SECONDS, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_ECR_SCAN_SECONDS} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ValueError(f"{ENV_ECR_SCAN_SECONDS} must be 0 or more, got {raw!r}")
    return value


class EmulatorState:
    def __init__(self, time_scale: float | None = None) -> None:
        scale = time_scale if time_scale is not None else time_scale_from_env()
        self.initial_time_scale = scale
        self.clock = ScaledClock(scale)
        self.calls = CallLog()
        self.faults = FaultStore()
        try:
            self.initial_ecr_scan_seconds = ecr_scan_seconds_from_env()
        except ValueError:  # reported by the server at start-up
            self.initial_ecr_scan_seconds = DEFAULT_ECR_SCAN_SECONDS
        self.ecr_scan_seconds = self.initial_ecr_scan_seconds
        # One request at a time: moto's backends are not built for concurrent
        # mutation, and the deployment engine advances under this lock.
        self.lock = threading.RLock()

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()
        self.clock.set_scale(self.initial_time_scale)
        self.ecr_scan_seconds = self.initial_ecr_scan_seconds


# The process-wide state; the server re-initialises it in place at start-up.
STATE = EmulatorState(time_scale=1.0)


def init_state(time_scale: float | None = None) -> EmulatorState:
    """(Re)initialise the process-wide state; returns it."""
    EmulatorState.__init__(STATE, time_scale)
    return STATE
