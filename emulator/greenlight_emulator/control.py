"""Emulator-wide state driven through the /_greenlight control endpoints:
the call log, injected faults, the scaled clock, the added network latency and the log of
deployment state transitions; and how both CodeDeploy and ECS deployments show an AWS
instant (wall_datetime) and a traffic weight (percent_text)."""

from __future__ import annotations

import itertools
import os
import threading
import time
from datetime import datetime, timezone
from typing import Any

from .clock import ScaledClock, time_scale_from_env

ENV_ECR_SCAN_SECONDS = "GREENLIGHT_EMULATOR_ECR_SCAN_SECONDS"
DEFAULT_ECR_SCAN_SECONDS = 20.0
ENV_LATENCY_MS = "GREENLIGHT_EMULATOR_LATENCY_MS"
MAX_LATENCY_MS = 60_000

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

# Lifecycle stages of an ECS service deployment (blue/green, linear, canary), in order.
ECS_LIFECYCLE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)

# Faults bound to an ECS deployment (of a service with the ECS deployment controller) when
# UpdateService starts it.
ECS_DEPLOYMENT_FAULT_KINDS = ("circuit_breaker", "placement_failure", "fail_lifecycle_stage")
# Faults bound to an ECS task (RunTask, StartTask or a service deployment's) when it starts.
ECS_TASK_FAULT_KINDS = ("container_exits",)
REQUEST_FAULT_KINDS = ("throttle", "http_error", "hang")
# Bound to the next deployment (CodeDeploy or ECS, any service) when it is created: puts a
# CloudWatch alarm into ALARM some AWS seconds later (alarms.py).
ALARM_FAULT_KINDS = ("alarm",)
FAULT_KINDS = (
    "fail_lifecycle_event",
    "never_ready",
    "slow_rollback",
    *REQUEST_FAULT_KINDS,
    *ECS_DEPLOYMENT_FAULT_KINDS,
    *ECS_TASK_FAULT_KINDS,
    *ALARM_FAULT_KINDS,
)
# A container's exit code is what a process exits with: 0 to 255.
MAX_EXIT_CODE = 255
# The longest a `hang` fault holds a request when it does not say.
DEFAULT_HANG_SECONDS = 3600.0


class FaultError(ValueError):
    """A fault definition that cannot be accepted (answered with HTTP 400)."""


class CallLog:
    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def start(self, service: str | None, action: str | None) -> dict[str, Any]:
        """Log a request as it arrives (`ts`, wall seconds); finish() adds the HTTP status it
        got and `end`, when its answer was ready."""
        entry: dict[str, Any] = {"service": service, "action": action, "ts": time.time()}
        with self._lock:
            self._calls.append(entry)
            if len(self._calls) > self.MAX_ENTRIES:
                del self._calls[: len(self._calls) - self.MAX_ENTRIES]
        return entry

    def finish(self, entry: dict[str, Any], status: int | None) -> None:
        end = time.time()
        with self._lock:
            if status is not None:
                entry["status"] = status
            entry["end"] = end

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
        # Held (`hang`) requests wait on this until their fault is removed.
        self._removed = threading.Condition(self._lock)
        self._faults: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._last_id = 0

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
        elif kind == "slow_rollback":
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                raise FaultError("seconds must be a positive number (AWS seconds the rollback takes)")
            fault["seconds"] = float(seconds)
            for field in ("applicationName", "deploymentGroupName"):
                value = _optional_str(body, field)
                if value is not None:
                    fault[field] = value
            fault["count"] = None if body.get("count") is None else _positive_int(body["count"], "count")
        elif kind in ECS_DEPLOYMENT_FAULT_KINDS:
            fault.update(_ecs_deployment_fault(kind, body))
        elif kind in ECS_TASK_FAULT_KINDS:
            fault.update(_container_exits_fault(body))
        elif kind in ALARM_FAULT_KINDS:
            fault.update(_alarm_fault(body))
        else:
            action = _optional_str(body, "action")
            if action is None:
                raise FaultError("action is required (for example GetDeployment)")
            fault["action"] = action
            service = _optional_str(body, "service")
            if service is not None:
                fault["service"] = service
            fault["count"] = 1 if body.get("count") is None else _positive_int(body["count"], "count")
            if kind == "hang":
                # A frozen endpoint: every matching request is held until the fault is removed.
                fault["count"] = None
                seconds = body.get("seconds", DEFAULT_HANG_SECONDS)
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                    raise FaultError("seconds must be a positive number")
                fault["seconds"] = float(seconds)
            elif kind == "http_error":
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
            fault["id"] = self._last_id = next(self._ids)
            self._faults.append(fault)
            return dict(fault)

    def mark(self) -> int:
        """The id of the latest fault added so far: what was created now predates every
        fault added later (see take_container_exits)."""
        with self._lock:
            return self._last_id

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._removed.notify_all()

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f["id"] != fault_id]
            self._removed.notify_all()
            return len(self._faults) != before

    def hold(self, fault: dict[str, Any]) -> None:
        """Blocks the calling request thread while the `hang` fault is in place (at most its
        `seconds`)."""
        with self._lock:
            self._removed.wait_for(
                lambda: all(f["id"] != fault["id"] for f in self._faults),
                timeout=fault["seconds"],
            )

    # -- consumption ------------------------------------------------------
    def _use(self, fault: dict[str, Any]) -> None:
        if fault["count"] is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                self._faults.remove(fault)

    def take_request_fault(self, service: str | None, action: str | None) -> dict[str, Any] | None:
        """The throttle/http_error/hang fault that applies to this request, if any (one use is
        consumed; a hang lasts until removed)."""
        if action is None:
            return None
        with self._lock:
            for fault in self._faults:
                if fault["kind"] not in REQUEST_FAULT_KINDS:
                    continue
                if fault["action"] not in (action, "*"):
                    continue
                if "service" in fault and fault["service"] != service:
                    continue
                taken = dict(fault)
                self._use(fault)
                return taken
        return None

    def take_ecs_faults(self, cluster: str, service: str, kinds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """The ECS deployment faults of the given kinds bound to a deployment of that
        service created now, one per kind (uses are consumed)."""
        taken: dict[str, dict[str, Any]] = {}
        with self._lock:
            for fault in list(self._faults):
                kind = fault["kind"]
                if kind not in kinds or kind in taken:
                    continue
                if fault.get("cluster") not in (None, cluster) or fault.get("service") not in (None, service):
                    continue
                taken[kind] = dict(fault)
                self._use(fault)
        return taken

    def take_container_exits(self, mark: int, containers: list[tuple[str, bool]]) -> dict[str, dict[str, Any]]:
        """The container_exits faults that apply to a task starting now, by container name:
        faults added before its task definition revision was registered (whose mark() was
        then at least their id) and naming one of its containers, or none (every essential
        container). The first fault for a container wins; each fault that applied loses a use.
        containers: (name, essential) of each of the task's containers."""
        taken: dict[str, dict[str, Any]] = {}
        with self._lock:
            for fault in list(self._faults):
                if fault["kind"] != "container_exits" or fault["id"] > mark:
                    continue
                wanted = fault.get("container")
                names = [n for n, essential in containers if (n == wanted if wanted else essential)]
                names = [n for n in names if n not in taken]
                if not names:
                    continue
                for name in names:
                    taken[name] = dict(fault)
                self._use(fault)
        return taken

    def take_alarm_faults(self) -> list[dict[str, Any]]:
        """The alarm faults bound to a deployment created now: all of them, one use each."""
        taken = []
        with self._lock:
            for fault in list(self._faults):
                if fault["kind"] in ALARM_FAULT_KINDS:
                    taken.append(dict(fault))
                    self._use(fault)
        return taken

    def take_deployment_faults(self, application: str, deployment_group: str) -> dict[str, Any]:
        """The deployment faults bound to a deployment created now (uses are consumed)."""
        result: dict[str, Any] = {"fail_event": None, "never_ready": False, "rollback_seconds": None}
        with self._lock:
            for fault in list(self._faults):
                if fault["kind"] not in ("fail_lifecycle_event", "never_ready", "slow_rollback"):
                    continue
                if fault.get("applicationName") not in (None, application):
                    continue
                if fault.get("deploymentGroupName") not in (None, deployment_group):
                    continue
                if fault["kind"] == "fail_lifecycle_event":
                    if result["fail_event"] is not None:
                        continue
                    result["fail_event"] = dict(fault)
                elif fault["kind"] == "slow_rollback":
                    if result["rollback_seconds"] is not None:
                        continue
                    result["rollback_seconds"] = fault["seconds"]
                else:
                    if result["never_ready"]:
                        continue
                    result["never_ready"] = True
                self._use(fault)
        return result


def _ecs_deployment_fault(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    fault: dict[str, Any] = {}
    if kind == "fail_lifecycle_stage":
        stage = body.get("stage")
        if stage not in ECS_LIFECYCLE_STAGES:
            raise FaultError(f"stage must be one of {', '.join(ECS_LIFECYCLE_STAGES)}")
        fault["stage"] = stage
    message = _optional_str(body, "message")
    if message is not None:
        fault["message"] = message
    for field in ("cluster", "service"):
        value = _optional_str(body, field)
        if value is not None:
            # Given by name or ARN; faults match on the name.
            fault[field] = value.split("/")[-1]
    fault["count"] = None if body.get("count") is None else _positive_int(body["count"], "count")
    return fault


def _container_exits_fault(body: dict[str, Any]) -> dict[str, Any]:
    fault: dict[str, Any] = {}
    container = _optional_str(body, "container")
    if container is not None:
        fault["container"] = container
    code = body.get("exitCode")
    if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code <= MAX_EXIT_CODE:
        raise FaultError(f"exitCode must be an integer from 0 to {MAX_EXIT_CODE}")
    fault["exitCode"] = code
    reason = _optional_str(body, "reason")
    if reason is not None:
        fault["reason"] = reason
    log = body.get("log")
    if log is not None:
        if not isinstance(log, list) or not all(isinstance(line, str) for line in log):
            raise FaultError("log must be a list of strings (the container's log lines)")
        fault["log"] = list(log)
    fault["count"] = None if body.get("count") is None else _positive_int(body["count"], "count")
    return fault


def _alarm_fault(body: dict[str, Any]) -> dict[str, Any]:
    name = _optional_str(body, "alarmName")
    if name is None:
        raise FaultError("alarmName is required (the CloudWatch alarm to put into ALARM)")
    seconds = body.get("after_seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise FaultError("after_seconds must be a number of AWS seconds, 0 or more")
    fault: dict[str, Any] = {"alarmName": name, "after_seconds": seconds}
    reason = _optional_str(body, "stateReason")
    if reason is not None:
        fault["stateReason"] = reason
    # "The next deployment": one use unless told otherwise.
    fault["count"] = 1 if body.get("count") is None else _positive_int(body["count"], "count")
    return fault


class AlarmLog:
    """When CloudWatch alarms go (or are due to go) into ALARM, in AWS time: alarm faults
    schedule their alarm when a deployment takes them, SetAlarmState calls are noted when
    made. Deployments watching an alarm stop (or roll back) at the first such instant after
    they were created; alarms.py applies the scheduled states to moto's CloudWatch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def add(self, at: float, account: str, region: str, name: str, reason: str, applied: bool) -> None:
        entry = {"at": at, "account": account, "region": region, "alarmName": name, "reason": reason}
        entry["applied"] = applied
        with self._lock:
            self._entries.append(entry)

    def due(self, now: float) -> list[dict[str, Any]]:
        """The scheduled alarms due by now and not applied yet, oldest first (marked applied)."""
        with self._lock:
            found = sorted((e for e in self._entries if not e["applied"] and e["at"] <= now), key=lambda e: e["at"])
            for entry in found:
                entry["applied"] = True
            return [dict(e) for e in found]

    def first(self, account: str, region: str, names: list[str], since: float) -> tuple[float, list[str]] | None:
        """The first instant at or after since when one of the alarms went into ALARM, and the
        ones that did then."""
        wanted = set(names)
        with self._lock:
            hits = [
                e
                for e in self._entries
                if e["account"] == account and e["region"] == region and e["alarmName"] in wanted and e["at"] >= since
            ]
        if not hits:
            return None
        at = min(e["at"] for e in hits)
        return at, sorted({e["alarmName"] for e in hits if e["at"] == at})

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted((dict(e) for e in self._entries), key=lambda e: e["at"])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TransitionLog:
    """Every observable state change of a deployment (CodeDeploy or ECS), with the
    wall-clock moment it took effect, so that a benchmark can measure how late a
    client noticed it. Deployments advance lazily, so an entry is often written
    after the fact: `at` is when the change was due, not when it was computed."""

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(self, at: float, kind: str, ident: str, what: str) -> None:
        entry = {"at": at, "kind": kind, "id": ident, "what": what}
        with self._lock:
            self._entries.append(entry)
            if len(self._entries) > self.MAX_ENTRIES:
                del self._entries[: len(self._entries) - self.MAX_ENTRIES]

    def snapshot(self) -> list[dict[str, Any]]:
        # Several deployments catch up in one tick, each in its own order: sort by
        # time (stable, so changes due at the same instant keep their order).
        with self._lock:
            return sorted((dict(e) for e in self._entries), key=lambda e: e["at"])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# An observable field of a deployment: (kind, deployment id, field name).
FieldKey = tuple[str, str, str]


class TransitionTracker:
    """The last logged value of each observable field of some deployments. After a
    deployment changed at some AWS instant, sync() logs the fields whose value differs
    from what was logged, so the engines need not announce each change themselves."""

    def __init__(self) -> None:
        self._last: dict[FieldKey, str] = {}

    def sync(self, aws_at: float, observed: dict[FieldKey, str]) -> None:
        for key, value in observed.items():
            if self._last.get(key) == value:
                continue
            self._last[key] = value
            kind, ident, field = key
            STATE.transition(aws_at, kind, ident, f"{field}={value}")


def percent_text(value: float) -> str:
    """A traffic weight as the transitions log shows it: 10, not 10.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


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


def latency_ms(value: Any, name: str = "latency_ms") -> int:
    """A latency in milliseconds as given: an integer from 0 to MAX_LATENCY_MS, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LATENCY_MS:
        raise ValueError(f"{name} must be an integer from 0 to {MAX_LATENCY_MS} (milliseconds), got {value!r}")
    return value


def latency_ms_from_env(default: int = 0) -> int:
    """The latency (wall milliseconds) added to every AWS request unless configured otherwise."""
    raw = os.environ.get(ENV_LATENCY_MS, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_LATENCY_MS} must be an integer, got {raw!r}") from exc
    return latency_ms(value, ENV_LATENCY_MS)


class EmulatorState:
    def __init__(self, time_scale: float | None = None, latency: int | None = None) -> None:
        scale = time_scale if time_scale is not None else time_scale_from_env()
        self.initial_time_scale = scale
        self.clock = ScaledClock(scale)
        self.calls = CallLog()
        self.faults = FaultStore()
        self.transitions = TransitionLog()
        self.alarms = AlarmLog()
        try:
            self.initial_ecr_scan_seconds = ecr_scan_seconds_from_env()
        except ValueError:  # reported by the server at start-up
            self.initial_ecr_scan_seconds = DEFAULT_ECR_SCAN_SECONDS
        self.ecr_scan_seconds = self.initial_ecr_scan_seconds
        if latency is None:
            try:
                latency = latency_ms_from_env()
            except ValueError:  # reported by the server at start-up
                latency = 0
        # Wall milliseconds every AWS request waits before it is handled, as if it crossed a
        # network to a region (not under the lock: requests in flight overlap).
        self.initial_latency_ms = latency
        self.latency_ms = latency
        # One request at a time: moto's backends are not built for concurrent
        # mutation, and the deployment engine advances under this lock.
        self.lock = threading.RLock()

    def transition(self, aws_at: float, kind: str, ident: str, what: str) -> None:
        """Logs a deployment state change that took effect at the given AWS instant."""
        self.transitions.record(self.clock.to_wall(aws_at), kind, ident, what)

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()
        self.transitions.clear()
        self.alarms.clear()
        self.clock.set_scale(self.initial_time_scale)
        self.ecr_scan_seconds = self.initial_ecr_scan_seconds
        self.latency_ms = self.initial_latency_ms


# The process-wide state; the server re-initialises it in place at start-up.
STATE = EmulatorState(time_scale=1.0)


def init_state(time_scale: float | None = None, latency: int | None = None) -> EmulatorState:
    """(Re)initialise the process-wide state; returns it."""
    EmulatorState.__init__(STATE, time_scale, latency)
    return STATE


def wall_datetime(aws_time: float | None) -> datetime | None:
    """The wall-clock datetime of an AWS instant, naive UTC like moto's own."""
    if aws_time is None:
        return None
    return datetime.fromtimestamp(STATE.clock.to_wall(aws_time), tz=timezone.utc).replace(tzinfo=None)
