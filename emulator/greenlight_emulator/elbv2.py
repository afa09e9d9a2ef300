"""ELBv2 target health for the target groups ECS services use: DescribeTargetHealth lists
the private IPs of the service tasks (service_tasks.py) registered in the target group,
as ECS registers awsvpc tasks, besides the targets registered through moto's own
RegisterTargets.

A task is registered once it runs: `healthy` while it runs, `unhealthy`
(Target.FailedHealthChecks) when a container_exits fault hit it (it never passes its health
checks), and `draining` (Target.DeregistrationInProgress) from when it stops for the target
group's deregistration delay (deregistration_delay.timeout_seconds, 300 by default); then it
is gone."""

from __future__ import annotations

from typing import Any

from moto.ecs.models import ecs_backends
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, elbv2_backends

from .control import STATE
from .ecs import service_tasks

FAILED_HEALTH_CHECKS = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
DRAINING = ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
DEFAULT_DEREGISTRATION_DELAY = 300.0

_PATCHED = False


def target_group_arn(account: str, region: str, name: str | None) -> str | None:
    """The ARN of the target group with that name (CodeDeploy names target groups)."""
    if not name:
        return None
    for group in elbv2_backends[account][region].target_groups.values():
        if group.name == name:
            return group.arn
    return None


def _deregistration_delay(group: Any) -> float:
    try:
        return float((group.attributes or {}).get("deregistration_delay.timeout_seconds", DEFAULT_DEREGISTRATION_DELAY))
    except (TypeError, ValueError):
        return DEFAULT_DEREGISTRATION_DELAY


def task_health(task: service_tasks.ServiceTask, delay: float, now: float) -> tuple[str, str | None, str | None] | None:
    """(State, Reason, Description) of a service task in its target group, None when not registered."""
    if task.running_at is None or task.running_at > now:
        return None
    if now >= task.stopping_at:
        if now < task.stopping_at + delay:
            return DRAINING
        return None
    if any(c.faulted for c in task.containers):
        return FAILED_HEALTH_CHECKS
    return ("healthy", None, None)


def service_targets(backend: ELBv2Backend, group: Any, now: float) -> list[FakeHealthStatus]:
    ecs = ecs_backends[backend.account_id][backend.region_name]
    delay = _deregistration_delay(group)
    found = []
    for task in service_tasks.all_tasks(ecs):
        if task.target_group_arn != group.arn:
            continue
        ip = task.private_ip()
        health = task_health(task, delay, now)
        if ip is None or health is None:
            continue
        port = int(task.container_port or group.port or 80)
        found.append(FakeHealthStatus(ip, port, group.health_check_port or str(port), *health))
    return found


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    original = ELBv2Backend.describe_target_health

    def describe_target_health(
        self: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]
    ) -> list[FakeHealthStatus]:
        answer = original(self, target_group_arn, targets)
        group = self.target_groups.get(target_group_arn)
        if group is None:
            return answer
        ours = service_targets(self, group, STATE.clock.now())
        if targets:
            # Only the targets asked about; an unknown one keeps moto's answer (unavailable).
            by_id = {h.instance_id: h for h in ours}
            return [by_id.get(h.instance_id, h) for h in answer]
        return [*answer, *ours]

    ELBv2Backend.describe_target_health = describe_target_health  # type: ignore[method-assign]
