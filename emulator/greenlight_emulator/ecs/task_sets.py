"""The ECS services a CodeDeploy deployment works on and their task sets: finding the
service, creating, promoting and removing task sets, and the counts that follow. Services
with the CODE_DEPLOY deployment controller own task sets (a PRIMARY one from the start, a
replacement during a deployment), as they do on AWS."""

from __future__ import annotations

from moto.core.utils import utcnow
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskSet, ecs_backends


def ecs_backend(account_id: str, region: str) -> EC2ContainerServiceBackend:
    return ecs_backends[account_id][region]


def find_service(account_id: str, region: str, cluster: str, service: str) -> Service | None:
    backend = ecs_backend(account_id, region)
    cluster_name = cluster.split("/")[-1]
    found = backend.services.get(f"{cluster_name}:{service.split('/')[-1]}")
    if found is None or found.status != "ACTIVE":
        return None
    return found


def set_counts(task_set: TaskSet, desired: int, running: int) -> None:
    task_set.computed_desired_count = desired
    task_set.running_count = running
    task_set.pending_count = max(0, desired - running)
    task_set.stability_status = "STEADY_STATE" if running >= desired else "STABILIZING"
    task_set.stabilityStatus = task_set.stability_status
    task_set.updatedAt = utcnow()
    task_set.stabilityStatusAt = task_set.updatedAt


def new_task_set(service: Service, task_definition_arn: str, status: str, started_by: str | None) -> TaskSet:
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
    set_counts(task_set, service.desired_count, 0)
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


def remove_task_set(service: Service, task_set: TaskSet | None) -> None:
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
