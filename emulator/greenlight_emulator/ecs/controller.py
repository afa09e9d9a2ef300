"""Deployments of ECS services with the ECS deployment controller, as time-driven
state machines.

Each such service gets a ServiceController (service._greenlight_ecs) holding its
deployments (the ecs-svc/... rows of service.deployments, see Rollout), its service
deployments (what ListServiceDeployments lists) and revisions, and a Scheduler of
timed actions. As with CodeDeploy deployments (codedeploy/engine.py), nothing runs in the
background: before every request the middleware calls tick_all(), which runs every
action that is due, in order, at the AWS instant it was due, so the outcome depends
only on AWS time and the calls made.

Strategies (deploymentConfiguration.strategy):

- ROLLING: the new deployment becomes PRIMARY and starts its tasks; once they run,
  the older deployments' tasks stop, those deployments leave the list and the
  rollout is COMPLETED. Tasks that fail to start trip the circuit breaker, which
  fails the rollout and, with rollback, starts a new deployment of the last
  completed revision.
- BLUE_GREEN, LINEAR, CANARY: the service deployment walks the lifecycle stages,
  running lifecycle hooks (AWS_LAMBDA, PAUSE) and shifting test then production
  traffic to the target revision; a failed hook, a stop request or a PAUSE hook's
  ROLLBACK sends traffic back to the source revision.

The building blocks and timings are in model.py, what all service deployments
share in service_deployment.py, the strategies in rolling.py and native.py.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.ecs.models import EC2ContainerServiceBackend, Service, ecs_backends

from .. import alarms
from ..control import STATE, FieldKey, TransitionTracker
from .model import (
    DEFAULT_DEPLOYMENT_CONFIGURATION,
    Rollout,
    Scheduler,
    ServiceRevision,
    add_event,
    ecs_arn,
    new_revision_number,
    new_task_id,
    parse_ecs_arn,
    started_message,
    stopped_message,
)
from .native import NativeDeployment
from .rolling import RollingDeployment
from .service_deployment import InitialDeployment, ServiceDeployment
from .service_tasks import ServiceTask, launch
from .tasks import fault_mark


# ----------------------------------------------------------------------
# The service
# ----------------------------------------------------------------------
class ServiceController:
    """Deployments, service deployments and revisions of one ECS-controller service."""

    def __init__(self, backend: EC2ContainerServiceBackend, service: Service, now: float) -> None:
        self.backend = backend
        self.service = service
        self.scheduler = Scheduler()
        self.rollouts: list[Rollout] = []  # service.deployments, PRIMARY first
        self.retired: list[Rollout] = []  # left the list since the last sync
        self.deployments: dict[str, ServiceDeployment] = {}  # by ARN, oldest first
        self.revisions: dict[str, ServiceRevision] = {}
        self.tracker = TransitionTracker()
        self._counted = (0, 0)  # (running, pending) last added to the cluster's counts
        # The tasks behind the task IDs of the rollouts (service_tasks.py), by ID.
        self.tasks: dict[str, ServiceTask] = {}
        # The target group production traffic reaches the service's tasks through: the load
        # balancer entry's, until an ECS-native deployment moves it to the alternate one.
        bound = (service.load_balancers or [{}])[0]
        self.live_target_group: str | None = bound.get("targetGroupArn")
        self.rollout_target_groups: dict[str, str | None] = {}
        if not getattr(service, "deployment_configuration", None):
            service.deployment_configuration = copy.deepcopy(DEFAULT_DEPLOYMENT_CONFIGURATION)
        initial = InitialDeployment(self, self.new_revision(service.task_definition, now), now, {})
        self.stable_revision = initial.target_revision
        self._add(initial, now)
        self.sync(now)

    # -- building blocks used by the deployments ----------------------------
    def new_revision(self, task_definition: str | None, at: float) -> ServiceRevision:
        service = self.service
        revision = ServiceRevision(
            arn=ecs_arn(service, "service-revision", new_revision_number()),
            service_arn=service.arn,
            cluster_arn=service.cluster_arn,
            task_definition=task_definition,
            launch_type=service.launch_type,
            platform_version=service.platform_version,
            load_balancers=copy.deepcopy(service.load_balancers),
            network_configuration=copy.deepcopy(service.network_configuration) or None,
            container_images=self._container_images(task_definition),
            created_at=at,
            # moto's UpdateService sets what it does not know on the service as it came.
            volume_configurations=copy.deepcopy(getattr(service, "volume_configurations", None)) or None,
        )
        self.revisions[revision.arn] = revision
        return revision

    def _container_images(self, task_definition: str | None) -> list[dict[str, str]]:
        if not task_definition:
            return []
        try:
            definition = self.backend.describe_task_definition(task_definition)
        except Exception:  # noqa: BLE001 - moto raises several kinds for a missing task definition
            return []
        return [
            {"containerName": str(c.get("name")), "image": str(c.get("image"))}
            for c in definition.container_definitions
            if c.get("name") and c.get("image")
        ]

    def new_rollout(self, revision: ServiceRevision, at: float, status: str) -> Rollout:
        """A new PRIMARY deployment of the revision: the others turn ACTIVE and the
        service runs the revision's task definition from now on."""
        rollout = Rollout(
            id=f"ecs-svc/{revision.arn.rsplit('/', 1)[-1]}",
            revision=revision,
            status=status,
            desired=int(self.service.desired_count or 0),
            created_at=at,
            updated_at=at,
        )
        if any(r.id == rollout.id for r in self.rollouts):
            # The same revision deployed again (a rollback): a deployment id is never reused.
            rollout.id = f"ecs-svc/{new_revision_number()}"
            rollout.set_state("IN_PROGRESS", f"ECS deployment {rollout.id} in progress.")
        self.rollouts.insert(0, rollout)
        self.make_primary(rollout)
        return rollout

    def make_primary(self, rollout: Rollout) -> None:
        for other in self.rollouts:
            if other is not rollout and other.status == "PRIMARY":
                other.status = "ACTIVE"
        rollout.status = "PRIMARY"
        self.rollouts.remove(rollout)
        self.rollouts.insert(0, rollout)
        self.service.task_definition = rollout.revision.task_definition

    # -- the tasks ------------------------------------------------------------
    def alternate_target_group(self) -> str | None:
        """The target group an ECS-native deployment brings its target revision up behind."""
        bound = (self.service.load_balancers or [{}])[0]
        advanced = bound.get("advancedConfiguration") or {}
        pair = [bound.get("targetGroupArn"), advanced.get("alternateTargetGroupArn")]
        if not pair[1]:
            return self.live_target_group
        return pair[1] if self.live_target_group == pair[0] else pair[0]

    def start_task(
        self, rollout: Rollout, at: float, running: bool = False, exits: dict[str, Any] | None = None
    ) -> str:
        """A new task of the rollout (PROVISIONING, or RUNNING at once); its ID."""
        task_id = new_task_id()
        task = launch(
            self.backend, self.service, rollout.revision.task_definition, at, rollout.id, task_id, running, exits
        )
        if task is not None:
            task.target_group_arn = self.rollout_target_groups.get(rollout.id, self.live_target_group)
            self.tasks[task_id] = task
        return task_id

    def task_running(self, task_id: str, at: float) -> None:
        if task_id in self.tasks:
            self.tasks[task_id].mark_running(at)

    def task_exited(self, task_id: str, at: float) -> None:
        if task_id in self.tasks:
            self.tasks[task_id].exit_by_fault(at)
        self.tasks.pop(task_id, None)

    def task_failed(self, task_id: str, at: float, reason: str) -> None:
        if task_id in self.tasks:
            self.tasks[task_id].fail_to_start(at, reason)
        self.tasks.pop(task_id, None)

    def _stop_task(self, task_id: str, at: float, rollout: Rollout) -> None:
        task = self.tasks.pop(task_id, None)
        if task is not None:
            task.stop_by_scheduler(at, rollout.id)

    def stop_tasks(self, at: float, rollouts: list[Rollout]) -> None:
        stopped: list[str] = []
        for rollout in rollouts:
            for task_id in [*rollout.running, *rollout.pending]:
                self._stop_task(task_id, at, rollout)
            stopped.extend(rollout.running)
            rollout.running = []
            rollout.pending = []
            rollout.desired = 0
            rollout.updated_at = at
        if stopped:
            add_event(self.service, at, stopped_message(self.service.name, stopped))

    def retire(self, at: float, rollouts: list[Rollout]) -> None:
        for rollout in rollouts:
            if rollout in self.rollouts:
                self.rollouts.remove(rollout)
                rollout.status = "INACTIVE"
                rollout.updated_at = at
                self.retired.append(rollout)

    # -- calls ------------------------------------------------------------
    def configure(self, config: dict[str, Any]) -> None:
        """Sets the service's deployment configuration. CreateService's own arrives after
        the service (and so its initial service deployment) exists: that one gets it too."""
        self.service.deployment_configuration = config
        if len(self.deployments) == 1:
            only = next(iter(self.deployments.values()))
            if isinstance(only, InitialDeployment):
                only.config = copy.deepcopy(config)

    def in_flight(self) -> ServiceDeployment | None:
        return next((d for d in reversed(self.deployments.values()) if d.in_flight), None)

    def deploy(self, now: float, task_definition: str | None) -> ServiceDeployment:
        """UpdateService with a new task definition or forceNewDeployment."""
        previous = self.in_flight()
        if previous is not None:
            previous.supersede(now)
        strategy = self.service.deployment_configuration.get("strategy") or "ROLLING"
        kind: type[ServiceDeployment] = RollingDeployment if strategy == "ROLLING" else NativeDeployment
        faults = STATE.faults.take_ecs_faults(self.service.cluster_name, self.service.name, kind.FAULT_KINDS)
        exits = self._container_exits(task_definition)
        if exits is not None:
            faults["container_exits"] = exits
        deployment = kind(self, self.new_revision(task_definition, now), now, faults)
        self._add(deployment, now)
        alarms.schedule_faults(self.backend.account_id, self.backend.region_name, now)
        return deployment

    def _container_exits(self, task_definition: str | None) -> dict[str, Any] | None:
        """The container_exits fault a deployment of that task definition takes (one use per
        deployment, as for the other deployment faults): the first container it hits."""
        if not task_definition:
            return None
        try:
            definition = self.backend.describe_task_definition(task_definition)
        except Exception:  # noqa: BLE001 - moto raises several kinds for a missing task definition
            return None
        containers = [
            (str(c.get("name")), c.get("essential", True) is not False) for c in definition.container_definitions
        ]
        taken = STATE.faults.take_container_exits(fault_mark(definition), containers)
        if not taken:
            return None
        name, fault = next(iter(taken.items()))
        return {**fault, "container": name}

    def scale(self, now: float, desired: int) -> None:
        """UpdateService with only a new desired count: a settled service follows at once."""
        self.service.desired_count = desired
        primary = self.rollouts[0] if self.rollouts else None
        if primary is None:
            return
        primary.desired = desired
        if self.in_flight() is not None:
            return
        if len(primary.running) < desired:
            started = [self.start_task(primary, now, running=True) for _ in range(desired - len(primary.running))]
            primary.running.extend(started)
            add_event(self.service, now, started_message(self.service.name, started))
        elif len(primary.running) > desired:
            stopped = primary.running[desired:]
            del primary.running[desired:]
            for task_id in stopped:
                self._stop_task(task_id, now, primary)
            add_event(self.service, now, stopped_message(self.service.name, stopped))
        primary.updated_at = now

    def _add(self, deployment: ServiceDeployment, now: float) -> None:
        self.deployments[deployment.arn] = deployment
        deployment.start(now)

    # -- advancing --------------------------------------------------------
    def advance(self, now: float) -> None:
        self.scheduler.horizon = now
        for deployment in list(self.deployments.values()):
            deployment.watch_alarms(now)
        while (due := self.scheduler.pop_due(now)) is not None:
            at, action = due
            action(at)
            self.sync(at)

    def sync(self, at: float) -> None:
        """Mirrors the state into moto's service and logs what changed."""
        service = self.service
        service.deployments = [rollout.describe(service) for rollout in self.rollouts]
        running = sum(len(r.running) for r in self.rollouts)
        pending = sum(len(r.pending) for r in self.rollouts)
        service.running_count, service.pending_count = running, pending
        self._count_in_cluster(running, pending)
        latest = next(reversed(self.deployments.values()), None)
        service.current_service_deployment = latest.arn if latest is not None else None
        service.current_service_revisions = [rollout.summary() for rollout in self.rollouts]
        self.tracker.sync(at, self._observed())
        self.retired.clear()

    def _count_in_cluster(self, running: int, pending: int) -> None:
        cluster = self.backend.clusters.get(self.service.cluster_name)
        if cluster is not None:
            cluster.running_tasks_count += running - self._counted[0]
            cluster.pending_tasks_count += pending - self._counted[1]
        self._counted = (running, pending)

    def uncount_from_cluster(self) -> None:
        """moto's own UpdateService takes the service's tasks off the cluster's counts."""
        self._counted = (0, 0)

    def _observed(self) -> dict[FieldKey, str]:
        observed: dict[FieldKey, str] = {}
        for rollout in [*self.rollouts, *self.retired]:
            key = ("ecs-rolling", rollout.id)
            observed[(*key, "status")] = rollout.status
            observed[(*key, "rolloutState")] = rollout.rollout_state
            observed[(*key, "runningCount")] = str(len(rollout.running))
            observed[(*key, "pendingCount")] = str(len(rollout.pending))
            observed[(*key, "failedTasks")] = str(rollout.failed)
        for deployment in self.deployments.values():
            observed.update(deployment.observed())
        return observed


# ----------------------------------------------------------------------
# Access
# ----------------------------------------------------------------------
def controller(service: Service) -> ServiceController | None:
    return getattr(service, "_greenlight_ecs", None)


def attach(backend: EC2ContainerServiceBackend, service: Service) -> ServiceController:
    ctl = ServiceController(backend, service, STATE.clock.now())
    service._greenlight_ecs = ctl
    return ctl


def tick_all() -> None:
    """Advances every ECS-controller service of every account and region to now."""
    now = STATE.clock.now()
    for _account, regions in list(ecs_backends.items()):
        for _region, backend in list(regions.items()):
            for service in list(backend.services.values()):
                ctl = controller(service)
                if ctl is not None and service.status == "ACTIVE":
                    ctl.advance(now)


def _controller_for_arn(backend: EC2ContainerServiceBackend, arn: str, resource: str) -> ServiceController | None:
    """The controller of the service a service-deployment or service-revision ARN names."""
    parsed = parse_ecs_arn(arn, resource)
    if parsed is None:
        return None
    region, account, cluster, name, _ident = parsed
    if region != backend.region_name or account != backend.account_id:
        return None
    service = backend.services.get(f"{cluster}:{name}")
    return controller(service) if service is not None else None


def find_service_deployment(backend: EC2ContainerServiceBackend, arn: str) -> ServiceDeployment | None:
    ctl = _controller_for_arn(backend, arn, "service-deployment")
    return ctl.deployments.get(arn) if ctl is not None else None


def find_revision(backend: EC2ContainerServiceBackend, arn: str) -> ServiceRevision | None:
    ctl = _controller_for_arn(backend, arn, "service-revision")
    return ctl.revisions.get(arn) if ctl is not None else None
