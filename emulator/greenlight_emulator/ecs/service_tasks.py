"""The tasks of service deployments (ECS rolling and ECS-native deployments, CodeDeploy
task sets), so that ListTasks and DescribeTasks see them as on AWS.

The deployment engines (controller.py, service_deployment.py, codedeploy/engine.py through
task_sets.py) decide when a service task starts, runs and stops; a ServiceTask only records
it: it is a TaskRun (tasks.py) whose lifecycle is not planned when it starts but set by the
engine at the AWS instants things happen: running, its essential container exiting (a
container_exits fault), failing to start (a circuit_breaker fault) or being stopped by the
service scheduler (replaced by a deployment, scaled in). Its containers write their awslogs
lines as one-off tasks do (tasks.py writes them).

Service tasks live in backend._greenlight_service_tasks[cluster][taskArn], not in moto's
backend.tasks, so that moto's own task handling never sees them. A stopped one stays
visible for STOPPED_RETENTION_SECONDS (about an hour on AWS), then it is forgotten.
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition, ecs_backends
from moto.utilities.utils import get_partition

from ..control import STATE
from .model import TASK_DEPROVISIONING_SECONDS, TASK_PROVISIONING_SECONDS, TASK_PULL_SECONDS, new_task_id
from .tasks import ESSENTIAL_EXITED, SIGTERM_EXIT_CODE, TaskRun

# ECS shows a stopped task for about an hour (AWS seconds).
STOPPED_RETENTION_SECONDS = 3600.0
# How many stopped tasks of one cluster are kept at most, whatever their age (a service
# whose tasks keep failing would otherwise pile them up).
MAX_STOPPED_PER_CLUSTER = 500
SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
TASK_FAILED_TO_START = "TaskFailedToStart"

_REGISTRY = "_greenlight_service_tasks"


def scaling_reason(deployment_id: str) -> str:
    """The stoppedReason of a task the service scheduler stopped for a deployment."""
    return f"Scaling activity initiated by (deployment {deployment_id})"


@dataclass
class ServiceTaskIdentity:
    """What a TaskRun reads of moto's Task, for a task moto never knew."""

    id: str
    cluster_name: str
    cluster_arn: str
    region_name: str
    account_id: str
    task_definition_arn: str
    started_by: str
    group: str
    capacity_provider_name: str | None = None
    container_instance_arn: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    desired_status: str = "RUNNING"
    stopped_reason: str = ""
    resource_requirements: Any = None

    @property
    def task_arn(self) -> str:
        region = self.region_name
        return f"arn:{get_partition(region)}:ecs:{region}:{self.account_id}:task/{self.cluster_name}/{self.id}"


class ServiceTask(TaskRun):
    """A task of a service: started (PROVISIONING, or RUNNING at once for a service that
    starts settled), then moved on by its deployment engine."""

    def __init__(
        self,
        backend: EC2ContainerServiceBackend,
        identity: ServiceTaskIdentity,
        definition: TaskDefinition,
        now: float,
        inputs: dict[str, Any],
        service_name: str,
        running: bool,
        exits: dict[str, Any] | None,
    ) -> None:
        self._setup(backend, identity, definition, inputs)
        self.service_name = service_name
        # The target group the task is registered in (set by whoever binds it; see elbv2.py).
        self.target_group_arn: str | None = None
        self.container_port: int | None = None
        if exits is not None:
            self.apply_exits({str(exits["container"]): exits})
        self.run_seconds = None  # it runs until its engine says otherwise
        self.created_at = now
        if running:
            self.pending_at = self.pull_started_at = self.pull_stopped_at = self.running_at = now
        else:
            self.pending_at = now + TASK_PROVISIONING_SECONDS
            self.pull_started_at = self.pending_at
            self.pull_stopped_at = self.pending_at + TASK_PULL_SECONDS
            self.running_at = None
        self.execution_stopped_at = None
        self.stopping_at = math.inf
        self.stopped_at = math.inf
        self._start_tracking(now)

    # -- what the engine says happened ----------------------------------------
    def mark_running(self, at: float) -> None:
        if self.running_at is not None or at >= self.stopping_at:
            return
        # Started sooner than a one-off task would be through its pull: squeeze the pull in.
        self.pending_at = min(self.pending_at or at, at)
        self.pull_started_at = min(self.pull_started_at or at, at)
        self.pull_stopped_at = min(self.pull_stopped_at or at, at)
        self.running_at = at

    def exit_by_fault(self, at: float) -> None:
        """Its essential container exited (container_exits): the others get SIGTERM with it."""
        if at >= self.stopping_at:
            return
        for container in self.containers:
            if not container.faulted:
                container.exit_code = SIGTERM_EXIT_CODE
        self.stop_code = "EssentialContainerExited"
        self.stopped_reason = ESSENTIAL_EXITED
        self.stopping_at = self.execution_stopped_at = at
        self.stopped_at = at + TASK_DEPROVISIONING_SECONDS

    def fail_to_start(self, at: float, reason: str) -> None:
        """It never ran (circuit_breaker: the image could not be pulled, for instance)."""
        self.stop(at, reason, TASK_FAILED_TO_START)

    def stop_by_scheduler(self, at: float, deployment_id: str) -> None:
        """Replaced by a deployment or scaled in: SIGTERM, as StopTask does."""
        self.stop(at, scaling_reason(deployment_id), SCHEDULER_INITIATED)

    # -- reading --------------------------------------------------------------
    def stopped_long_ago(self, now: float) -> bool:
        return now >= self.stopped_at + STOPPED_RETENTION_SECONDS

    def is_running(self, now: float) -> bool:
        return self.last_status(now) == "RUNNING"

    def private_ip(self) -> str | None:
        for interface in self._network_interfaces():
            return interface.get("privateIpv4Address")
        return None

    # The deployment engines count a service's tasks in the cluster themselves.
    def _count(self, running: int, pending: int) -> None:
        self.counted = (running, pending)

    def _release(self) -> None:
        pass


# ----------------------------------------------------------------------
# Starting them
# ----------------------------------------------------------------------
def _registry(backend: EC2ContainerServiceBackend) -> dict[str, dict[str, ServiceTask]]:
    found = getattr(backend, _REGISTRY, None)
    if found is None:
        found = {}
        setattr(backend, _REGISTRY, found)
    return found


def _eni_attachment(backend: EC2ContainerServiceBackend, network: dict[str, Any] | None, serial: int) -> list[dict[str, Any]]:
    """An ENI in one of the service's subnets (taken in turn), with a private IP of its CIDR,
    as Fargate gives each awsvpc task. No ENI is created in moto's EC2."""
    vpc = (network or {}).get("awsvpcConfiguration") or {}
    subnets = [str(s) for s in vpc.get("subnets") or []]
    subnet = subnets[serial % len(subnets)] if subnets else None
    cidr = "10.0.0.0/16"
    if subnet:
        try:
            cidr = ec2_backends[backend.account_id][backend.region_name].get_subnet(subnet).cidr_block
        except Exception:  # noqa: BLE001 - an unknown subnet keeps the fallback range
            pass
    net = ipaddress.ip_network(cidr, strict=False)
    hosts = max(1, net.num_addresses - 5)
    ip = str(net.network_address + 4 + secrets.randbelow(hosts))  # AWS reserves the first four
    eni = f"eni-{secrets.token_hex(8)}"
    details = [
        {"name": "subnetId", "value": subnet or ""},
        {"name": "networkInterfaceId", "value": eni},
        {"name": "macAddress", "value": ":".join(f"{secrets.randbelow(256):02x}" for _ in range(6))},
        {"name": "privateDnsName", "value": f"ip-{ip.replace('.', '-')}.ec2.internal"},
        {"name": "privateIPv4Address", "value": ip},
    ]
    return [{"id": str(uuid.uuid4()), "type": "ElasticNetworkInterface", "status": "ATTACHED", "details": details}]


def launch(
    backend: EC2ContainerServiceBackend,
    service: Any,
    task_definition: str | None,
    at: float,
    started_by: str,
    task_id: str,
    running: bool = False,
    exits: dict[str, Any] | None = None,
) -> ServiceTask | None:
    """A new task of the service (None when its task definition cannot be found: the
    engines then go on counting it only)."""
    if not task_definition:
        return None
    try:
        definition = backend.describe_task_definition(task_definition)
    except Exception:  # noqa: BLE001 - moto raises several kinds for a missing task definition
        return None
    registry = _registry(backend)
    cluster_tasks = registry.setdefault(service.cluster_name, {})
    awsvpc = definition.network_mode == "awsvpc"
    launch_type = service.launch_type or None
    identity = ServiceTaskIdentity(
        id=task_id,
        cluster_name=service.cluster_name,
        cluster_arn=service.cluster_arn,
        region_name=service.region_name,
        account_id=backend.account_id,
        task_definition_arn=definition.arn,
        started_by=started_by,
        group=f"service:{service.name}",
        attachments=_eni_attachment(backend, service.network_configuration, len(cluster_tasks)) if awsvpc else [],
    )
    inputs: dict[str, Any] = {}
    if launch_type:
        inputs["launchType"] = launch_type
    if service.platform_version:
        inputs["platformVersion"] = service.platform_version
    task = ServiceTask(backend, identity, definition, at, inputs, service.name, running, exits)
    bound = (service.load_balancers or [{}])[0]
    task.container_port = bound.get("containerPort")
    cluster_tasks[identity.task_arn] = task
    return task


# ----------------------------------------------------------------------
# Access
# ----------------------------------------------------------------------
def cluster_tasks(backend: EC2ContainerServiceBackend, cluster_name: str) -> list[ServiceTask]:
    return list(_registry(backend).get(cluster_name, {}).values())


def all_tasks(backend: EC2ContainerServiceBackend) -> list[ServiceTask]:
    return [task for tasks in _registry(backend).values() for task in tasks.values()]


def advance(backend: EC2ContainerServiceBackend, now: float) -> None:
    """Writes the due log lines of every service task, logs their transitions and forgets
    the ones stopped long ago."""
    for cluster, tasks in list(_registry(backend).items()):
        for arn, task in list(tasks.items()):
            task.advance(now)
            if task.finished and task.stopped_long_ago(now):
                del tasks[arn]
        stopped = [arn for arn, task in tasks.items() if task.finished]
        for arn in stopped[: max(0, len(stopped) - MAX_STOPPED_PER_CLUSTER)]:
            del tasks[arn]


def tick_all() -> None:
    """Advances the service tasks of every account and region to now."""
    now = STATE.clock.now()
    for _account, regions in list(ecs_backends.items()):
        for _region, backend in list(regions.items()):
            if getattr(backend, _REGISTRY, None):
                advance(backend, now)
