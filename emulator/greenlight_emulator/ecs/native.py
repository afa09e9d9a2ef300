"""ECS-native blue/green, linear and canary deployments
(deploymentConfiguration.strategy BLUE_GREEN, LINEAR, CANARY): the service
deployment walks the lifecycle stages, runs lifecycle hooks (AWS_LAMBDA, PAUSE)
and shifts test then production traffic to the target revision; a failed hook or
stage, a stop request, a PAUSE hook's ROLLBACK (or timeout) or the circuit breaker
sends traffic back to the source revision."""

from __future__ import annotations

import functools
from typing import Any

from ..control import ECS_DEPLOYMENT_FAULT_KINDS, FieldKey, percent_text, wall_datetime
from .model import (
    CLEAN_UP_SECONDS,
    DEFAULT_HOOK_TIMEOUT_ACTION,
    DEFAULT_HOOK_TIMEOUT_MINUTES,
    LAMBDA_HOOK_SECONDS,
    ROLLBACK_DELAY,
    ROLLBACK_SECONDS,
    STAGE_SECONDS,
    START_DELAY,
    TEST_TRAFFIC_SECONDS,
    TRAFFIC_SETTLE,
    Controller,
    Rollout,
    ServiceRevision,
    add_event,
    circuit_breaker,
    new_hook_id,
    production_schedule,
    rolling_back_message,
    steady_message,
)
from .service_deployment import ROLLBACK_STATUSES, ServiceDeployment, TaskLauncher, ecs_error

# The lifecycle of a blue/green, linear or canary deployment. PRE_PRODUCTION_TRAFFIC_SHIFT
# is a hook point only: it runs (as PRODUCTION_TRAFFIC_SHIFT) when a hook asks for it.
NATIVE_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)


class HookRun:
    """One lifecycle hook running at one stage of a blue/green, linear or canary deployment."""

    def __init__(self, hook: dict[str, Any], stage: str, at: float) -> None:
        self.target_type = str(hook.get("targetType") or "AWS_LAMBDA")
        self.hook_id = new_hook_id(self.target_type)
        self.target_arn: str | None = hook.get("hookTargetArn")
        self.stage = stage
        timeout = hook.get("timeoutConfiguration") or {}
        self.has_timeout = self.target_type == "PAUSE" or bool(timeout)
        minutes = float(timeout.get("timeoutInMinutes") or DEFAULT_HOOK_TIMEOUT_MINUTES)
        self.expires_at = at + minutes * 60.0
        self.timeout_action = str(timeout.get("action") or DEFAULT_HOOK_TIMEOUT_ACTION)
        self.status = "AWAITING_ACTION" if self.target_type == "PAUSE" else "IN_PROGRESS"

    def detail(self) -> dict[str, Any]:
        out: dict[str, Any] = {"hookId": self.hook_id, "targetType": self.target_type, "status": self.status}
        if self.target_arn:
            out["targetArn"] = self.target_arn
        if self.has_timeout:
            out["expiresAt"] = wall_datetime(self.expires_at)
            out["timeoutAction"] = self.timeout_action
        return out


class NativeDeployment(ServiceDeployment):
    """An ECS-native blue/green, linear or canary deployment (the strategy decides how
    production traffic shifts)."""

    FAULT_KINDS = ECS_DEPLOYMENT_FAULT_KINDS

    def __init__(
        self, ctl: Controller, target: ServiceRevision, now: float, faults: dict[str, dict[str, Any]]
    ) -> None:
        super().__init__(ctl, target, now, faults)
        self.stage_index = -1
        self.lifecycle_stage: str | None = None
        self.hooks: list[HookRun] = []  # those of the current stage
        self.hooks_run: list[HookRun] = []  # every one so far, for the transitions log
        self.waiting: set[str] = set()
        self.production_weight = 0.0
        self.test_weight = 0.0

    # -- reading ----------------------------------------------------------
    def _weights(self, summary: dict[str, Any], target_side: bool) -> dict[str, Any]:
        production = self.production_weight if target_side else 100.0 - self.production_weight
        test = self.test_weight if target_side else 100.0 - self.test_weight
        return {**summary, "requestedTestTrafficWeight": test, "requestedProductionTrafficWeight": production}

    def _target_summary(self) -> dict[str, Any]:
        return self._weights(super()._target_summary(), True)

    def _source_summaries(self) -> list[dict[str, Any]]:
        return [self._weights(s, False) for s in super()._source_summaries()]

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self.lifecycle_stage is not None:
            out["lifecycleStage"] = self.lifecycle_stage
        if self.hooks:
            out["lifecycleHookDetails"] = [hook.detail() for hook in self.hooks]
        return out

    def observed(self) -> dict[FieldKey, str]:
        observed = super().observed()
        key = ("ecs-service-deployment", self.arn)
        if self.lifecycle_stage is not None:
            observed[(*key, "lifecycleStage")] = self.lifecycle_stage
        if self.started_at is not None:
            observed[(*key, "trafficWeight")] = percent_text(self.production_weight)
            observed[(*key, "testTrafficWeight")] = percent_text(self.test_weight)
        for hook in self.hooks_run:
            observed[(*key, f"hook {hook.hook_id}")] = hook.status
        return observed

    # -- the lifecycle ----------------------------------------------------
    def start(self, now: float) -> None:
        ctl = self.ctl
        self.sources = list(ctl.rollouts)
        self.target = ctl.new_rollout(self.target_revision, now, "PRIMARY")
        # The target revision comes up behind the other target group of the pair.
        ctl.rollout_target_groups[self.target.id] = ctl.alternate_target_group()
        self.after(now, START_DELAY, self._start_stages)

    def _start_stages(self, at: float) -> None:
        self._begin(at)
        self._enter(0, at)

    def _hooks_for(self, stage: str) -> list[dict[str, Any]]:
        return [h for h in self.config.get("lifecycleHooks") or [] if stage in (h.get("lifecycleStages") or [])]

    def _enter(self, index: int, at: float) -> None:
        stage = NATIVE_STAGES[index]
        hooks = self._hooks_for(stage)
        if stage == "PRE_PRODUCTION_TRAFFIC_SHIFT" and not hooks:
            self._enter(index + 1, at)
            return
        self.stage_index = index
        self.lifecycle_stage = "PRODUCTION_TRAFFIC_SHIFT" if stage == "PRE_PRODUCTION_TRAFFIC_SHIFT" else stage
        self.hooks = [HookRun(hook, stage, at) for hook in hooks]
        self.hooks_run.extend(self.hooks)
        self.waiting = {"work", *(hook.hook_id for hook in self.hooks)}
        for hook in self.hooks:
            self._start_hook(hook, at)
        self._work(stage, at)

    def _stage_fault(self, stage: str) -> dict[str, Any] | None:
        fault = self.faults.get("fail_lifecycle_stage")
        return fault if fault is not None and fault.get("stage") == stage else None

    def _work(self, stage: str, at: float) -> None:
        """The stage's own work; it ends with _part_done(at, "work")."""
        fault = self._stage_fault(stage)
        if fault is not None and not any(h.target_type == "AWS_LAMBDA" for h in self.hooks):
            reason = self._stage_failure_reason(stage, fault.get("message") or f"The {stage} stage failed.")
            self.after(at, STAGE_SECONDS, lambda t: self.request_rollback(t, reason))
            return
        if stage == "SCALE_UP":
            enable, _rollback = circuit_breaker(self.config)
            TaskLauncher(
                self, self._target(), self.faults, self._work_done, self._tasks_failed, failures_count=enable
            ).start(at)
        elif stage == "TEST_TRAFFIC_SHIFT":
            self.test_weight = 100.0
            self.after(at, TEST_TRAFFIC_SECONDS, self._work_done)
        elif stage == "PRODUCTION_TRAFFIC_SHIFT":
            schedule = production_schedule(self.config)
            for offset, weight in schedule:
                self.after(at, offset, functools.partial(self._shift_production, weight=weight))
            self.after(at, schedule[-1][0] + TRAFFIC_SETTLE, self._work_done)
        elif stage == "BAKE_TIME":
            self.after(at, float(self.config.get("bakeTimeInMinutes") or 0) * 60.0, self._work_done)
        elif stage == "CLEAN_UP":
            self.ctl.stop_tasks(at, self.sources)
            self.after(at, CLEAN_UP_SECONDS, self._cleaned_up)
        else:
            self.after(at, STAGE_SECONDS, self._work_done)

    def _shift_production(self, at: float, weight: float) -> None:
        self.production_weight = weight

    def _target(self) -> Rollout:
        assert self.target is not None
        return self.target

    def _cleaned_up(self, at: float) -> None:
        self.ctl.retire(at, self.sources)
        self._work_done(at)

    def _work_done(self, at: float) -> None:
        self._part_done(at, "work")

    def _part_done(self, at: float, part: str) -> None:
        self.waiting.discard(part)
        if self.waiting:
            return
        if self.stage_index + 1 < len(NATIVE_STAGES):
            self._enter(self.stage_index + 1, at)
        else:
            self.hooks = []
            self._announce_completion(at, self._target())
            # Production now reaches the target revision through its target group.
            self.ctl.live_target_group = self.ctl.rollout_target_groups.get(self._target().id)
            self._finish(at, "SUCCESSFUL")

    # -- hooks ------------------------------------------------------------
    def _start_hook(self, hook: HookRun, at: float) -> None:
        if hook.target_type == "PAUSE":
            self.after(at, hook.expires_at - at, lambda t: self._hook_timed_out(t, hook))
            return
        self.after(at, LAMBDA_HOOK_SECONDS, lambda t: self._lambda_returned(t, hook))

    def _lambda_returned(self, at: float, hook: HookRun) -> None:
        fault = self._stage_fault(hook.stage)
        failing_hook = next((h for h in self.hooks if h.target_type == "AWS_LAMBDA"), None)
        if fault is not None and hook is failing_hook:
            hook.status = "FAILED"
            message = fault.get("message") or "The lifecycle hook returned FAILED."
            self.request_rollback(at, self._hook_failure_reason(hook, message))
            return
        hook.status = "SUCCEEDED"
        self._part_done(at, hook.hook_id)

    def _hook_timed_out(self, at: float, hook: HookRun) -> None:
        if hook.status != "AWAITING_ACTION":
            return
        hook.status = "TIMED_OUT"
        if hook.timeout_action == "CONTINUE":
            self._part_done(at, hook.hook_id)
        else:
            self.request_rollback(
                at, f"Service deployment rolled back because the lifecycle hook {hook.hook_id} timed out."
            )

    def continue_hook(self, now: float, hook_id: str, action: str) -> None:
        hook = next((h for h in self.hooks if h.hook_id == hook_id), None)
        if hook is None or hook.status != "AWAITING_ACTION" or self.status != "IN_PROGRESS":
            raise ecs_error("InvalidParameterException", f"The lifecycle hook {hook_id} is not awaiting action.")
        if action == "ROLLBACK":
            hook.status = "FAILED"
            self.request_rollback(
                now,
                f"Service deployment rolled back because of a continue request with action ROLLBACK "
                f"for the lifecycle hook {hook_id}.",
            )
            return
        hook.status = "SUCCEEDED"
        self.updated_at = now
        self._part_done(now, hook.hook_id)

    @staticmethod
    def _hook_failure_reason(hook: HookRun, message: str) -> str:
        target = hook.target_arn or hook.hook_id
        return (
            f"Service deployment rolled back because the lifecycle hook {target} failed "
            f"in the {hook.stage} stage: {message}"
        )

    @staticmethod
    def _stage_failure_reason(stage: str, message: str) -> str:
        return f"Service deployment rolled back because the {stage} stage failed: {message}"

    # -- rollback ---------------------------------------------------------
    def request_rollback(self, at: float, reason: str) -> None:
        if self.status in ROLLBACK_STATUSES or self.finished:
            return
        source = self.source_revision() or self.ctl.stable_revision
        self.cancel_pending()
        self.status = "ROLLBACK_REQUESTED"
        self.status_reason = reason
        self.rollback = {"reason": reason, "startedAt": at, "serviceRevisionArn": source.arn}
        self.after(at, ROLLBACK_DELAY, self._roll_back)

    def _roll_back(self, at: float) -> None:
        ctl = self.ctl
        self.status = "ROLLBACK_IN_PROGRESS"
        if self.started_at is None:
            self.started_at = at
        self.production_weight = 0.0
        self.test_weight = 0.0
        target = self._target()
        target.set_state("FAILED", self.status_reason or f"ECS deployment {target.id} rolled back.")
        target.updated_at = at
        live = [r for r in self.sources if r in ctl.rollouts and r.running]
        if live:
            ctl.service.task_definition = live[0].revision.task_definition
            add_event(ctl.service, at, rolling_back_message(ctl.service.name, live[0].id))
            self.after(at, ROLLBACK_SECONDS, lambda t: self._rolled_back(t, live[0]))
            return
        # The source's tasks were already gone (a stop during CLEAN_UP): start them again.
        revision = self.source_revision() or ctl.stable_revision
        rollout = ctl.new_rollout(revision, at, "PRIMARY")
        add_event(ctl.service, at, rolling_back_message(ctl.service.name, rollout.id))
        TaskLauncher(self, rollout, {}, lambda t: self._rolled_back(t, rollout), self._keep_trying).start(at)

    @staticmethod
    def _keep_trying(at: float) -> bool:
        return True

    def _rolled_back(self, at: float, source: Rollout) -> None:
        ctl = self.ctl
        others = [r for r in ctl.rollouts if r is not source]
        ctl.stop_tasks(at, others)
        ctl.retire(at, others)
        ctl.make_primary(source)
        source.set_state("COMPLETED", f"ECS deployment {source.id} completed.")
        source.updated_at = at
        ctl.stable_revision = source.revision
        add_event(ctl.service, at, steady_message(ctl.service.name))
        self._finish(at, "ROLLBACK_SUCCESSFUL")

    def supersede(self, now: float) -> None:
        """Traffic stays where production is (the target once it has all of it, else the
        source); the other revision's tasks go at once."""
        ctl = self.ctl
        target = self._target()
        if self.production_weight >= 100.0:
            losers = [r for r in self.sources if r in ctl.rollouts]
        else:
            losers = [target]
        ctl.stop_tasks(now, losers)
        ctl.retire(now, losers)
        super().supersede(now)
