"""The time-driven lifecycle of an ECS blue/green deployment.

A deployment is a small state machine whose phases end at known AWS instants
(see ../clock.py). Nothing runs in the background: before every request the
middleware advances each deployment to "now", applying every phase end that
is due, in order, at the instant it was due. So the outcome depends only on
AWS time and on the calls made, never on how often a client polls.

AWS-time durations of the phases (compressed by the time scale):

  Created -> InProgress ............ START_DELAY
  a hook event (BeforeInstall, AfterInstall, AfterAllowTestTraffic,
    BeforeAllowTraffic, AfterAllowTraffic) with a Lambda in the AppSpec ... HOOK_DURATION
    without a Lambda ................ NO_HOOK_DURATION
  Install (replacement task set starts and gets healthy) ... INSTALL_DURATION
  AllowTestTraffic ................. TEST_TRAFFIC_DURATION
  [Ready: only with deploymentReadyOption.actionOnTimeout=STOP_DEPLOYMENT;
    until ContinueDeployment(READY_WAIT), or Stopped after waitTimeInMinutes]
  AllowTraffic ..................... the traffic shifts of the deployment
    configuration (canary: N% at once, the rest after the interval; linear:
    N% more every interval; all-at-once: 100%) + TRAFFIC_SETTLE after the last one
  [termination wait: terminateBlueInstancesOnDeploymentSuccess
    .terminationWaitTimeInMinutes, status stays InProgress;
    ContinueDeployment(TERMINATION_WAIT) ends it early]
  -> Succeeded

StopDeployment takes effect STOP_DELAY after the call; a rollback deployment
(creator codeDeployRollback) reroutes traffic back in ROLLBACK_DURATION.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import string
from typing import Any

import yaml
from moto.codedeploy.models import Application, CodeDeployBackend, DeploymentGroup, DeploymentInfo, codedeploy_backends

from .. import alarms
from ..control import LIFECYCLE_EVENTS, STATE, FieldKey, TransitionTracker, percent_text, wall_datetime
from ..ecs import task_sets
from ..ecs.model import RELAUNCH_DELAY, TASK_LOG_LINE_SECONDS, TASK_RUN_SECONDS, TASK_START_INTERVAL
from ..ecs.tasks import fault_mark
from ..elbv2 import target_group_arn
from .configs import traffic_schedule, weight_at

START_DELAY = 2.0
HOOK_DURATION = 4.0
NO_HOOK_DURATION = 1.0
INSTALL_DURATION = 60.0
INSTALL_FAILURE_DURATION = 5.0
TEST_TRAFFIC_DURATION = 5.0
TRAFFIC_SETTLE = 5.0
STOP_DELAY = 2.0
ROLLBACK_DURATION = 15.0

HOOK_EVENTS = {"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}
ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")

PHASE_CREATED = "created"
PHASE_EVENT = "event"
PHASE_READY = "ready"
PHASE_TERMINATION_WAIT = "termination_wait"
PHASE_DONE = "done"

_ID_ALPHABET = string.ascii_uppercase + string.digits
INDEX = {name: i for i, name in enumerate(LIFECYCLE_EVENTS)}


def new_deployment_id(taken: Any = ()) -> str:
    while True:
        candidate = "d-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))
        if candidate not in taken:
            return candidate


def alarm_message(names: list[str]) -> str:
    """errorInformation.message of a deployment an alarm stopped (ALARM_ACTIVE)."""
    return (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
        f"and the affected deployments have been stopped. Activated alarms: <{', '.join(names)}>"
    )


def unhealthy_replacement_message(task_set_id: str, exits: dict[str, Any]) -> str:
    """Why Install failed when the replacement task set's tasks keep exiting (an emulator
    wording, in the manner of CodeDeploy's ECS_UPDATE_ERROR messages)."""
    detail = f"{exits.get('container')} exited with code {exits.get('exitCode')}"
    if exits.get("reason"):
        detail += f": {exits['reason']}"
    return (
        f"The ECS service cannot be updated due to an unexpected error: the replacement task set "
        f"{task_set_id} did not become healthy: its tasks stopped (Essential container in task exited; "
        f"{detail})."
    )


def register_deployment(backend: CodeDeployBackend, deployment: DeploymentInfo) -> None:
    backend.deployments[deployment.deployment_id] = deployment


def parse_appspec(revision: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """(appspec, error message) from a CreateDeployment revision."""
    if not revision:
        return None, "The revision is missing."
    kind = revision.get("revisionType")
    if kind == "AppSpecContent":
        content = (revision.get("appSpecContent") or {}).get("content")
    elif kind == "String":
        content = (revision.get("string") or {}).get("content")
    else:
        return None, f"Revision type {kind} is not supported for deployments to the ECS compute platform."
    if not content:
        return None, "The AppSpec content is empty."
    try:
        appspec = json.loads(content)
    except ValueError:
        try:
            appspec = yaml.safe_load(content)
        except Exception as exc:  # noqa: BLE001 - any parse error is an invalid revision
            return None, f"The AppSpec file cannot be parsed: {exc}"
    if not isinstance(appspec, dict):
        return None, "The AppSpec file must be a JSON or YAML object."
    resources = appspec.get("Resources")
    if not isinstance(resources, list) or not resources:
        return None, "The AppSpec file must specify exactly one ECS service in Resources."
    first = resources[0] if isinstance(resources[0], dict) else {}
    target = next(iter(first.values()), None) if first else None
    if not isinstance(target, dict) or target.get("Type") != "AWS::ECS::Service":
        return None, "The AppSpec file must specify a resource of type AWS::ECS::Service."
    properties = target.get("Properties") or {}
    if not properties.get("TaskDefinition"):
        return None, "The AppSpec file does not specify a TaskDefinition for the ECS service."
    lb = properties.get("LoadBalancerInfo") or {}
    if not lb.get("ContainerName") or lb.get("ContainerPort") in (None, ""):
        return None, "The AppSpec file must specify LoadBalancerInfo with ContainerName and ContainerPort."
    return appspec, None


def appspec_target(appspec: dict[str, Any]) -> dict[str, Any]:
    first = appspec["Resources"][0]
    return next(iter(first.values()))["Properties"]


def appspec_hooks(appspec: dict[str, Any] | None) -> dict[str, str]:
    hooks: dict[str, str] = {}
    for entry in (appspec or {}).get("Hooks") or []:
        if isinstance(entry, dict):
            for name, function in entry.items():
                hooks[str(name)] = str(function)
    return hooks


def revision_with_digest(revision: dict[str, Any] | None) -> dict[str, Any] | None:
    if not revision:
        return revision
    revision = json.loads(json.dumps(revision))
    for key in ("appSpecContent", "string"):
        block = revision.get(key)
        if isinstance(block, dict) and block.get("content") and not block.get("sha256"):
            block["sha256"] = hashlib.sha256(block["content"].encode()).hexdigest()
    return revision


class LifecycleEvent:
    def __init__(self, name: str) -> None:
        self.name = name
        self.status = "Pending"
        self.start: float | None = None
        self.end: float | None = None
        self.diagnostics: dict[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lifecycleEventName": self.name, "status": self.status}
        if self.start is not None:
            out["startTime"] = wall_datetime(self.start)
        if self.end is not None:
            out["endTime"] = wall_datetime(self.end)
        if self.diagnostics:
            out["diagnostics"] = dict(self.diagnostics)
        return out


class EcsDeployment(DeploymentInfo):
    """A moto DeploymentInfo that runs the ECS blue/green lifecycle."""

    def __init__(
        self,
        backend: CodeDeployBackend,
        application: Application,
        deployment_group: DeploymentGroup,
        revision: dict[str, Any] | None,
        deployment_config_name: str,
        traffic_routing: dict[str, Any] | None,
        description: str | None,
        auto_rollback_configuration: dict[str, Any] | None,
        creator: str = "user",
        rollback_of: EcsDeployment | None = None,
    ) -> None:
        super().__init__(
            application,
            deployment_group,
            revision_with_digest(revision) or {},
            deployment_config_name,
            description,
            None,
            None,
            auto_rollback_configuration,
            None,
            None,
            None,
            creator,
        )
        self.deployment_id = new_deployment_id(backend.deployments)
        self.account_id = backend.account_id
        self.region = backend.region_name
        self.traffic_schedule = traffic_schedule(traffic_routing)
        self.rollback_of = rollback_of
        self.rollback_deployment: EcsDeployment | None = None
        self.rollback_note: str | None = None
        self.error_information: dict[str, str] | None = None
        self.status_messages: list[str] = []
        self.instance_termination_wait_time_started = False

        now = STATE.clock.now()
        self.aws_create = now
        self.aws_start: float | None = None
        self.aws_complete: float | None = None
        self.aws_updated = now
        self.create_time = wall_datetime(now)
        self.phase = PHASE_CREATED
        self.phase_start = now
        self.event_index = -1
        self.events = [LifecycleEvent(name) for name in LIFECYCLE_EVENTS]
        self.target_status = "Pending"
        self.pending_stop: tuple[float, bool] | None = None
        self.allow_traffic_start: float | None = None
        self.green_weight_fixed: float | None = None
        self.primary_switched = False
        self.install_error: str | None = None
        # A container_exits fault the replacement task set's revision was hit by: its tasks
        # keep exiting and it never gets healthy, so Install fails (see _create_replacement).
        self.install_exits: dict[str, Any] | None = None

        # What the deployment group points at.
        ecs_services = deployment_group.ecs_services or [{}]
        self.cluster = ecs_services[0].get("clusterName", "default")
        self.service_name = ecs_services[0].get("serviceName", "")
        pairs = (deployment_group.load_balancer_info or {}).get("targetGroupPairInfoList") or [{}]
        self.target_groups = [tg.get("name") for tg in pairs[0].get("targetGroups") or [] if tg.get("name")]
        bg = deployment_group.blue_green_deployment_configuration or {}
        ready = bg.get("deploymentReadyOption") or {}
        self.ready_action = ready.get("actionOnTimeout") or "CONTINUE_DEPLOYMENT"
        self.ready_wait_minutes = float(ready.get("waitTimeInMinutes") or 0)
        termination = bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        self.termination_wait_minutes = float(termination.get("terminationWaitTimeInMinutes") or 0)

        # The revision and the ECS objects it concerns.
        self.appspec, self.revision_error = parse_appspec(self.revision)
        self.hooks = appspec_hooks(self.appspec)
        service = task_sets.find_service(self.account_id, self.region, self.cluster, self.service_name)
        self.desired_count = service.desired_count if service else 0
        self.service_arn = (
            service.arn
            if service
            else (f"arn:aws:ecs:{self.region}:{self.account_id}:service/{self.cluster}/{self.service_name}")
        )
        self.original_task_definition = service.task_definition if service else None
        self.new_task_definition: str | None = None
        if self.appspec is not None:
            self.new_task_definition = str(appspec_target(self.appspec)["TaskDefinition"])
        self.blue_task_set = None
        self.green_task_set = None
        self.blue_task_set_id: str | None = None
        self.green_task_set_id: str | None = None
        live_tg = getattr(service, "_greenlight_prod_target_group", None) if service else None
        if live_tg is None and self.target_groups:
            live_tg = self.target_groups[0]
        self.blue_target_group = live_tg
        others = [tg for tg in self.target_groups if tg != live_tg]
        self.green_target_group = others[0] if others else live_tg
        if service is not None and rollback_of is None:
            self.blue_task_set = task_sets.ensure_primary_task_set(service)
            self.blue_task_set_id = self.blue_task_set.id

        # Faults bound now, so later changes to the fault list do not affect it.
        if rollback_of is None:
            faults = STATE.faults.take_deployment_faults(self.application_name, self.deployment_group_name)
        else:
            faults = {"fail_event": None, "never_ready": False, "rollback_seconds": None}
        if rollback_of is None:
            alarms.schedule_faults(self.account_id, self.region, now)
        self.fail_event: dict[str, Any] | None = faults["fail_event"]
        self.never_ready: bool = faults["never_ready"]
        # AWS seconds this deployment's rollback takes to reroute traffic (a `slow_rollback`
        # fault); for a rollback deployment, copied from the deployment it rolls back.
        self.rollback_seconds: float | None = faults.get("rollback_seconds")

        self._transitions = TransitionTracker()
        self._traffic_logged_until = now
        if rollback_of is None:
            # A rollback deployment is logged by its creator, at the instant it was due.
            self.log_transitions(now)

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------
    @property
    def is_rollback(self) -> bool:
        return self.rollback_of is not None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def service(self):
        return task_sets.find_service(self.account_id, self.region, self.cluster, self.service_name)

    def green_weight(self, now: float) -> float:
        if self.green_weight_fixed is not None:
            return self.green_weight_fixed
        if self.allow_traffic_start is None:
            return 0.0
        return weight_at(self.traffic_schedule, now - self.allow_traffic_start)

    def rollback_enabled(self, event: str) -> bool:
        config = self.auto_rollback_configuration
        if config is None:
            config = self.deployment_group.auto_rollback_configuration or {}
        return bool(config.get("enabled")) and event in (config.get("events") or [])

    # ------------------------------------------------------------------
    # Transitions log
    # ------------------------------------------------------------------
    def _observed(self, at: float) -> dict[FieldKey, str]:
        ident = self.deployment_id
        observed: dict[FieldKey, str] = {("codedeploy", ident, "status"): str(self.status)}
        for event in self.events:
            if event.status != "Pending":
                observed[("codedeploy", ident, f"lifecycleEvent {event.name}")] = event.status
        if self.allow_traffic_start is not None or self.green_weight_fixed is not None:
            observed[("codedeploy", ident, "trafficWeight")] = percent_text(self.green_weight(at))
        return observed

    def log_transitions(self, at: float) -> None:
        """Logs what changed in this deployment's observable state, as of the AWS instant at."""
        self._transitions.sync(at, self._observed(at))

    def _log_traffic_steps(self, until: float) -> None:
        """Traffic shifts happen inside AllowTraffic, between phase ends: log each one
        scheduled after the last logged instant and not after until."""
        if self.allow_traffic_start is not None and self.green_weight_fixed is None:
            for offset, _percent in self.traffic_schedule:
                at = self.allow_traffic_start + offset
                if self._traffic_logged_until < at <= until:
                    self.log_transitions(at)
        self._traffic_logged_until = max(self._traffic_logged_until, until)

    # ------------------------------------------------------------------
    # Advancing
    # ------------------------------------------------------------------
    def _event_duration(self, index: int) -> float:
        name = LIFECYCLE_EVENTS[index]
        if name in HOOK_EVENTS:
            return HOOK_DURATION if name in self.hooks else NO_HOOK_DURATION
        if name == "Install":
            if self.install_error is not None:
                return INSTALL_FAILURE_DURATION
            if self.never_ready:
                return math.inf
            return INSTALL_DURATION
        if name == "AllowTestTraffic":
            return TEST_TRAFFIC_DURATION
        if name == "AllowTraffic":
            if self.is_rollback:
                return self.rollback_seconds or ROLLBACK_DURATION
            return self.traffic_schedule[-1][0] + TRAFFIC_SETTLE
        return 1.0

    def _due(self) -> float | None:
        if self.phase == PHASE_CREATED:
            return self.phase_start + START_DELAY
        if self.phase == PHASE_EVENT:
            return self.phase_start + self._event_duration(self.event_index)
        if self.phase == PHASE_READY:
            return self.phase_start + self.ready_wait_minutes * 60.0
        if self.phase == PHASE_TERMINATION_WAIT:
            return self.phase_start + self.termination_wait_minutes * 60.0
        return None

    def advance(self, now: float) -> None:
        for _ in range(10_000):
            if self.phase == PHASE_DONE:
                return
            due = self._due()
            if self.pending_stop is not None:
                stop_at, rollback = self.pending_stop
                if stop_at <= now and (due is None or stop_at <= due):
                    self._log_traffic_steps(stop_at)
                    self.pending_stop = None
                    self._stop(
                        stop_at,
                        "MANUAL_STOP",
                        "The deployment was stopped by a StopDeployment request.",
                        "DEPLOYMENT_STOP_ON_REQUEST" if rollback else None,
                        force_rollback=rollback,
                    )
                    self.log_transitions(stop_at)
                    continue
            alarm = self._alarm_trigger()
            if alarm is not None:
                alarm_at, names = alarm
                if alarm_at <= now and (due is None or alarm_at <= due):
                    self._log_traffic_steps(alarm_at)
                    self._stop(alarm_at, "ALARM_ACTIVE", alarm_message(names), "DEPLOYMENT_STOP_ON_ALARM")
                    self.log_transitions(alarm_at)
                    continue
            if due is None or due > now:
                self._log_traffic_steps(now)
                return
            self._log_traffic_steps(due)
            self._complete_phase(due)
            self.log_transitions(due)

    def watched_alarms(self) -> list[str]:
        """The alarms of the group's alarmConfiguration, when it is enabled."""
        config = self.deployment_group.alarm_configuration
        if config is None:
            return []
        if not isinstance(config, dict):
            config = {"enabled": getattr(config, "enabled", False), "alarms": getattr(config, "alarms", [])}
        if not config.get("enabled"):
            return []
        return [str(a.get("name")) for a in config.get("alarms") or [] if isinstance(a, dict) and a.get("name")]

    def _alarm_trigger(self) -> tuple[float, list[str]] | None:
        """When a watched alarm went into ALARM during this deployment (rollbacks watch none)."""
        if self.is_rollback or self.phase == PHASE_DONE:
            return None
        return alarms.watched(self.account_id, self.region, self.watched_alarms(), self.aws_create)

    def _complete_phase(self, at: float) -> None:
        self.aws_updated = at
        if self.phase == PHASE_CREATED:
            self._begin(at)
        elif self.phase == PHASE_EVENT:
            self._finish_event(at)
        elif self.phase == PHASE_READY:
            minutes = int(self.ready_wait_minutes) if self.ready_wait_minutes.is_integer() else self.ready_wait_minutes
            self._stop(
                at,
                "TIMEOUT",
                "The deployment was stopped because traffic was not rerouted to the replacement "
                f"task set within the specified wait time of {minutes} minutes.",
                None,
            )
        elif self.phase == PHASE_TERMINATION_WAIT:
            self._succeed(at)

    def _begin(self, at: float) -> None:
        self.status = "InProgress"
        self.aws_start = at
        self.start_time = wall_datetime(at)
        self.target_status = "InProgress"
        if self.is_rollback:
            for event in self.events:
                if event.name != "AllowTraffic":
                    event.status = "Skipped"
            self._start_event(INDEX["AllowTraffic"], at)
            return
        if self.revision_error is not None:
            self._fail(at, None, "INVALID_REVISION", self.revision_error, rollback_event=None)
            return
        if self.service() is None:
            self._fail(
                at,
                None,
                "INVALID_ECS_SERVICE",
                f"The ECS service {self.service_name} in cluster {self.cluster} does not exist or is not ACTIVE.",
                rollback_event=None,
            )
            return
        self._start_event(0, at)

    def _start_event(self, index: int, at: float) -> None:
        event = self.events[index]
        event.status = "InProgress"
        event.start = at
        self.phase = PHASE_EVENT
        self.event_index = index
        self.phase_start = at
        if self.is_rollback:
            return
        if event.name == "Install":
            self._create_replacement(at)
        elif event.name == "AllowTraffic":
            self.allow_traffic_start = at

    def _create_replacement(self, at: float) -> None:
        service = self.service()
        if service is None:
            self.install_error = f"The ECS service {self.service_name} no longer exists."
            return
        backend = task_sets.ecs_backend(self.account_id, self.region)
        try:
            task_definition = backend.describe_task_definition(self.new_task_definition or "")
        except Exception:  # noqa: BLE001 - moto raises several kinds for a missing task definition
            self.install_error = (
                "The ECS service cannot be updated due to an unexpected error: Unable to find task "
                f"definition {self.new_task_definition}."
            )
            return
        lb = appspec_target(self.appspec).get("LoadBalancerInfo") or {}
        container_name = str(lb.get("ContainerName"))
        try:
            container_port = int(lb.get("ContainerPort"))
        except (TypeError, ValueError):
            container_port = -1
        containers = {c.get("name"): c for c in task_definition.container_definitions}
        if container_name not in containers:
            self.install_error = (
                "The ECS service cannot be updated due to an unexpected error: The container "
                f"{container_name} does not exist in the task definition."
            )
            return
        ports = {
            int(m.get("containerPort"))
            for m in containers[container_name].get("portMappings") or []
            if m.get("containerPort") is not None
        }
        if container_port not in ports:
            self.install_error = (
                "The ECS service cannot be updated due to an unexpected error: The container "
                f"{container_name} did not have a container port {container_port} defined."
            )
            return
        self.new_task_definition = task_definition.arn
        hit = [(str(c.get("name")), c.get("essential", True) is not False) for c in task_definition.container_definitions]
        taken = STATE.faults.take_container_exits(fault_mark(task_definition), hit)
        if taken:
            name, fault = next(iter(taken.items()))
            self.install_exits = {**fault, "container": name}
        self.green_task_set = task_sets.new_task_set(
            service,
            task_definition.arn,
            "ACTIVE",
            "CodeDeploy",
            exits=self.install_exits,
            target_group_arn=target_group_arn(self.account_id, self.region, self.green_target_group),
            at=at,
        )
        self.green_task_set_id = self.green_task_set.id
        if self.install_exits is not None:
            # Its tasks run, their essential container exits and ECS replaces them, until
            # CodeDeploy gives up on the task set at the end of Install.
            lines = len(self.install_exits.get("log") or [])
            run = max(TASK_RUN_SECONDS, lines * TASK_LOG_LINE_SECONDS)
            task_sets.plan_failing_tasks(
                self.green_task_set, at, at + INSTALL_DURATION, (TASK_START_INTERVAL, run, RELAUNCH_DELAY)
            )
        task_sets.refresh_service_counts(service)

    def _finish_event(self, at: float) -> None:
        index = self.event_index
        event = self.events[index]
        name = event.name
        if not self.is_rollback:
            if name == "Install" and self.install_error is not None:
                self._fail(
                    at,
                    index,
                    "ECS_UPDATE_ERROR",
                    self.install_error,
                    rollback_event="DEPLOYMENT_FAILURE",
                    diagnostics={"errorCode": "UnknownError", "message": self.install_error},
                )
                return
            if name == "Install" and self.install_exits is not None:
                message = unhealthy_replacement_message(self.green_task_set_id or "", self.install_exits)
                self._fail(
                    at,
                    index,
                    "ECS_UPDATE_ERROR",
                    message,
                    rollback_event="DEPLOYMENT_FAILURE",
                    diagnostics={"errorCode": "UnknownError", "message": message},
                )
                return
            if self.fail_event is not None and self.fail_event["event"] == name:
                self._fail_by_fault(at, index)
                return
        event.status = "Succeeded"
        event.end = at
        if self.is_rollback:
            self._finish_rollback(at)
            return
        if name == "Install" and self.green_task_set is not None:
            task_sets.set_counts(self.green_task_set, self.desired_count, self.desired_count, at)
            service = self.service()
            if service is not None:
                task_sets.refresh_service_counts(service)
        if name == "AllowTraffic":
            self.green_weight_fixed = 100.0
            self._switch_primary()
        if name == "AfterAllowTestTraffic" and self.ready_action == "STOP_DEPLOYMENT":
            self.phase = PHASE_READY
            self.phase_start = at
            self.status = "Ready"
            self.target_status = "Ready"
            return
        if name == "AfterAllowTraffic":
            if self.termination_wait_minutes > 0:
                self.phase = PHASE_TERMINATION_WAIT
                self.phase_start = at
                self.instance_termination_wait_time_started = True
                return
            self._succeed(at)
            return
        self._start_event(index + 1, at)

    def _switch_primary(self) -> None:
        service = self.service()
        if service is None or self.green_task_set is None:
            return
        task_sets.make_primary(service, self.green_task_set)
        self.primary_switched = True
        if self.green_target_group:
            service._greenlight_prod_target_group = self.green_target_group

    def _succeed(self, at: float) -> None:
        self.status = "Succeeded"
        self.target_status = "Succeeded"
        self.phase = PHASE_DONE
        self.aws_complete = at
        self.complete_time = wall_datetime(at)
        self.green_weight_fixed = 100.0
        service = self.service()
        if service is not None:
            if self.blue_task_set is not None:
                task_sets.set_counts(self.blue_task_set, 0, 0, at)
                self.blue_task_set.status = "DRAINING"
                task_sets.remove_task_set(service, self.blue_task_set, at)
            task_sets.refresh_service_counts(service)

    def _fail_by_fault(self, at: float, index: int) -> None:
        fault = self.fail_event or {}
        name = LIFECYCLE_EVENTS[index]
        function = self.hooks.get(name)
        if name in HOOK_EVENTS:
            hook = function or f"{name}Hook"
            message = fault.get("message") or f"The {name} hook {hook} Lambda returned Failed"
            code = fault.get("errorCode") or "HOOK_EXECUTION_FAILURE"
            diagnostics = {"errorCode": "ScriptFailed", "scriptName": hook, "message": message, "logTail": ""}
            deployment_message = f"The deployment failed because the {name} lifecycle event hook failed: {message}"
        else:
            message = fault.get("message") or (
                f"The ECS service cannot be updated due to an unexpected error during {name}."
            )
            code = fault.get("errorCode") or "ECS_UPDATE_ERROR"
            diagnostics = {"errorCode": "UnknownError", "message": message}
            deployment_message = message
        self._fail(at, index, code, deployment_message, rollback_event="DEPLOYMENT_FAILURE", diagnostics=diagnostics)

    def _close_events(
        self, at: float, index: int | None, failed_status: str, diagnostics: dict[str, Any] | None
    ) -> None:
        for i, event in enumerate(self.events):
            if index is not None and i == index:
                event.status = failed_status
                event.end = at
                if event.start is None:
                    event.start = at
                if diagnostics:
                    event.diagnostics = diagnostics
            elif event.status in ("Pending", "InProgress"):
                event.status = "Skipped"

    def _fail(
        self,
        at: float,
        index: int | None,
        code: str,
        message: str,
        rollback_event: str | None,
        diagnostics: dict[str, Any] | None = None,
    ) -> None:
        self.green_weight_fixed = self.green_weight(at)
        self._close_events(at, index, "Failed", diagnostics)
        self.status = "Failed"
        self.target_status = "Failed"
        self.error_information = {"code": code, "message": message}
        self._end(at, rollback_event)

    def _stop(
        self, at: float, code: str, message: str, rollback_event: str | None, force_rollback: bool | None = None
    ) -> None:
        self.green_weight_fixed = self.green_weight(at)
        index = self.event_index if self.phase == PHASE_EVENT else None
        self._close_events(at, index, "Failed", None)
        self.status = "Stopped"
        self.target_status = "Failed"
        self.error_information = {"code": code, "message": message}
        self._end(at, rollback_event, force_rollback)

    def _end(self, at: float, rollback_event: str | None, force_rollback: bool | None = None) -> None:
        self.phase = PHASE_DONE
        self.aws_complete = at
        self.aws_updated = at
        self.complete_time = wall_datetime(at)
        if self.is_rollback:
            return
        if force_rollback is None:
            wants_rollback = rollback_event is not None and self.rollback_enabled(rollback_event)
        else:
            wants_rollback = force_rollback
        if not wants_rollback:
            self._clean_up_without_rollback(at)
            return
        if self.green_task_set is None:
            self.rollback_note = (
                "Rollback was not needed: the deployment ended before the replacement task set was created."
            )
            return
        self._start_rollback(at)

    def _clean_up_without_rollback(self, at: float) -> None:
        service = self.service()
        if service is None:
            return
        if self.primary_switched:
            # Production traffic stays on the replacement; the original goes.
            if self.blue_task_set is not None:
                task_sets.remove_task_set(service, self.blue_task_set, at)
        elif self.green_task_set is not None:
            task_sets.remove_task_set(service, self.green_task_set, at)
            self.green_weight_fixed = 0.0

    def _start_rollback(self, at: float) -> None:
        original = self.original_task_definition or ""
        lb = appspec_target(self.appspec).get("LoadBalancerInfo") or {} if self.appspec else {}
        content = json.dumps(
            {
                "version": 0.0,
                "Resources": [
                    {
                        "TargetService": {
                            "Type": "AWS::ECS::Service",
                            "Properties": {"TaskDefinition": original, "LoadBalancerInfo": lb},
                        }
                    }
                ],
            }
        )
        backend = self.backend()
        rollback = EcsDeployment(
            backend,
            self.application,
            self.deployment_group,
            {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
            str(self.deployment_config_name),
            None,
            None,
            self.auto_rollback_configuration,
            creator="codeDeployRollback",
            rollback_of=self,
        )
        rollback.aws_create = at
        rollback.phase_start = at
        rollback.create_time = wall_datetime(at)
        rollback.blue_task_set = self.blue_task_set
        rollback.green_task_set = self.green_task_set
        rollback.blue_task_set_id = self.blue_task_set_id
        rollback.green_task_set_id = self.green_task_set_id
        rollback.blue_target_group = self.blue_target_group
        rollback.green_target_group = self.green_target_group
        rollback.green_weight_fixed = None
        rollback.desired_count = self.desired_count
        rollback.rollback_seconds = self.rollback_seconds
        rollback.original_task_definition = self.new_task_definition
        rollback.new_task_definition = self.original_task_definition
        self.rollback_deployment = rollback
        register_deployment(backend, rollback)
        rollback._traffic_logged_until = at
        rollback.log_transitions(at)

    def _finish_rollback(self, at: float) -> None:
        """The rollback deployment rerouted production traffic to the original task set."""
        triggering = self.rollback_of
        assert triggering is not None
        service = self.service()
        if service is not None:
            if self.blue_task_set is not None:
                if self.blue_task_set not in service.task_sets:
                    service.task_sets.append(self.blue_task_set)
                task_sets.make_primary(service, self.blue_task_set)
            if self.green_task_set is not None:
                task_sets.set_counts(self.green_task_set, 0, 0, at)
                self.green_task_set.status = "DRAINING"
                task_sets.remove_task_set(service, self.green_task_set, at)
            if self.blue_target_group:
                service._greenlight_prod_target_group = self.blue_target_group
            task_sets.refresh_service_counts(service)
        triggering.green_weight_fixed = 0.0
        triggering.log_transitions(at)
        self.green_weight_fixed = 0.0
        for event in self.events:
            if event.status == "Pending":
                event.status = "Skipped"
        self.status = "Succeeded"
        self.target_status = "Succeeded"
        self.phase = PHASE_DONE
        self.aws_complete = at
        self.complete_time = wall_datetime(at)

    def backend(self) -> CodeDeployBackend:
        return codedeploy_backends[self.account_id][self.region]

    # ------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------
    def request_stop(self, now: float, rollback: bool) -> None:
        if self.pending_stop is None:
            self.pending_stop = (now + STOP_DELAY, rollback)

    def continue_ready(self, now: float) -> None:
        self.status = "InProgress"
        self.target_status = "InProgress"
        self.aws_updated = now
        self._start_event(INDEX["BeforeAllowTraffic"], now)
        self.log_transitions(now)

    def end_termination_wait(self, now: float) -> None:
        self.aws_updated = now
        self._succeed(now)
        self.log_transitions(now)

    # ------------------------------------------------------------------
    # API shapes
    # ------------------------------------------------------------------
    def overview(self) -> dict[str, int]:
        counts = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
        if self.target_status in counts:
            counts[self.target_status] = 1
        return counts

    def rollback_info(self) -> dict[str, Any] | None:
        if self.rollback_of is not None:
            return {
                "rollbackTriggeringDeploymentId": self.rollback_of.deployment_id,
                "rollbackMessage": f"Rollback of deployment {self.rollback_of.deployment_id}.",
            }
        if self.rollback_deployment is not None:
            rb = self.rollback_deployment
            if rb.status == "Succeeded":
                message = f"Rollback deployment {rb.deployment_id} succeeded: production traffic is back on the original task set."
            elif rb.status in ("Failed", "Stopped"):
                message = f"Rollback deployment {rb.deployment_id} {rb.status.lower()}."
            else:
                message = f"Rollback deployment {rb.deployment_id} is in progress."
            return {"rollbackDeploymentId": rb.deployment_id, "rollbackMessage": message}
        if self.rollback_note is not None:
            return {"rollbackMessage": self.rollback_note}
        return None

    def task_sets_info(self, now: float) -> list[dict[str, Any]]:
        weight = self.green_weight(now)
        infos: list[dict[str, Any]] = []
        blue, green = self.blue_task_set, self.green_task_set
        if blue is not None:
            infos.append(
                self._task_set_info(blue, self.blue_task_set_id, 100.0 - weight, self.blue_target_group, "Blue")
            )
        if green is not None:
            infos.append(self._task_set_info(green, self.green_task_set_id, weight, self.green_target_group, "Green"))
        return infos

    def _task_set_info(
        self, task_set: Any, identifier: str | None, weight: float, target_group: str | None, label: str
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "identifer": identifier,
            "desiredCount": int(getattr(task_set, "computed_desired_count", 0)),
            "pendingCount": int(getattr(task_set, "pending_count", 0)),
            "runningCount": int(getattr(task_set, "running_count", 0)),
            "status": task_set.status,
            "trafficWeight": float(weight),
            "taskSetLabel": label,
        }
        if target_group:
            info["targetGroup"] = {"name": target_group}
        return info

    def target_id(self) -> str:
        return f"{self.cluster}:{self.service_name}"

    def ecs_target(self, now: float) -> dict[str, Any]:
        return {
            "deploymentId": self.deployment_id,
            "targetId": self.target_id(),
            "targetArn": self.service_arn,
            "lastUpdatedAt": wall_datetime(self.aws_updated),
            "lifecycleEvents": [event.info() for event in self.events],
            "status": self.target_status,
            "taskSetsInfo": self.task_sets_info(now),
        }

    def info(self) -> dict[str, Any]:
        group = self.deployment_group
        out: dict[str, Any] = {
            "applicationName": self.application_name,
            "deploymentGroupName": self.deployment_group_name,
            "deploymentConfigName": str(self.deployment_config_name),
            "deploymentId": self.deployment_id,
            "revision": self.revision or None,
            "status": self.status,
            "errorInformation": self.error_information,
            "createTime": self.create_time,
            "startTime": self.start_time,
            "completeTime": self.complete_time,
            "deploymentOverview": self.overview(),
            "description": self.description,
            "creator": self.creator,
            "ignoreApplicationStopFailures": False,
            "autoRollbackConfiguration": self.auto_rollback_configuration
            if self.auto_rollback_configuration is not None
            else (group.auto_rollback_configuration or None),
            "updateOutdatedInstancesOnly": False,
            "rollbackInfo": self.rollback_info(),
            "deploymentStyle": group.deployment_style
            or {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "instanceTerminationWaitTimeStarted": self.instance_termination_wait_time_started,
            "blueGreenDeploymentConfiguration": group.blue_green_deployment_configuration or None,
            "loadBalancerInfo": group.load_balancer_info or None,
            "deploymentStatusMessages": list(self.status_messages),
            "computePlatform": "ECS",
        }
        return {k: v for k, v in out.items() if v is not None}
