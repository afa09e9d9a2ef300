"""Rolling updates (deploymentConfiguration.strategy ROLLING): the new deployment
becomes PRIMARY and starts its tasks; once they run, the older deployments' tasks
stop, those deployments leave service.deployments and the rollout is COMPLETED.
Tasks that fail to start trip the circuit breaker, which fails the rollout and,
with rollback, deploys the last completed revision again as a new deployment."""

from __future__ import annotations

from typing import Any

from .model import (
    DRAIN_SECONDS,
    ROLLBACK_DELAY,
    START_DELAY,
    STEADY_DELAY,
    STOP_OLD_DELAY,
    Controller,
    Rollout,
    ServiceRevision,
    add_event,
    circuit_breaker,
    rolling_back_message,
)
from .service_deployment import ROLLBACK_STATUSES, ServiceDeployment, TaskLauncher


class RollingDeployment(ServiceDeployment):
    """A rolling update (strategy ROLLING), with the deployment circuit breaker."""

    FAULT_KINDS = ("circuit_breaker", "placement_failure")

    def __init__(
        self, ctl: Controller, target: ServiceRevision, now: float, faults: dict[str, dict[str, Any]]
    ) -> None:
        super().__init__(ctl, target, now, faults)
        # The rollout being brought up: the target, or the rollback's new deployment.
        self.current: Rollout | None = None

    def start(self, now: float) -> None:
        ctl = self.ctl
        self.sources = list(ctl.rollouts)
        self.target = self.current = ctl.new_rollout(self.target_revision, now, "PRIMARY")
        self.after(now, START_DELAY, self._launch)

    def _launch(self, at: float) -> None:
        self._begin(at)
        self._bring_up(at, self.target, self.faults)

    def _bring_up(self, at: float, rollout: Rollout | None, faults: dict[str, dict[str, Any]]) -> None:
        assert rollout is not None  # set by start() and _roll_back()
        enable, _rollback = circuit_breaker(self.config)
        TaskLauncher(self, rollout, faults, self._all_running, self._tasks_failed, failures_count=enable).start(at)

    def _all_running(self, at: float) -> None:
        self.after(at, STOP_OLD_DELAY, self._stop_old)

    def _older(self) -> list[Rollout]:
        return [r for r in self.ctl.rollouts if r is not self.current]

    def _stop_old(self, at: float) -> None:
        self.ctl.stop_tasks(at, self._older())
        self.after(at, DRAIN_SECONDS, self._remove_old)

    def _remove_old(self, at: float) -> None:
        self.ctl.retire(at, self._older())
        self.after(at, STEADY_DELAY, self._complete)

    def _complete(self, at: float) -> None:
        assert self.current is not None
        self._announce_completion(at, self.current)
        self._finish(at, "ROLLBACK_SUCCESSFUL" if self.rollback else "SUCCESSFUL")

    def request_rollback(self, at: float, reason: str) -> None:
        if self.status in ROLLBACK_STATUSES or self.finished:
            return
        stable = self.ctl.stable_revision
        self.cancel_pending()
        self.status = "ROLLBACK_REQUESTED"
        self.status_reason = reason
        self.rollback = {"reason": reason, "startedAt": at, "serviceRevisionArn": stable.arn}
        self.after(at, ROLLBACK_DELAY, self._roll_back)

    def _roll_back(self, at: float) -> None:
        """ECS deploys the last completed revision again, as a new deployment."""
        ctl = self.ctl
        self.status = "ROLLBACK_IN_PROGRESS"
        if self.started_at is None:
            self.started_at = at
        self.current = ctl.new_rollout(ctl.stable_revision, at, "PRIMARY")
        add_event(ctl.service, at, rolling_back_message(ctl.service.name, self.current.id))
        self._bring_up(at, self.current, {})
