"""What the emulator adds to moto's ECS backend: services with the CODE_DEPLOY
deployment controller start with a PRIMARY task set (task_sets.py), as they do on
AWS, and refuse a task definition change through UpdateService. Services with the
ECS deployment controller get deployments that progress (controller.py, answered by
api.py). UpdateService answers ServiceNotActiveException for a deleted service and
keeps a deploymentConfiguration. One-off tasks (RunTask, StartTask) get a lifecycle
(tasks.py, answered by task_api.py)."""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service

from . import api, task_api
from .api import update_ecs_service, update_other_service
from .controller import attach
from .task_sets import ensure_primary_task_set, refresh_service_counts

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

    api.install()
    task_api.install()
