"""The ECS services a CodeDeploy deployment works on and their task sets: finding the
service, creating, promoting and removing task sets, and the counts that follow. Services
with the CODE_DEPLOY deployment controller own task sets (a PRIMARY one from the start, a
replacement during a deployment), as they do on AWS."""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskSet, ecs_backends

from ..control import STATE
from . import service_tasks


def ecs_backend(account_id: str, region: str) -> EC2ContainerServiceBackend:
    return ecs_backends[account_id][region]


def find_service(account_id: str, region: str, cluster: str, service: str) -> Service | None:
    backend = ecs_backend(account_id, region)
    cluster_name = cluster.split("/")[-1]
    found = backend.services.get(f"{cluster_name}:{service.split('/')[-1]}")
    if found is None or found.status != "ACTIVE":
        return None
    return found


def set_counts(task_set: TaskSet, desired: int, running: int, at: float | None = None) -> None:
    """The task set's counts, and its tasks to match them (at the AWS instant at, default now)."""
    task_set.computed_desired_count = desired
    task_set.running_count = running
    task_set.pending_count = max(0, desired - running)
    task_set.stability_status = "STEADY_STATE" if running >= desired else "STABILIZING"
    task_set.stabilityStatus = task_set.stability_status
    task_set.updatedAt = utcnow()
    task_set.stabilityStatusAt = task_set.updatedAt
    _reconcile_tasks(task_set, desired, running, STATE.clock.now() if at is None else at)


# ----------------------------------------------------------------------
# The tasks of a task set (service_tasks.py): as many as its counts say
# ----------------------------------------------------------------------
def live_tasks(task_set: TaskSet) -> list[service_tasks.ServiceTask]:
    """The task set's tasks that have not been told to stop."""
    return list(getattr(task_set, "_greenlight_tasks", []))


def _reconcile_tasks(task_set: TaskSet, desired: int, running: int, at: float) -> None:
    service = getattr(task_set, "_greenlight_service", None)
    if service is None:
        return  # a task set made by moto's own CreateTaskSet: counts only
    tasks: list[service_tasks.ServiceTask] = getattr(task_set, "_greenlight_tasks", [])
    task_set._greenlight_tasks = tasks
    backend = ecs_backend(service._account_id, service.region_name)
    if getattr(task_set, "_greenlight_exits", None) is not None:
        return  # its tasks are planned by plan_failing_tasks
    while len(tasks) < desired:
        task = service_tasks.launch(
            backend, service, task_set.task_definition, at, task_set.id, service_tasks.new_task_id()
        )
        if task is None:
            return
        task.target_group_arn = getattr(task_set, "_greenlight_target_group_arn", None)
        tasks.append(task)
    # Pending ones go first when there are too many; the running ones stay.
    tasks.sort(key=lambda t: t.running_at is None)
    for task in tasks[desired:]:
        task.stop_by_scheduler(at, task_set.id)
    del tasks[desired:]
    for task in tasks[:running]:
        task.mark_running(at)


def replace_task(task_set: TaskSet, task: service_tasks.ServiceTask) -> None:
    """A task that stopped by itself (container_exits) is no longer the task set's."""
    tasks = getattr(task_set, "_greenlight_tasks", [])
    if task in tasks:
        tasks.remove(task)


def stop_all_tasks(task_set: TaskSet, at: float | None = None) -> None:
    when = STATE.clock.now() if at is None else at
    for task in live_tasks(task_set):
        task.stop_by_scheduler(when, task_set.id)
    task_set._greenlight_tasks = []


def bind_target_group(task_set: TaskSet, target_group_arn: str | None) -> None:
    task_set._greenlight_target_group_arn = target_group_arn
    for task in live_tasks(task_set):
        task.target_group_arn = target_group_arn


def new_task_set(
    service: Service,
    task_definition_arn: str,
    status: str,
    started_by: str | None,
    exits: dict[str, Any] | None = None,
    target_group_arn: str | None = None,
    at: float | None = None,
) -> TaskSet:
    task_set = TaskSet(
        service.arn,
        service.cluster_arn,
        task_definition_arn,
        service._account_id,
        service.region_name,
        load_balancers=[dict(lb) for lb in service.load_balancers],
        network_configuration=service.network_configuration or None,
        launch_type=service.launch_type,
        platform_version=service.platform_version,
        scale={"value": 100.0, "unit": "PERCENT"},
    )
    task_set.task_definition = task_definition_arn
    task_set.service_arn = service.arn
    task_set.cluster_arn = service.cluster_arn
    task_set.status = status
    if started_by:
        task_set.started_by = started_by
    task_set._greenlight_service = service
    task_set._greenlight_exits = exits
    if target_group_arn is None:
        target_group_arn = (service.load_balancers or [{}])[0].get("targetGroupArn")
    task_set._greenlight_target_group_arn = target_group_arn
    set_counts(task_set, service.desired_count, 0, at)
    service.task_sets.append(task_set)
    return task_set


def primary_task_set(service: Service) -> TaskSet | None:
    for task_set in service.task_sets:
        if task_set.status == "PRIMARY":
            return task_set
    return None


def ensure_primary_task_set(service: Service) -> TaskSet:
    primary = primary_task_set(service)
    if primary is None:
        primary = new_task_set(service, service.task_definition, "PRIMARY", None)
        set_counts(primary, service.desired_count, service.desired_count)
    return primary


def remove_task_set(service: Service, task_set: TaskSet | None, at: float | None = None) -> None:
    if task_set is not None:
        stop_all_tasks(task_set, at)
    if task_set is not None and task_set in service.task_sets:
        service.task_sets.remove(task_set)
    refresh_service_counts(service)


def make_primary(service: Service, task_set: TaskSet) -> None:
    for other in service.task_sets:
        if other is not task_set and other.status == "PRIMARY":
            other.status = "ACTIVE"
    task_set.status = "PRIMARY"
    service.task_definition = task_set.task_definition


def refresh_service_counts(service: Service) -> None:
    if not service.task_sets:
        return
    service.running_count = sum(getattr(ts, "running_count", 0) for ts in service.task_sets)
    service.pending_count = sum(getattr(ts, "pending_count", 0) for ts in service.task_sets)


def plan_failing_tasks(task_set: TaskSet, start: float, end: float, cycle: tuple[float, float, float]) -> None:
    """The tasks of a task set hit by container_exits from start to end, planned ahead: each
    batch of desired-count tasks starts, runs after cycle[0] seconds, its essential container
    exits cycle[1] seconds later and ECS launches the next batch cycle[2] seconds after that.
    The task set never gets a running (healthy) task; the last batch is its live tasks."""
    service = getattr(task_set, "_greenlight_service", None)
    if service is None:
        return
    backend = ecs_backend(service._account_id, service.region_name)
    exits = getattr(task_set, "_greenlight_exits", None)
    desired = int(getattr(task_set, "computed_desired_count", 0))
    to_run, run, relaunch = cycle
    live: list[service_tasks.ServiceTask] = []
    launch_at = start
    while launch_at < end:
        live = []
        for _ in range(desired):
            task = service_tasks.launch(
                backend, service, task_set.task_definition, launch_at, task_set.id,
                service_tasks.new_task_id(), exits=exits,
            )
            if task is None:
                return
            task.target_group_arn = getattr(task_set, "_greenlight_target_group_arn", None)
            if launch_at + to_run < end:
                task.mark_running(launch_at + to_run)
            if launch_at + to_run + run < end:
                task.exit_by_fault(launch_at + to_run + run)
            else:
                live.append(task)
        launch_at += to_run + run + relaunch
    task_set._greenlight_tasks = live
