"""What every ECS service deployment shares: the record DescribeServiceDeployments
shows, scheduling of its timed actions, stops and the circuit breaker, and the
TaskLauncher that brings a deployment's tasks up (or fails to, under a fault).
The strategies are in rolling.py and native.py; the service that runs
them in controller.py."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import ECSException
from moto.ecs.models import Service

from .. import alarms
from ..control import FieldKey, wall_datetime
from .model import (
    CATCH_UP_REPEATS,
    PLACEMENT_RETRY,
    RELAUNCH_DELAY,
    STOP_DELAY,
    TASK_FAIL_SECONDS,
    TASK_LOG_LINE_SECONDS,
    TASK_RUN_SECONDS,
    TASK_START_INTERVAL,
    Action,
    Controller,
    Rollout,
    ServiceRevision,
    add_event,
    circuit_breaker,
    completed_message,
    ecs_arn,
    failed_message,
    failure_threshold,
    new_service_deployment_id,
    placement_message,
    started_message,
    steady_message,
    task_exited_message,
    task_failed_message,
)

TERMINAL_STATUSES = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ROLLBACK_STATUSES = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")

CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
STOP_ROLLBACK_REASON = "Service deployment rolled back because of a stop request"
STOP_ABORT_REASON = "Service deployment stopped because of a stop request"
SUPERSEDED_REASON = "Service deployment stopped because a new service deployment was started."
DEFAULT_TASK_FAILURE = (
    "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: not found"
)
DEFAULT_PLACEMENT_REASON = "No Container Instances were found in your cluster."


def ecs_error(code: str, message: str) -> ECSException:
    return ECSException(code, message)


# ----------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------
class TaskLauncher:
    """Brings a deployment (Rollout) to its desired number of running tasks, or fails
    trying when a fault says so: tasks that never start (circuit_breaker), that
    cannot be placed (placement_failure) or whose essential container exits after
    TASK_RUN_SECONDS running (container_exits)."""

    def __init__(
        self,
        owner: ServiceDeployment,
        rollout: Rollout,
        faults: dict[str, dict[str, Any]],
        on_ready: Action,
        on_failed: Callable[[float], bool],
        failures_count: bool = True,
    ) -> None:
        self.owner = owner
        self.rollout = rollout
        self.failing = faults.get("circuit_breaker")
        self.unplaceable = faults.get("placement_failure")
        self.exits = faults.get("container_exits")
        self.on_ready = on_ready
        # Called after tasks failed; answers whether to launch replacements.
        self.on_failed = on_failed
        # Whether anything (a circuit breaker) depends on each failure being counted in turn.
        self.failures_count = failures_count
        # How long a task hit by container_exits runs before its container exits: long
        # enough to write the fault's log lines, one per second, as one-off tasks do.
        lines = len((self.exits or {}).get("log") or [])
        self.run_seconds = max(TASK_RUN_SECONDS, lines * TASK_LOG_LINE_SECONDS)

    @property
    def service(self) -> Service:
        return self.owner.ctl.service

    def start(self, at: float) -> None:
        if self.unplaceable is not None:
            self._placement_failed(at)
        else:
            self._launch(at)

    def _launch(self, at: float) -> None:
        rollout = self.rollout
        missing = rollout.desired - len(rollout.running) - len(rollout.pending)
        if missing <= 0:
            if not rollout.pending and self.exits is None:
                self.on_ready(at)
            return
        task_ids = [self.owner.ctl.start_task(rollout, at, exits=self.exits) for _ in range(missing)]
        rollout.pending.extend(task_ids)
        rollout.updated_at = at
        add_event(self.service, at, started_message(self.service.name, task_ids))
        if self.failing is not None:
            self.owner.after(at, TASK_FAIL_SECONDS, lambda t: self._failed(t, task_ids))
            return
        for index, task_id in enumerate(task_ids):
            started = TASK_START_INTERVAL * (index + 1)
            self.owner.after(at, started, functools.partial(self._running, task_id=task_id))
            if self.exits is not None:
                self.owner.after(at, started + self.run_seconds, functools.partial(self._exited, task_id=task_id))

    def _running(self, at: float, task_id: str) -> None:
        rollout = self.rollout
        if task_id in rollout.pending:
            rollout.pending.remove(task_id)
            rollout.running.append(task_id)
            rollout.updated_at = at
            self.owner.ctl.task_running(task_id, at)
        if not rollout.pending and len(rollout.running) >= rollout.desired and self.exits is None:
            self.on_ready(at)

    def _exited(self, at: float, task_id: str) -> None:
        """A running task whose essential container exited: it stops and, unless the circuit
        breaker trips, is replaced."""
        rollout = self.rollout
        if task_id not in rollout.running:
            return
        rollout.running.remove(task_id)
        rollout.failed += 1
        rollout.updated_at = at
        self.owner.ctl.task_exited(task_id, at)
        add_event(self.service, at, task_exited_message(self.service.name, task_id, self.exits or {}))
        if not self.on_failed(at):
            return
        next_launch = at + RELAUNCH_DELAY
        if not self.failures_count:
            cycle = TASK_START_INTERVAL + self.run_seconds + RELAUNCH_DELAY
            skipped = self._cycles_to_skip(next_launch, cycle)
            rollout.failed += skipped
            next_launch += skipped * cycle
        self.owner.after(next_launch, 0.0, self._launch)

    def _failed(self, at: float, task_ids: list[str]) -> None:
        rollout = self.rollout
        gone = [t for t in task_ids if t in rollout.pending]
        rollout.pending = [t for t in rollout.pending if t not in gone]
        rollout.failed += len(gone)
        rollout.updated_at = at
        images = self.rollout.revision.container_images
        image = images[0]["image"] if images else self.rollout.revision.task_definition
        reason = (self.failing or {}).get("message") or DEFAULT_TASK_FAILURE.format(image=image)
        for task_id in gone:
            self.owner.ctl.task_failed(task_id, at, reason)
            add_event(self.service, at, task_failed_message(self.service.name, task_id, reason))
        if not self.on_failed(at):
            return
        next_launch = at + RELAUNCH_DELAY
        if not self.failures_count:
            # Cycles nobody could have watched one by one are counted in one go.
            skipped = self._cycles_to_skip(next_launch, TASK_FAIL_SECONDS + RELAUNCH_DELAY)
            rollout.failed += skipped * max(1, len(gone))
            next_launch += skipped * (TASK_FAIL_SECONDS + RELAUNCH_DELAY)
        self.owner.after(next_launch, 0.0, self._launch)

    def _placement_failed(self, at: float) -> None:
        reason = (self.unplaceable or {}).get("message") or DEFAULT_PLACEMENT_REASON
        add_event(self.service, at, placement_message(self.service.name, reason))
        next_try = at + PLACEMENT_RETRY
        next_try += self._cycles_to_skip(next_try, PLACEMENT_RETRY) * PLACEMENT_RETRY
        self.owner.after(next_try, 0.0, self._placement_failed)

    def _cycles_to_skip(self, next_at: float, cycle: float) -> int:
        behind = math.floor((self.owner.ctl.scheduler.horizon - next_at) / cycle)
        return max(0, behind - CATCH_UP_REPEATS)


# ----------------------------------------------------------------------
# Service deployments
# ----------------------------------------------------------------------
class ServiceDeployment:
    """A service deployment (DescribeServiceDeployments) that runs itself."""

    FAULT_KINDS: tuple[str, ...] = ()

    def __init__(
        self, ctl: Controller, target: ServiceRevision, now: float, faults: dict[str, dict[str, Any]]
    ) -> None:
        self.ctl = ctl
        self.id = new_service_deployment_id()
        self.arn = ecs_arn(ctl.service, "service-deployment", self.id)
        # Bumped to cancel every pending timed action of this deployment.
        self.generation = 0
        self.target_revision = target
        self.target: Rollout | None = None
        self.sources: list[Rollout] = []
        self.status = "PENDING"
        self.status_reason: str | None = None
        self.created_at = now
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.stopped_at: float | None = None
        self.updated_at = now
        self.config: dict[str, Any] = copy.deepcopy(ctl.service.deployment_configuration)
        self.rollback: dict[str, Any] | None = None
        self.faults = faults
        self.breaker_tripped = False
        self.threshold = failure_threshold(int(ctl.service.desired_count or 0))
        # deploymentConfiguration.alarms: the ones that went into ALARM during this deployment.
        self.alarm_watch_scheduled = False
        self.triggered_alarms: list[str] = []

    # -- reading ----------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def in_flight(self) -> bool:
        return not self.finished

    def source_revision(self) -> ServiceRevision | None:
        return self.sources[0].revision if self.sources else None

    def _breaker(self) -> dict[str, Any]:
        enable, _rollback = circuit_breaker(self.config)
        target = self.target
        if not enable:
            status = "DISABLED"
        elif self.breaker_tripped:
            status = "TRIGGERED"
        elif self.finished:
            status = "MONITORING_COMPLETE"
        else:
            status = "MONITORING"
        return {"status": status, "failureCount": target.failed if target else 0, "threshold": self.threshold}

    def _alarm_config(self) -> tuple[list[str], bool, bool]:
        """(alarmNames, enable, rollback) of the deployment configuration's alarms."""
        config = self.config.get("alarms") or {}
        names = [str(n) for n in config.get("alarmNames") or []]
        return names, bool(config.get("enable")), bool(config.get("rollback"))

    def _alarms(self) -> dict[str, Any] | None:
        names, enable, _rollback = self._alarm_config()
        if not self.config.get("alarms"):
            return None
        if not enable:
            status = "DISABLED"
        elif self.triggered_alarms:
            status = "TRIGGERED"
        elif self.finished:
            status = "MONITORING_COMPLETE"
        else:
            status = "MONITORING"
        out: dict[str, Any] = {"status": status, "alarmNames": names}
        if self.triggered_alarms:
            out["triggeredAlarmNames"] = list(self.triggered_alarms)
        return out

    def _target_summary(self) -> dict[str, Any]:
        if self.target is not None:
            return self.target.summary()
        return {"arn": self.target_revision.arn, "requestedTaskCount": 0, "runningTaskCount": 0, "pendingTaskCount": 0}

    def _source_summaries(self) -> list[dict[str, Any]]:
        return [rollout.summary() for rollout in self.sources]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.ctl.service.arn,
            "clusterArn": self.ctl.service.cluster_arn,
            "createdAt": wall_datetime(self.created_at),
            "startedAt": wall_datetime(self.started_at),
            "finishedAt": wall_datetime(self.finished_at),
            "stoppedAt": wall_datetime(self.stopped_at),
            "updatedAt": wall_datetime(self.updated_at),
            "sourceServiceRevisions": self._source_summaries(),
            "targetServiceRevision": self._target_summary(),
            "status": self.status,
            "statusReason": self.status_reason,
            "deploymentConfiguration": self.config,
            "rollback": self._rollback_info(),
            "deploymentCircuitBreaker": self._breaker(),
            "alarms": self._alarms(),
        }
        return {k: v for k, v in out.items() if v is not None}

    def _rollback_info(self) -> dict[str, Any] | None:
        if self.rollback is None:
            return None
        info = dict(self.rollback)
        info["startedAt"] = wall_datetime(info["startedAt"])
        return info

    def brief(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.ctl.service.arn,
            "clusterArn": self.ctl.service.cluster_arn,
            "startedAt": wall_datetime(self.started_at),
            "createdAt": wall_datetime(self.created_at),
            "finishedAt": wall_datetime(self.finished_at),
            "targetServiceRevisionArn": self.target_revision.arn,
            "status": self.status,
            "statusReason": self.status_reason,
        }
        return {k: v for k, v in out.items() if v is not None}

    def observed(self) -> dict[FieldKey, str]:
        return {("ecs-service-deployment", self.arn, "status"): self.status}

    # -- scheduling -------------------------------------------------------
    def after(self, at: float, delay: float, action: Action) -> None:
        """Runs action delay seconds after at, unless this deployment is cancelled first."""

        def run(when: float) -> None:
            self.updated_at = when
            action(when)

        self.ctl.scheduler.at(at + delay, self, run)

    def cancel_pending(self) -> None:
        self.generation += 1

    # -- shared steps -----------------------------------------------------
    def _begin(self, at: float) -> None:
        self.status = "IN_PROGRESS"
        self.started_at = at

    def _finish(self, at: float, status: str, reason: str | None = None) -> None:
        self.status = status
        if reason is not None:
            self.status_reason = reason
        self.finished_at = at
        if status == "STOPPED":
            self.stopped_at = at
        self.cancel_pending()

    def _announce_completion(self, at: float, rollout: Rollout) -> None:
        name = self.ctl.service.name
        rollout.set_state("COMPLETED", f"ECS deployment {rollout.id} completed.")
        rollout.updated_at = at
        add_event(self.ctl.service, at, completed_message(name, rollout.id))
        add_event(self.ctl.service, at, steady_message(name))
        self.ctl.stable_revision = rollout.revision

    def _tasks_failed(self, at: float) -> bool:
        """After tasks of the target failed: trips the circuit breaker when enabled and
        past its threshold (answers False: launch no more), else answers True."""
        target = self.target
        enable, rollback = circuit_breaker(self.config)
        if target is None or not enable or target.failed < self.threshold:
            return True
        self.breaker_tripped = True
        target.set_state("FAILED", CIRCUIT_BREAKER_REASON)
        target.updated_at = at
        add_event(self.ctl.service, at, failed_message(self.ctl.service.name, target.id, "tasks failed to start."))
        if rollback:
            self.request_rollback(at, CIRCUIT_BREAKER_REASON)
        else:
            self._finish(at, "STOPPED", CIRCUIT_BREAKER_REASON)
        return False

    # -- deployment alarms ----------------------------------------------------
    def watch_alarms(self, now: float) -> None:
        """Before the service advances to now: when a watched alarm went into ALARM by now,
        what it does is scheduled at that instant (in order with everything else)."""
        names, enable, _rollback = self._alarm_config()
        if self.finished or self.alarm_watch_scheduled or not enable or not names:
            return
        service = self.ctl.service
        hit = alarms.watched(service._account_id, service.region_name, names, self.created_at)
        if hit is None or hit[0] > now:
            return
        self.alarm_watch_scheduled = True
        at, triggered = hit
        self.after(at, 0.0, lambda t: self._alarm_went_off(t, triggered))

    def _alarm_went_off(self, at: float, names: list[str]) -> None:
        """ECS fails the deployment and, with rollback, rolls back to the last completed one."""
        if self.finished or self.status in ROLLBACK_STATUSES:
            return
        self.triggered_alarms = list(names)
        _names, _enable, rollback = self._alarm_config()
        shown = ", ".join(names)
        target = self.target
        if target is not None and target.rollout_state == "IN_PROGRESS":
            target.set_state("FAILED", f"ECS deployment {target.id} failed: alarm(s) {shown} in ALARM state.")
            target.updated_at = at
            add_event(
                self.ctl.service, at, failed_message(self.ctl.service.name, target.id, f"alarm(s) {shown} in ALARM state.")
            )
        if rollback:
            self.request_rollback(
                at, f"Service deployment rolled back because the CloudWatch alarm(s) {shown} went into ALARM state."
            )
        else:
            self._finish(at, "STOPPED", f"Service deployment failed because the CloudWatch alarm(s) {shown} went into ALARM state.")

    # -- calls --------------------------------------------------------------
    def start(self, now: float) -> None:
        raise NotImplementedError

    def supersede(self, now: float) -> None:
        """A new deployment of the service started while this one was in flight."""
        self._finish(now, "STOPPED", SUPERSEDED_REASON)

    def request_rollback(self, at: float, reason: str) -> None:
        raise NotImplementedError

    def stop(self, now: float, stop_type: str) -> None:
        if self.finished:
            raise ecs_error("ConflictException", f"The service deployment {self.arn} has already finished.")
        if self.status in ROLLBACK_STATUSES or self.status == "STOP_REQUESTED":
            return  # a stop already under way continues, as AWS documents
        if stop_type == "ROLLBACK":
            self.request_rollback(now, STOP_ROLLBACK_REASON)
            return
        self.cancel_pending()
        self.status = "STOP_REQUESTED"
        self.status_reason = STOP_ABORT_REASON
        self.after(now, STOP_DELAY, self._aborted)

    def _aborted(self, at: float) -> None:
        target = self.target
        if target is not None and target.rollout_state == "IN_PROGRESS":
            target.set_state("FAILED", f"ECS deployment {target.id} stopped.")
            target.updated_at = at
        self._finish(at, "STOPPED", STOP_ABORT_REASON)

    def continue_hook(self, now: float, hook_id: str, action: str) -> None:
        raise ecs_error("InvalidParameterException", f"The lifecycle hook {hook_id} is not awaiting action.")


class InitialDeployment(ServiceDeployment):
    """The service deployment CreateService makes: the service starts steady (its tasks
    run at once), so that seeding and tests begin from a settled service."""

    def start(self, now: float) -> None:
        ctl = self.ctl
        rollout = ctl.new_rollout(self.target_revision, now, "PRIMARY")
        rollout.running = [ctl.start_task(rollout, now, running=True) for _ in range(rollout.desired)]
        rollout.set_state("COMPLETED", f"ECS deployment {rollout.id} completed.")
        self.target = rollout
        self.status = "SUCCESSFUL"
        self.started_at = self.finished_at = now
        if rollout.running:
            add_event(ctl.service, now, started_message(ctl.service.name, rollout.running))
        add_event(ctl.service, now, steady_message(ctl.service.name))
