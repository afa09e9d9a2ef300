"""What the emulator adds to moto's ECS: services with the CODE_DEPLOY
deployment controller own task sets (a PRIMARY one from the start, a
replacement during a deployment), as they do on AWS, and refuse a task
definition change through UpdateService. Services with the ECS deployment
controller get deployments that progress (controller.py, answered by
api.py). UpdateService answers ServiceNotActiveException for a deleted
service and keeps a deploymentConfiguration."""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service, TaskSet, ecs_backends

_PATCHED = False


def is_code_deploy(service: Service) -> bool:
    return (service.deployment_controller or {}).get("type") == "CODE_DEPLOY"


def is_ecs_controlled(service: Service) -> bool:
    return (service.deployment_controller or {}).get("type", "ECS") == "ECS"


def _service_to_update(backend: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Service:
    """The service UpdateService names, with AWS's errors: ClusterNotFoundException,
    ServiceNotFoundException, ServiceNotActiveException (deleted)."""
    cluster = str(properties.get("cluster") or "default")
    service = backend._get_service(cluster, str(properties.get("service") or ""))
    if service.status != "ACTIVE":
        raise ECSException("ServiceNotActiveException", "Service was not ACTIVE.")
    return service


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


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True

    original_create = EC2ContainerServiceBackend.create_service
    original_update = EC2ContainerServiceBackend.update_service

    def create_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
        service = original_create(self, *args, **kwargs)
        if getattr(service, "created_at", None) is None:
            service.created_at = utcnow()
        if is_ecs_controlled(service):
            from .controller import attach

            # The deployment engine counts the service's tasks in the cluster from now on.
            cluster = self._get_cluster(service.cluster_name)
            self.update_cluster_resources(cluster, -service.running_count, task_state="RUNNING")
            self.update_cluster_resources(cluster, -service.pending_count, task_state="PENDING")
            attach(self, service)
        if is_code_deploy(service) and service.task_definition:
            # AWS starts the service's tasks in a PRIMARY task set right away.
            cluster = self._get_cluster(service.cluster_name)
            self.update_cluster_resources(cluster, -service.running_count, task_state="RUNNING")
            self.update_cluster_resources(cluster, -service.pending_count, task_state="PENDING")
            ensure_primary_task_set(service)
            refresh_service_counts(service)
            self.update_cluster_resources(cluster, service.running_count, task_state="RUNNING")
        return service

    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Service:
        from .api import update_ecs_service, update_other_service

        current = _service_to_update(self, service_properties)
        config = service_properties.pop("deployment_configuration", None)
        if is_ecs_controlled(current):
            return update_ecs_service(self, current, service_properties, config, lambda p: original_update(self, p))
        if is_code_deploy(current) and service_properties.get("task_definition"):
            raise InvalidParameterException(
                "Unable to update task definition on services with a CODE_DEPLOY "
                "deployment controller. Use AWS CodeDeploy to trigger a new deployment."
            )
        return update_other_service(current, service_properties, config, lambda p: original_update(self, p))

    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]

    from . import api as ecs_api

    ecs_api.install()
