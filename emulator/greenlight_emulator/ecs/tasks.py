"""One-off ECS tasks (RunTask, StartTask) that live on the emulator clock.

moto creates a task RUNNING and leaves it so; here each task it creates gets a TaskRun
(task.greenlight_run) that plans its lifecycle in AWS time when it starts:
PROVISIONING, PENDING (the image pull), RUNNING, then, once its containers exited by
themselves (exit code 0 unless a container_exits fault says otherwise) or after StopTask
(SIGTERM, 143), STOPPING/DEPROVISIONING and STOPPED. What DescribeTasks shows
is a function of that plan and the time. Containers with an awslogs log configuration
write their lines to moto's CloudWatch Logs as they run. As for deployments, nothing
runs in the background: tick_all(), before every request, writes the log lines that
are due, logs the transitions and keeps the cluster's task counts.

Timings are in model.py; the response methods in task_api.py.
"""

from __future__ import annotations

import copy
import secrets
import shlex
import uuid
from dataclasses import dataclass
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend, Task, TaskDefinition, ecs_backends
from moto.logs.models import logs_backends
from moto.utilities.utils import get_partition

from ..control import STATE, TransitionTracker, wall_datetime
from .model import (
    TASK_ACTIVATING_SECONDS,
    TASK_DEPROVISIONING_SECONDS,
    TASK_LOG_LINE_SECONDS,
    TASK_PROVISIONING_SECONDS,
    TASK_PULL_SECONDS,
    TASK_RUN_SECONDS,
    TASK_SIGTERM_SECONDS,
)

ESSENTIAL_EXITED = "Essential container in task exited"
# StopTask without a reason.
USER_STOPPED = "Task stopped by user"
SIGTERM_EXIT_CODE = 143
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
FARGATE_PLATFORM_VERSION = "1.4.0"
FARGATE_EPHEMERAL_GIB = 20

_RUN = "greenlight_run"
_FAULT_MARK = "greenlight_fault_mark"


def _reached(instant: float | None, now: float) -> bool:
    return instant is not None and instant <= now


@dataclass
class LogTarget:
    """Where a container's awslogs lines go: {prefix}/{container}/{task id} in the group."""

    account: str
    region: str
    group: str
    stream: str


@dataclass
class ContainerRun:
    name: str
    image: str
    essential: bool
    arn: str
    runtime_id: str
    definition: dict[str, Any]
    command: list[str] | None
    log: LogTarget | None
    # How it ends: its exit code (None: it never ran), the reason, scripted log lines.
    exit_code: int | None = 0
    reason: str | None = None
    lines: list[str] | None = None
    written: int = 0  # log lines written so far
    faulted: bool = False  # hit by a container_exits fault


def log_target(definition: dict[str, Any], account: str, default_region: str, task_id: str) -> LogTarget | None:
    config = definition.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs":
        return None
    group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
    if not group or not prefix:
        return None
    region = options.get("awslogs-region") or default_region
    return LogTarget(account, region, group, f"{prefix}/{definition.get('name')}/{task_id}")


class TaskRun:
    """The lifecycle of one task, planned in AWS time."""

    def __init__(
        self,
        backend: EC2ContainerServiceBackend,
        task: Task,
        definition: TaskDefinition,
        now: float,
        inputs: dict[str, Any],
    ) -> None:
        self._setup(backend, task, definition, inputs)
        faults = STATE.faults.take_container_exits(fault_mark(definition), self._hit())
        self.apply_exits(faults)

        longest = max((len(c.lines or []) for c in self.containers), default=0) * TASK_LOG_LINE_SECONDS
        self.run_seconds: float | None = max(TASK_RUN_SECONDS, longest)
        self.created_at = now
        self.pending_at: float | None = now + TASK_PROVISIONING_SECONDS
        self.pull_started_at: float | None = self.pending_at
        self.pull_stopped_at: float | None = self.pending_at + TASK_PULL_SECONDS
        self.running_at: float | None = self.pull_stopped_at + TASK_ACTIVATING_SECONDS
        self.execution_stopped_at: float | None = self.running_at + self.run_seconds
        self.stopping_at = self.execution_stopped_at
        self.stopped_at = self.execution_stopped_at + TASK_DEPROVISIONING_SECONDS
        self._start_tracking(now)

    # -- what every task has (service tasks share it: service_tasks.py) -----
    def _setup(self, backend: EC2ContainerServiceBackend, task: Any, definition: TaskDefinition, inputs: dict[str, Any]) -> None:
        """The containers of the task as its definition (and overrides) describe them; the
        lifecycle instants are the subclass's to plan."""
        self.backend = backend
        self.task = task
        self.inputs = inputs
        self.awsvpc = definition.network_mode == "awsvpc"
        self.cpu = definition.cpu or _sum_text(definition.container_definitions, "cpu")
        self.memory = definition.memory or _sum_text(definition.container_definitions, "memory")
        overrides = {o.get("name"): o for o in (task.overrides or {}).get("containerOverrides") or []}
        partition = get_partition(task.region_name)
        self.containers: list[ContainerRun] = []
        for spec in definition.container_definitions:
            name = str(spec.get("name"))
            command = (overrides.get(name) or {}).get("command") or spec.get("command")
            self.containers.append(
                ContainerRun(
                    name=name,
                    image=str(spec.get("image")),
                    essential=spec.get("essential", True) is not False,
                    arn=(
                        f"arn:{partition}:ecs:{task.region_name}:{backend.account_id}:container/"
                        f"{task.cluster_name}/{task.id}/{uuid.uuid4()}"
                    ),
                    runtime_id=f"{task.id}-{secrets.randbelow(10**10):010d}",
                    definition=spec,
                    command=list(command) if command else None,
                    log=log_target(spec, backend.account_id, task.region_name, task.id),
                )
            )
        self.faults: dict[str, int] = {}
        self.stop_code = "EssentialContainerExited"
        self.stopped_reason = ESSENTIAL_EXITED
        self.user_stopped = False
        self.finished = False

    def _hit(self) -> list[tuple[str, bool]]:
        return [(c.name, c.essential) for c in self.containers]

    def apply_exits(self, faults: dict[str, dict[str, Any]]) -> None:
        """How the containers a container_exits fault hits end: its exit code, reason, log lines."""
        for container in self.containers:
            fault = faults.get(container.name)
            if fault is not None:
                container.exit_code = fault["exitCode"]
                container.reason = fault.get("reason")
                container.lines = fault.get("log")
                container.faulted = True
        self.faults.update({name: fault["id"] for name, fault in faults.items() if "id" in fault})

    def _start_tracking(self, now: float) -> None:
        self.tracker = TransitionTracker()
        self.ticked = now
        self.counted = (0, 0)  # (running, pending) added to the cluster's counts
        self.tracker.sync(now, self._observed(now))

    # -- reading ----------------------------------------------------------
    def last_status(self, now: float) -> str:
        if now >= self.stopped_at:
            return "STOPPED"
        if now >= self.stopping_at:
            exited = self.execution_stopped_at is None or now >= self.execution_stopped_at
            return "DEPROVISIONING" if self.awsvpc and exited else "STOPPING"
        if _reached(self.running_at, now):
            return "RUNNING"
        if _reached(self.pending_at, now):
            return "PENDING"
        return "PROVISIONING"

    def desired_status(self, now: float) -> str:
        return "STOPPED" if now >= self.stopping_at else "RUNNING"

    def _container_status(self, now: float) -> str:
        if _reached(self.execution_stopped_at, now) or (self.running_at is None and now >= self.stopping_at):
            return "STOPPED"
        return "RUNNING" if _reached(self.running_at, now) else "PENDING"

    def _instants(self) -> list[float]:
        found = [self.pending_at, self.running_at, self.stopping_at, self.execution_stopped_at, self.stopped_at]
        return sorted({t for t in found if t is not None})

    def _observed(self, now: float) -> dict[tuple[str, str, str], str]:
        arn = self.task.task_arn
        return {
            ("ecs-task", arn, "lastStatus"): self.last_status(now),
            ("ecs-task", arn, "desiredStatus"): self.desired_status(now),
        }

    def describe(self, now: float, include_tags: bool = True) -> dict[str, Any]:
        task = self.task
        stopping = now >= self.stopping_at
        launch_type = self.inputs.get("launchType") or (
            "FARGATE" if task.capacity_provider_name in FARGATE_PROVIDERS else None
        )
        fargate = launch_type == "FARGATE"
        out: dict[str, Any] = {
            "taskArn": task.task_arn,
            "clusterArn": task.cluster_arn,
            "taskDefinitionArn": task.task_definition_arn,
            "containerInstanceArn": task.container_instance_arn,
            "overrides": copy.deepcopy(task.overrides) or {"containerOverrides": []},
            "lastStatus": self.last_status(now),
            "desiredStatus": self.desired_status(now),
            "cpu": self.cpu,
            "memory": self.memory,
            "containers": [self._describe_container(c, now) for c in self.containers],
            "startedBy": task.started_by or None,
            "version": 1 + sum(1 for t in self._instants() if t <= now),
            "stopCode": self.stop_code if stopping else None,
            "stoppedReason": self.stopped_reason if stopping else None,
            "connectivity": "CONNECTED" if _reached(self.pending_at, now) else None,
            "connectivityAt": self._at(self.pending_at, now),
            "pullStartedAt": self._at(self.pull_started_at, now),
            "pullStoppedAt": self._at(self.pull_stopped_at, now),
            "executionStoppedAt": self._at(self.execution_stopped_at, now),
            "createdAt": wall_datetime(self.created_at),
            "startedAt": self._at(self.running_at, now),
            "stoppingAt": self._at(self.stopping_at, now),
            "stoppedAt": self._at(self.stopped_at, now),
            "group": task.group,
            "launchType": launch_type,
            "capacityProviderName": task.capacity_provider_name,
            "platformVersion": (self.inputs.get("platformVersion") or FARGATE_PLATFORM_VERSION) if fargate else None,
            "platformFamily": "Linux" if fargate else None,
            "attachments": self._attachments(now),
            "availabilityZone": f"{task.region_name}a",
            "healthStatus": self._task_health(now),
            "enableExecuteCommand": False,
            "ephemeralStorage": {"sizeInGiB": FARGATE_EPHEMERAL_GIB} if fargate else None,
            "tags": copy.deepcopy(task.tags) if include_tags else None,
        }
        if out["platformVersion"] == "LATEST":
            out["platformVersion"] = FARGATE_PLATFORM_VERSION
        return {k: v for k, v in out.items() if v is not None}

    def _container_health(self, container: ContainerRun, now: float) -> str:
        """Only a container with a healthCheck has a health status: HEALTHY while it runs,
        UNHEALTHY once it ran under a container_exits fault (it never got healthy)."""
        if not container.definition.get("healthCheck") or not _reached(self.running_at, now):
            return "UNKNOWN"
        if container.faulted:
            return "UNHEALTHY"
        return "HEALTHY" if self._container_status(now) == "RUNNING" else "UNKNOWN"

    def _task_health(self, now: float) -> str:
        states = [self._container_health(c, now) for c in self.containers if c.essential]
        checked = [s for s in states if s != "UNKNOWN"]
        if "UNHEALTHY" in checked:
            return "UNHEALTHY"
        return "HEALTHY" if checked and len(checked) == len(states) else "UNKNOWN"

    def _at(self, instant: float | None, now: float) -> Any:
        return wall_datetime(instant) if _reached(instant, now) else None

    def _attachments(self, now: float) -> list[dict[str, Any]] | None:
        if not self.task.attachments:
            return None
        status = self.last_status(now)
        shown = {"PROVISIONING": "PRECREATED", "STOPPED": "DELETED"}.get(status, "ATTACHED")
        return [dict(copy.deepcopy(a), status=shown) for a in self.task.attachments]

    def _describe_container(self, container: ContainerRun, now: float) -> dict[str, Any]:
        status = self._container_status(now)
        ran = _reached(self.running_at, now)
        out: dict[str, Any] = {
            "containerArn": container.arn,
            "taskArn": self.task.task_arn,
            "name": container.name,
            "image": container.image,
            "runtimeId": container.runtime_id if ran else None,
            "lastStatus": status,
            "networkBindings": [],
            "networkInterfaces": self._network_interfaces(),
            "healthStatus": self._container_health(container, now),
            "cpu": str(container.definition.get("cpu", 0)),
        }
        for field in ("memory", "memoryReservation"):
            if container.definition.get(field) is not None:
                out[field] = str(container.definition[field])
        if status == "STOPPED" and ran and container.exit_code is not None:
            out["exitCode"] = container.exit_code
            if container.reason:
                out["reason"] = container.reason
        return {k: v for k, v in out.items() if v is not None}

    def _network_interfaces(self) -> list[dict[str, Any]]:
        found = []
        for attachment in self.task.attachments or []:
            details = {d["name"]: d["value"] for d in attachment.get("details", [])}
            if "privateIPv4Address" in details:
                found.append({"attachmentId": attachment["id"], "privateIpv4Address": details["privateIPv4Address"]})
        return found

    def snapshot(self, now: float) -> dict[str, Any]:
        """What the control endpoint shows: the inputs as given and how the task goes."""
        task = self.task
        return {
            "taskArn": task.task_arn,
            "cluster": task.cluster_name,
            "taskDefinitionArn": task.task_definition_arn,
            "lastStatus": self.last_status(now),
            "desiredStatus": self.desired_status(now),
            "startedBy": task.started_by or None,
            "group": task.group,
            "overrides": copy.deepcopy(task.overrides),
            "tags": copy.deepcopy(task.tags),
            **copy.deepcopy(self.inputs),
            "containers": [
                {
                    "name": c.name,
                    "essential": c.essential,
                    "command": c.command,
                    "exitCode": c.exit_code,
                    "reason": c.reason,
                    "logStream": f"{c.log.group}:{c.log.stream}" if c.log else None,
                    "fault": self.faults.get(c.name),
                }
                for c in self.containers
            ],
        }

    # -- the log ----------------------------------------------------------
    def log_lines(self, container: ContainerRun) -> list[tuple[float, str]]:
        """A container's log lines and the AWS instants it writes them."""
        start, end = self.running_at, self.execution_stopped_at
        if start is None:
            return []
        if container.lines is not None:
            body = container.lines
        else:
            command = f" {shlex.join(container.command)}" if container.command else ""
            body = [f"{container.name}: starting{command}"]
            if self.run_seconds is not None:
                # A task that ends by itself works for its run; a service task (no planned
                # end) only says it started.
                steps = max(1, int(self.run_seconds / TASK_LOG_LINE_SECONDS))
                body += [f"{container.name}: working ({k}/{steps - 1})" for k in range(1, steps)]
        lines = [(start + k * TASK_LOG_LINE_SECONDS, line) for k, line in enumerate(body)]
        lines = [(at, line) for at, line in lines if at < self.stopping_at]
        if container.lines is None and end is not None:
            if self.user_stopped:
                lines.append((self.stopping_at, f"{container.name}: received SIGTERM"))
            lines.append((end, f"{container.name}: exited {container.exit_code}"))
        return lines

    def _write_logs(self, now: float) -> bool:
        """Writes the log lines due by now; answers whether every line is written."""
        done = True
        for container in self.containers:
            target = container.log
            if target is None or not _reached(self.running_at, now):
                continue
            lines = self.log_lines(container)
            due = [(at, line) for at, line in lines[container.written :] if at <= now]
            logs = logs_backends[target.account][target.region]
            if target.group not in logs.groups:
                logs.create_log_group(target.group, {})
            logs.ensure_log_stream(target.group, target.stream)
            if due:
                events = [{"timestamp": int(STATE.clock.to_wall(at) * 1000), "message": line} for at, line in due]
                logs.put_log_events(target.group, target.stream, events)
                container.written += len(due)
            done = done and container.written >= len(lines)
        return done

    # -- calls ------------------------------------------------------------
    def stop(self, now: float, reason: str | None, code: str = "UserInitiated") -> None:
        """StopTask (or the service scheduler, with its stop code): SIGTERM to running
        containers (they exit 143), or no start at all."""
        if now >= self.stopping_at:
            return
        self.stopping_at = now
        self.stop_code = code
        self.stopped_reason = reason or USER_STOPPED
        self.user_stopped = True
        if _reached(self.running_at, now):
            self.execution_stopped_at = now + TASK_SIGTERM_SECONDS
            for container in self.containers:
                container.exit_code = SIGTERM_EXIT_CODE
                container.reason = None
        else:
            for field in ("pending_at", "pull_started_at", "pull_stopped_at", "running_at"):
                if not _reached(getattr(self, field), now):
                    setattr(self, field, None)
            self.execution_stopped_at = None
            for container in self.containers:
                container.exit_code = None
                container.reason = None
        self.stopped_at = (self.execution_stopped_at or now) + TASK_DEPROVISIONING_SECONDS

    # -- advancing --------------------------------------------------------
    def advance(self, now: float) -> None:
        if self.finished or now < self.ticked:
            return
        for instant in self._instants():
            if self.ticked < instant <= now:
                self.tracker.sync(instant, self._observed(instant))
        self.tracker.sync(now, self._observed(now))
        written = self._write_logs(now)
        status = self.last_status(now)
        self.task.desired_status = self.desired_status(now)
        if now >= self.stopping_at:
            self.task.stopped_reason = self.stopped_reason
        self._count(1 if status == "RUNNING" else 0, 1 if status in ("PROVISIONING", "PENDING") else 0)
        if status == "STOPPED" and written:
            self._release()
            self.finished = True
        self.ticked = now

    def _count(self, running: int, pending: int) -> None:
        cluster = self.backend.clusters.get(self.task.cluster_name)
        if cluster is not None:
            cluster.running_tasks_count += running - self.counted[0]
            cluster.pending_tasks_count += pending - self.counted[1]
        self.counted = (running, pending)

    def _release(self) -> None:
        """A stopped task gives its container instance's resources back."""
        arn = self.task.container_instance_arn
        instances = self.backend.container_instances.get(self.task.cluster_name, {})
        instance = instances.get(arn.split("/")[-1]) if arn else None
        if instance is not None and self.task.resource_requirements:
            self.backend.update_container_instance_resources(instance, self.task.resource_requirements, removing=True)


def _sum_text(containers: list[dict[str, Any]], field: str) -> str | None:
    values = [c.get(field) for c in containers if isinstance(c.get(field), int)]
    return str(sum(values)) if values else None


# ----------------------------------------------------------------------
# Access
# ----------------------------------------------------------------------
def run_of(task: Task) -> TaskRun | None:
    return getattr(task, _RUN, None)


def start(
    backend: EC2ContainerServiceBackend, task: Task, definition: TaskDefinition, now: float, inputs: dict[str, Any]
) -> TaskRun:
    """Gives a task moto just created its lifecycle (and takes the faults that apply)."""
    run = TaskRun(backend, task, definition, now, inputs)
    setattr(task, _RUN, run)
    run.advance(now)
    return run


def mark_task_definition(definition: TaskDefinition) -> None:
    """Notes which faults existed when a task definition revision was registered: only
    those apply to its tasks (a container_exits fault hits revisions registered after it)."""
    setattr(definition, _FAULT_MARK, STATE.faults.mark())


def fault_mark(definition: TaskDefinition) -> int:
    return int(getattr(definition, _FAULT_MARK, 0))


def cluster_runs(backend: EC2ContainerServiceBackend, cluster_name: str) -> list[TaskRun]:
    found = []
    for task in backend.tasks.get(cluster_name, {}).values():
        run = run_of(task)
        if run is not None:
            found.append(run)
    return found


def tick_all() -> None:
    """Advances every one-off task of every account and region to now."""
    now = STATE.clock.now()
    for _account, regions in list(ecs_backends.items()):
        for _region, backend in list(regions.items()):
            for tasks in list(backend.tasks.values()):
                for task in list(tasks.values()):
                    run = run_of(task)
                    if run is not None:
                        run.advance(now)


def snapshot() -> list[dict[str, Any]]:
    """Every one-off task, for GET /_greenlight/tasks."""
    now = STATE.clock.now()
    out = []
    for account, regions in list(ecs_backends.items()):
        for region, backend in list(regions.items()):
            for tasks in list(backend.tasks.values()):
                for task in list(tasks.values()):
                    run = run_of(task)
                    if run is not None:
                        out.append({"accountId": account, "region": region, **run.snapshot(now)})
    return out
