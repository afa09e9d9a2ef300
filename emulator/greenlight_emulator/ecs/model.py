"""Building blocks of the ECS deployment engine (see controller.py): the
timings, identifiers, service revisions, the rows of a service's `deployments`
list, service events, a scheduler of timed actions and what a deployment
uses of its service (Controller).

Durations are AWS seconds; the time scale compresses them.
"""

from __future__ import annotations

import heapq
import itertools
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.ecs.models import Service
from moto.utilities.utils import get_partition

from ..control import STATE, wall_datetime

# A deployment is PENDING this long before anything happens.
START_DELAY = 2.0
# New tasks start together; the first is RUNNING this long after the launch, each next one this much later.
TASK_START_INTERVAL = 10.0
# A task that cannot start (circuit_breaker fault) stops this long after its launch...
TASK_FAIL_SECONDS = 8.0
# ... and the scheduler launches replacements this long after that.
RELAUNCH_DELAY = 2.0
# How often a service that cannot place its tasks says so again.
PLACEMENT_RETRY = 10.0
# Rolling: once the new tasks run, the old ones are stopped after STOP_OLD_DELAY, their
# deployment leaves the list DRAIN_SECONDS later and the rollout completes STEADY_DELAY after that.
STOP_OLD_DELAY = 2.0
DRAIN_SECONDS = 5.0
STEADY_DELAY = 5.0
# Blue/green, linear, canary: a stage without work of its own, the test traffic shift, the
# settling after the last production shift, a Lambda hook, the clean-up of the source revision.
STAGE_SECONDS = 1.0
TEST_TRAFFIC_SECONDS = 5.0
TRAFFIC_SETTLE = 5.0
LAMBDA_HOOK_SECONDS = 4.0
CLEAN_UP_SECONDS = 5.0
# A rollback starts this long after it was requested; rerouting traffic back takes ROLLBACK_SECONDS.
ROLLBACK_DELAY = 2.0
ROLLBACK_SECONDS = 15.0
# StopServiceDeployment(ABORT): STOP_REQUESTED -> STOPPED.
STOP_DELAY = 2.0
# One-off tasks (RunTask, StartTask; see tasks.py): PROVISIONING this long, then PENDING while
# the image is pulled (pullStartedAt to pullStoppedAt) and the containers start, then RUNNING
# until the containers exit by themselves (a container_exits fault's longer log stretches that
# to one line per second). Once they exited (executionStoppedAt) the task is STOPPED after
# TASK_DEPROVISIONING_SECONDS. StopTask sends SIGTERM: the containers exit (143) after
# TASK_SIGTERM_SECONDS.
TASK_PROVISIONING_SECONDS = 3.0
TASK_PULL_SECONDS = 4.0
TASK_ACTIVATING_SECONDS = 1.0
TASK_RUN_SECONDS = 10.0
TASK_SIGTERM_SECONDS = 1.0
TASK_DEPROVISIONING_SECONDS = 3.0
# A container's log lines (awslogs) come one per this many seconds while it runs.
TASK_LOG_LINE_SECONDS = 1.0
# When a client polls rarely at a high time scale, repeating failures are fast-forwarded,
# keeping only this many of the most recent repetitions (the event list keeps 100 anyway).
CATCH_UP_REPEATS = 50

MAX_EVENTS = 100
DEFAULT_HOOK_TIMEOUT_MINUTES = 1440  # DeploymentLifecycleHookTimeoutConfiguration's default
DEFAULT_HOOK_TIMEOUT_ACTION = "ROLLBACK"

STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
DEFAULT_DEPLOYMENT_CONFIGURATION: dict[str, Any] = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "strategy": "ROLLING",
}


# ----------------------------------------------------------------------
# Identifiers
# ----------------------------------------------------------------------
def new_revision_number() -> str:
    """19 digits: what follows ecs-svc/ in a deployment id and ends a service revision ARN."""
    return str(10**18 + secrets.randbelow(9 * 10**18))


def new_service_deployment_id() -> str:
    return secrets.token_urlsafe(16)


def new_task_id() -> str:
    return secrets.token_hex(16)


def new_hook_id(target_type: str) -> str:
    prefix = "ecs-pause" if target_type == "PAUSE" else "ecs-lambda"
    return f"{prefix}-{secrets.token_urlsafe(32)}"


def ecs_arn(service: Service, resource: str, ident: str) -> str:
    """arn:aws:ecs:{region}:{account}:{resource}/{cluster}/{service}/{ident}"""
    region = service.region_name
    return (
        f"arn:{get_partition(region)}:ecs:{region}:{service._account_id}:"
        f"{resource}/{service.cluster_name}/{service.name}/{ident}"
    )


def parse_ecs_arn(arn: str, resource: str) -> tuple[str, str, str, str, str] | None:
    """(region, account, cluster, service, id) of a service-deployment or service-revision ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "ecs":
        return None
    path = parts[5].split("/")
    if len(path) != 4 or path[0] != resource or not all(path[1:]):
        return None
    return parts[3], parts[4], path[1], path[2], path[3]


def percent(value: float) -> float:
    """A traffic weight without float noise (3 x 33.3 is 99.9, not 99.89999999999999)."""
    return round(float(value), 6)


# ----------------------------------------------------------------------
# Deployment configuration
# ----------------------------------------------------------------------
def circuit_breaker(config: dict[str, Any]) -> tuple[bool, bool]:
    """(enable, rollback) of a deployment configuration's circuit breaker."""
    breaker = config.get("deploymentCircuitBreaker") or {}
    return bool(breaker.get("enable")), bool(breaker.get("rollback"))


def failure_threshold(desired_count: int) -> int:
    """How many failed tasks trip the circuit breaker: half the desired count, 3 to 200."""
    return max(3, min(200, math.ceil(desired_count / 2)))


def production_schedule(config: dict[str, Any]) -> list[tuple[float, float]]:
    """The production traffic shifts of a blue/green, linear or canary deployment as
    (seconds after PRODUCTION_TRAFFIC_SHIFT started, percent on the target revision)."""
    strategy = config.get("strategy")
    if strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        share = float(canary.get("canaryPercent", 10.0))
        bake = float(canary.get("canaryBakeTimeInMinutes", 5)) * 60.0
        return [(0.0, percent(share)), (bake, 100.0)]
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", 10.0))
        bake = float(linear.get("stepBakeTimeInMinutes", 1)) * 60.0
        steps = max(1, math.ceil(100.0 / step - 1e-9))
        return [(k * bake, percent(min(100.0, (k + 1) * step))) for k in range(steps)]
    return [(0.0, 100.0)]


# ----------------------------------------------------------------------
# Service revisions and deployments (the rows of Service.deployments)
# ----------------------------------------------------------------------
@dataclass
class ServiceRevision:
    """What a service runs: the task definition and the service settings of one deployment."""

    arn: str
    service_arn: str
    cluster_arn: str
    task_definition: str | None
    launch_type: str | None
    platform_version: str | None
    load_balancers: list[dict[str, Any]]
    network_configuration: dict[str, Any] | None
    container_images: list[dict[str, str]]
    created_at: float
    # UpdateService's volumeConfigurations (service-managed EBS volumes), as given.
    volume_configurations: list[dict[str, Any]] | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceRevisionArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "taskDefinition": self.task_definition,
            "launchType": self.launch_type,
            "platformVersion": self.platform_version,
            "loadBalancers": self.load_balancers,
            "networkConfiguration": self.network_configuration,
            "containerImages": self.container_images,
            "volumeConfigurations": self.volume_configurations,
            "createdAt": wall_datetime(self.created_at),
        }
        return {k: v for k, v in out.items() if v not in (None, [], {})}


@dataclass
class Rollout:
    """One entry of a service's `deployments` (ecs-svc/...): the tasks of one revision."""

    id: str
    revision: ServiceRevision
    status: str  # PRIMARY | ACTIVE | INACTIVE (gone from the list)
    desired: int
    created_at: float
    updated_at: float
    rollout_state: str = "IN_PROGRESS"
    rollout_state_reason: str = ""
    pending: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    failed: int = 0

    def __post_init__(self) -> None:
        if not self.rollout_state_reason:
            self.rollout_state_reason = f"ECS deployment {self.id} in progress."

    def set_state(self, state: str, reason: str) -> None:
        self.rollout_state = state
        self.rollout_state_reason = reason

    def describe(self, service: Service) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "taskDefinition": self.revision.task_definition,
            "desiredCount": self.desired,
            "pendingCount": len(self.pending),
            "runningCount": len(self.running),
            "failedTasks": self.failed,
            "createdAt": wall_datetime(self.created_at),
            "updatedAt": wall_datetime(self.updated_at),
            "launchType": service.launch_type,
            "platformVersion": service.platform_version,
            "networkConfiguration": service.network_configuration or None,
            "rolloutState": self.rollout_state,
            "rolloutStateReason": self.rollout_state_reason,
            "volumeConfigurations": self.revision.volume_configurations,
        }
        return {k: v for k, v in out.items() if v is not None}

    def summary(self) -> dict[str, Any]:
        """A ServiceRevisionSummary (without traffic weights)."""
        return {
            "arn": self.revision.arn,
            "requestedTaskCount": self.desired,
            "runningTaskCount": len(self.running),
            "pendingTaskCount": len(self.pending),
        }


# ----------------------------------------------------------------------
# Service events
# ----------------------------------------------------------------------
def add_event(service: Service, at: float, message: str) -> None:
    """Service events are newest first and the list keeps the last MAX_EVENTS."""
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": wall_datetime(at), "message": message})
    del service.events[MAX_EVENTS:]
    STATE.transition(at, "ecs-service-event", service.arn, message)


def tasks_text(task_ids: list[str]) -> str:
    return " ".join(f"(task {task_id})" for task_id in task_ids)


def started_message(service: str, task_ids: list[str]) -> str:
    return f"(service {service}) has started {len(task_ids)} tasks: {tasks_text(task_ids)}."


def stopped_message(service: str, task_ids: list[str]) -> str:
    return f"(service {service}) has stopped {len(task_ids)} running tasks: {tasks_text(task_ids)}."


def steady_message(service: str) -> str:
    return f"(service {service}) has reached a steady state."


def completed_message(service: str, rollout_id: str) -> str:
    return f"(service {service}) (deployment {rollout_id}) deployment completed."


def failed_message(service: str, rollout_id: str, why: str) -> str:
    return f"(service {service}) (deployment {rollout_id}) deployment failed: {why}"


def rolling_back_message(service: str, rollout_id: str) -> str:
    return f"(service {service}) rolling back to deployment {rollout_id}."


def task_failed_message(service: str, task_id: str, reason: str) -> str:
    return f"(service {service}) (task {task_id}) failed to start: {reason}"


def task_exited_message(service: str, task_id: str, exit: dict[str, Any]) -> str:
    """A service task whose essential container exited (a container_exits fault)."""
    detail = f"{exit['container']} exited with code {exit['exitCode']}"
    if exit.get("reason"):
        detail += f": {exit['reason']}"
    return f"(service {service}) (task {task_id}) stopped: Essential container in task exited ({detail})."


def placement_message(service: str, reason: str) -> str:
    return (
        f"(service {service}) was unable to place a task because no container instance met all of "
        f"its requirements. Reason: {reason} For more information, see the Troubleshooting section of "
        "the Amazon ECS Developer Guide."
    )


# ----------------------------------------------------------------------
# Timed actions
# ----------------------------------------------------------------------
class Owner(Protocol):
    """What a timed action belongs to: bumping its generation cancels its pending actions."""

    generation: int


Action = Callable[[float], None]


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    owner: Owner = field(compare=False)
    generation: int = field(compare=False)
    action: Action = field(compare=False)


class Scheduler:
    """Actions due at AWS instants, run in time order (then in the order they were
    scheduled) by whoever advances the service; nothing runs in the background."""

    def __init__(self) -> None:
        self._heap: list[_Timer] = []
        self._seq = itertools.count()
        # The instant the service is being advanced to while actions run, so that a
        # repeating action can tell how far behind it is.
        self.horizon = 0.0

    def at(self, when: float, owner: Owner, action: Action) -> None:
        heapq.heappush(self._heap, _Timer(when, next(self._seq), owner, owner.generation, action))

    def pop_due(self, now: float) -> tuple[float, Action] | None:
        while self._heap and self._heap[0].when <= now:
            timer = heapq.heappop(self._heap)
            if timer.owner.generation == timer.generation:
                return timer.when, timer.action
        return None


# ----------------------------------------------------------------------
# The service a deployment works on
# ----------------------------------------------------------------------
class Controller(Protocol):
    """What a service deployment uses of the service it deploys. ServiceController
    (controller.py) is the one implementation; it creates the deployments, so they
    know it only through this."""

    service: Service
    scheduler: Scheduler
    rollouts: list[Rollout]
    stable_revision: ServiceRevision
    live_target_group: str | None
    rollout_target_groups: dict[str, str | None]

    def alternate_target_group(self) -> str | None: ...

    def new_rollout(self, revision: ServiceRevision, at: float, status: str) -> Rollout: ...

    def make_primary(self, rollout: Rollout) -> None: ...

    def stop_tasks(self, at: float, rollouts: list[Rollout]) -> None: ...

    def start_task(
        self, rollout: Rollout, at: float, running: bool = False, exits: dict[str, Any] | None = None
    ) -> str: ...

    def task_running(self, task_id: str, at: float) -> None: ...

    def task_exited(self, task_id: str, at: float) -> None: ...

    def task_failed(self, task_id: str, at: float, reason: str) -> None: ...

    def retire(self, at: float, rollouts: list[Rollout]) -> None: ...

    def sync(self, at: float) -> None: ...
