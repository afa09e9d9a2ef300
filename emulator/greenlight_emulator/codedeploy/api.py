"""CodeDeploy beyond moto: deployments that progress (see engine.py),
StopDeployment, ContinueDeployment, deployment configurations and deployment
targets. moto dispatches an action to the CodeDeployResponse method of the
same name in snake_case, so each call here is a method set on that class."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import CodeDeployBackend, DeploymentInfo, codedeploy_backends
from moto.codedeploy.responses import CodeDeployResponse, _deployment_group_info, _deployment_info
from moto.core.responses import ActionResult, EmptyResult

from ..control import STATE
from .configs import DEFAULT_ECS_CONFIG, PREDEFINED
from .engine import (
    ACTIVE_STATUSES,
    PHASE_DONE,
    PHASE_READY,
    PHASE_TERMINATION_WAIT,
    TERMINAL_STATUSES,
    EcsDeployment,
    register_deployment,
)

_PATCHED = False


def _error(code: str, message: str) -> CodeDeployException:
    error = CodeDeployException(code, message)
    error.code = 400
    return error


# ----------------------------------------------------------------------
# Backend helpers
# ----------------------------------------------------------------------
def custom_configs(backend: CodeDeployBackend) -> dict[str, dict[str, Any]]:
    configs = getattr(backend, "_greenlight_configs", None)
    if configs is None:
        configs = {}
        backend._greenlight_configs = configs
    return configs


def find_config(backend: CodeDeployBackend, name: str) -> dict[str, Any] | None:
    return PREDEFINED.get(name) or custom_configs(backend).get(name)


def tick_all() -> None:
    """Advance every ECS deployment of every account and region to now."""
    now = STATE.clock.now()
    for _account, regions in list(codedeploy_backends.items()):
        for _region, backend in list(regions.items()):
            seen: set[str] = set()
            while True:
                pending = [
                    d
                    for d in list(backend.deployments.values())
                    if isinstance(d, EcsDeployment) and d.phase != PHASE_DONE and d.deployment_id not in seen
                ]
                if not pending:
                    break
                for deployment in pending:
                    seen.add(deployment.deployment_id)
                    deployment.advance(now)


def _get_deployment(backend: CodeDeployBackend, deployment_id: str | None) -> DeploymentInfo:
    if not deployment_id:
        raise _error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    deployment = backend.deployments.get(deployment_id)
    if deployment is None:
        raise _error(
            "DeploymentDoesNotExistException",
            f"The deployment {deployment_id} does not exist with the user or AWS account.",
        )
    return deployment


def _plain_deployment_info(deployment: DeploymentInfo) -> dict[str, Any]:
    if isinstance(deployment, EcsDeployment):
        return deployment.info()
    info = _deployment_info(deployment)
    # moto fills unknown structures with {}; AWS leaves them out.
    return {k: v for k, v in info.items() if v not in ({}, None, "")}


def _last_deployment(backend: CodeDeployBackend, app: str, group: str, succeeded_only: bool) -> dict[str, Any] | None:
    candidates = [
        d
        for d in backend.deployments.values()
        if d.application_name == app
        and d.deployment_group_name == group
        and (not succeeded_only or d.status == "Succeeded")
    ]
    if not candidates:
        return None
    latest = max(candidates, key=lambda d: d.create_time)
    out = {"deploymentId": latest.deployment_id, "status": latest.status, "createTime": latest.create_time}
    if latest.complete_time is not None:
        out["endTime"] = latest.complete_time
    return out


# ----------------------------------------------------------------------
# Response methods
# ----------------------------------------------------------------------
def create_deployment(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application_name = self._get_param("applicationName")
    group_name = self._get_param("deploymentGroupName")
    application = backend.applications.get(application_name)
    if application is None or application.compute_platform != "ECS":
        return _original["create_deployment"](self)
    if not group_name:
        raise _error("DeploymentGroupNameRequiredException", "Deployment group name is required.")
    group = backend.deployment_groups.get(application_name, {}).get(group_name)
    if group is None:
        raise _error(
            "DeploymentGroupDoesNotExistException",
            f"The deployment group {group_name} does not exist with the user or AWS account.",
        )
    revision = self._get_param("revision")
    if not revision:
        raise _error("RevisionRequiredException", "The revision ID was not specified.")
    if revision.get("revisionType") not in ("AppSpecContent", "String"):
        raise _error(
            "InvalidRevisionException",
            f"Revision type {revision.get('revisionType')} is not supported for the ECS compute platform.",
        )
    config_name = self._get_param("deploymentConfigName") or str(group.deployment_config_name or DEFAULT_ECS_CONFIG)
    config = find_config(backend, config_name)
    if config is None:
        raise _error(
            "DeploymentConfigDoesNotExistException", f"The deployment configuration {config_name} does not exist."
        )
    if config.get("computePlatform") != "ECS":
        raise _error(
            "InvalidDeploymentConfigNameException",
            f"The deployment configuration {config_name} is not compatible with the ECS compute platform.",
        )
    for existing in backend.deployments.values():
        if (
            existing.application_name == application_name
            and existing.deployment_group_name == group_name
            and existing.status in ACTIVE_STATUSES
        ):
            raise _error(
                "DeploymentLimitExceededException",
                f"The Deployment Group '{group_name}' already has an active Deployment '{existing.deployment_id}'",
            )
    deployment = EcsDeployment(
        backend,
        application,
        group,
        revision,
        config_name,
        config.get("trafficRoutingConfig"),
        self._get_param("description"),
        self._get_param("autoRollbackConfiguration"),
    )
    register_deployment(backend, deployment)
    if group.tags:
        backend.tagger.tag_resource(backend._arn(f"deployment:{deployment.deployment_id}"), group.tags)
    return ActionResult({"deploymentId": deployment.deployment_id})


def get_deployment(self: CodeDeployResponse) -> ActionResult:
    deployment = _get_deployment(self.codedeploy_backend, self._get_param("deploymentId"))
    return ActionResult({"deploymentInfo": _plain_deployment_info(deployment)})


def batch_get_deployments(self: CodeDeployResponse) -> ActionResult:
    ids = self._get_param("deploymentIds") or []
    if not ids:
        raise _error("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if len(ids) > 25:
        raise _error("BatchLimitExceededException", "The maximum number of deployment IDs (25) was exceeded.")
    deployments = self.codedeploy_backend.batch_get_deployments(ids)
    return ActionResult({"deploymentsInfo": [_plain_deployment_info(d) for d in deployments]})


def list_deployments(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application_name = self._get_param("applicationName")
    group_name = self._get_param("deploymentGroupName")
    if application_name and application_name not in backend.applications:
        raise _error(
            "ApplicationDoesNotExistException",
            f"The application {application_name} does not exist with the user or AWS account.",
        )
    if application_name and group_name and group_name not in backend.deployment_groups.get(application_name, {}):
        raise _error(
            "DeploymentGroupDoesNotExistException",
            f"The deployment group {group_name} does not exist with the user or AWS account.",
        )
    statuses = self._get_param("includeOnlyStatuses") or []
    for status in statuses:
        if status not in ACTIVE_STATUSES + TERMINAL_STATUSES:
            raise _error("InvalidDeploymentStatusException", f"The deployment status {status} is not valid.")
    ids = backend.list_deployments(
        application_name=application_name,
        deployment_group_name=group_name,
        external_id=self._get_param("externalId"),
        include_only_statuses=statuses,
        create_time_range=self._get_param("createTimeRange", {}),
    )
    # Newest first, as AWS lists them.
    ids.sort(key=lambda i: backend.deployments[i].create_time, reverse=True)
    return ActionResult({"deployments": ids})


def stop_deployment(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    deployment = _get_deployment(backend, self._get_param("deploymentId"))
    if deployment.status in TERMINAL_STATUSES:
        raise _error(
            "DeploymentAlreadyCompletedException",
            f"The deployment {deployment.deployment_id} has already completed.",
        )
    rollback_param = self._get_param("autoRollbackEnabled")
    if not isinstance(deployment, EcsDeployment):
        deployment.status = "Stopped"
        return ActionResult({"status": "Succeeded", "statusMessage": "The deployment was stopped."})
    if rollback_param is None:
        rollback = deployment.rollback_enabled("DEPLOYMENT_STOP_ON_REQUEST")
    else:
        rollback = str(rollback_param).lower() == "true"
    deployment.request_stop(STATE.clock.now(), rollback)
    return ActionResult(
        {
            "status": "Pending",
            "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances",
        }
    )


def continue_deployment(self: CodeDeployResponse) -> EmptyResult:
    backend = self.codedeploy_backend
    deployment = _get_deployment(backend, self._get_param("deploymentId"))
    wait_type = self._get_param("deploymentWaitType") or "READY_WAIT"
    if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
        raise _error("InvalidDeploymentWaitTypeException", f"The wait type {wait_type} is invalid.")
    if not isinstance(deployment, EcsDeployment):
        raise _error(
            "UnsupportedActionForDeploymentTypeException",
            "ContinueDeployment is supported only for blue/green deployments.",
        )
    if deployment.status in TERMINAL_STATUSES:
        raise _error(
            "DeploymentAlreadyCompletedException",
            f"The deployment {deployment.deployment_id} has already completed.",
        )
    now = STATE.clock.now()
    if wait_type == "READY_WAIT":
        if deployment.phase != PHASE_READY or deployment.pending_stop is not None:
            raise _error(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {deployment.deployment_id} is not in the Ready state.",
            )
        deployment.continue_ready(now)
    else:
        if deployment.phase != PHASE_TERMINATION_WAIT or deployment.pending_stop is not None:
            raise _error(
                "DeploymentIsNotInReadyStateException",
                f"The deployment {deployment.deployment_id} is not waiting for the original task set to terminate.",
            )
        deployment.end_termination_wait(now)
    return EmptyResult()


def _config_info(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if v is not None}


def get_deployment_config(self: CodeDeployResponse) -> ActionResult:
    name = self._get_param("deploymentConfigName")
    if not name:
        raise _error("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
    config = find_config(self.codedeploy_backend, name)
    if config is None:
        raise _error("DeploymentConfigDoesNotExistException", f"The deployment configuration {name} does not exist.")
    return ActionResult({"deploymentConfigInfo": _config_info(config)})


def _validate_traffic_routing(routing: dict[str, Any] | None, platform: str) -> None:
    if routing is None:
        if platform in ("ECS", "Lambda"):
            raise _error(
                "InvalidTrafficRoutingConfigurationException",
                f"A traffic routing configuration is required for the {platform} compute platform.",
            )
        return
    kind = routing.get("type")
    if kind not in ("TimeBasedCanary", "TimeBasedLinear", "AllAtOnce"):
        raise _error("InvalidTrafficRoutingConfigurationException", f"The traffic routing type {kind} is invalid.")
    if kind == "TimeBasedCanary":
        block, pct, interval = routing.get("timeBasedCanary") or {}, "canaryPercentage", "canaryInterval"
    elif kind == "TimeBasedLinear":
        block, pct, interval = routing.get("timeBasedLinear") or {}, "linearPercentage", "linearInterval"
    else:
        return
    percentage, minutes = block.get(pct), block.get(interval)
    if not isinstance(percentage, int) or not 1 <= percentage <= 99:
        raise _error("InvalidTrafficRoutingConfigurationException", f"{pct} must be an integer from 1 to 99.")
    if not isinstance(minutes, int) or minutes < 1:
        raise _error("InvalidTrafficRoutingConfigurationException", f"{interval} must be a positive number of minutes.")


def create_deployment_config(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    name = self._get_param("deploymentConfigName")
    if not name:
        raise _error("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
    if name.startswith("CodeDeployDefault."):
        raise _error("InvalidDeploymentConfigNameException", "The prefix CodeDeployDefault. is reserved.")
    if find_config(backend, name) is not None:
        raise _error(
            "DeploymentConfigAlreadyExistsException", f"A deployment configuration named {name} already exists."
        )
    platform = self._get_param("computePlatform") or "Server"
    if platform not in ("Server", "Lambda", "ECS"):
        raise _error("InvalidComputePlatformException", f"The compute platform {platform} is invalid.")
    routing = self._get_param("trafficRoutingConfig")
    hosts = self._get_param("minimumHealthyHosts")
    if platform == "Server":
        if not hosts:
            raise _error(
                "InvalidMinimumHealthyHostValueException",
                "minimumHealthyHosts is required for the Server compute platform.",
            )
    elif hosts:
        raise _error(
            "InvalidMinimumHealthyHostValueException",
            f"minimumHealthyHosts is not supported for the {platform} compute platform.",
        )
    _validate_traffic_routing(routing, platform)
    config_id = str(uuid.uuid4())
    custom_configs(backend)[name] = {
        "deploymentConfigId": config_id,
        "deploymentConfigName": name,
        "minimumHealthyHosts": hosts,
        "createTime": datetime.now(tz=timezone.utc),
        "computePlatform": platform,
        "trafficRoutingConfig": routing,
        "zonalConfig": self._get_param("zonalConfig"),
    }
    return ActionResult({"deploymentConfigId": config_id})


def delete_deployment_config(self: CodeDeployResponse) -> EmptyResult:
    backend = self.codedeploy_backend
    name = self._get_param("deploymentConfigName")
    if not name:
        raise _error("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
    if name in PREDEFINED:
        raise _error("InvalidOperationException", "A predefined deployment configuration cannot be deleted.")
    for groups in backend.deployment_groups.values():
        for group in groups.values():
            if str(group.deployment_config_name) == name:
                raise _error("DeploymentConfigInUseException", f"The deployment configuration {name} is in use.")
    custom_configs(backend).pop(name, None)
    return EmptyResult()


def list_deployment_configs(self: CodeDeployResponse) -> ActionResult:
    names = sorted(PREDEFINED) + sorted(custom_configs(self.codedeploy_backend))
    return ActionResult({"deploymentConfigsList": names})


def _ecs_deployment_for_targets(self: CodeDeployResponse) -> EcsDeployment:
    deployment = _get_deployment(self.codedeploy_backend, self._get_param("deploymentId"))
    if not isinstance(deployment, EcsDeployment):
        raise _error("InvalidDeploymentInstanceTypeException", "Only ECS deployment targets are emulated.")
    if deployment.status == "Created" and deployment.aws_start is None and deployment.phase != PHASE_DONE:
        raise _error("DeploymentNotStartedException", f"The deployment {deployment.deployment_id} has not started.")
    return deployment


def list_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    deployment = _ecs_deployment_for_targets(self)
    filters = self._get_param("targetFilters") or {}
    for name in filters:
        if name not in ("TargetStatus", "ServerInstanceLabel"):
            raise _error("InvalidTargetFilterNameException", f"The target filter name {name} is invalid.")
    wanted = filters.get("TargetStatus")
    targets = []
    if not wanted or deployment.target_status in wanted:
        targets.append(deployment.target_id())
    return ActionResult({"targetIds": targets})


def batch_get_deployment_targets(self: CodeDeployResponse) -> ActionResult:
    target_ids = self._get_param("targetIds") or []
    deployment = _ecs_deployment_for_targets(self)
    if not target_ids:
        raise _error("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    if len(target_ids) > 25:
        raise _error("DeploymentTargetListSizeExceededException", "The maximum number of targets (25) was exceeded.")
    now = STATE.clock.now()
    out = []
    for target_id in target_ids:
        if target_id != deployment.target_id():
            raise _error(
                "DeploymentTargetDoesNotExistException",
                f"The target {target_id} does not exist in deployment {deployment.deployment_id}.",
            )
        out.append({"deploymentTargetType": "ECSTarget", "ecsTarget": deployment.ecs_target(now)})
    return ActionResult({"deploymentTargets": out})


def get_deployment_target(self: CodeDeployResponse) -> ActionResult:
    target_id = self._get_param("targetId")
    deployment = _ecs_deployment_for_targets(self)
    if not target_id:
        raise _error("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    if target_id != deployment.target_id():
        raise _error(
            "DeploymentTargetDoesNotExistException",
            f"The target {target_id} does not exist in deployment {deployment.deployment_id}.",
        )
    target = {"deploymentTargetType": "ECSTarget", "ecsTarget": deployment.ecs_target(STATE.clock.now())}
    return ActionResult({"deploymentTarget": target})


def create_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application_name = self._get_param("applicationName")
    application = backend.applications.get(application_name)
    config_name = self._get_param("deploymentConfigName")
    if config_name and find_config(backend, config_name) is None:
        raise _error(
            "DeploymentConfigDoesNotExistException", f"The deployment configuration {config_name} does not exist."
        )
    result = _original["create_deployment_group"](self)
    if application is not None and application.compute_platform == "ECS" and not config_name:
        group = backend.deployment_groups[application_name][self._get_param("deploymentGroupName")]
        group.deployment_config_name = DEFAULT_ECS_CONFIG
    return result


def get_deployment_group(self: CodeDeployResponse) -> ActionResult:
    backend = self.codedeploy_backend
    application_name = self._get_param("applicationName")
    group_name = self._get_param("deploymentGroupName")
    group = backend.get_deployment_group(application_name=application_name, deployment_group_name=group_name)
    info = {k: v for k, v in _deployment_group_info(group).items() if v not in ({}, None)}
    if isinstance(group.alarm_configuration, dict) and group.alarm_configuration:
        # moto leaves it out (a TODO there); the deployment engine watches these alarms.
        info["alarmConfiguration"] = group.alarm_configuration
    last = _last_deployment(backend, application_name, group_name, succeeded_only=False)
    if last:
        info["lastAttemptedDeployment"] = last
    last_ok = _last_deployment(backend, application_name, group_name, succeeded_only=True)
    if last_ok:
        info["lastSuccessfulDeployment"] = last_ok
    return ActionResult({"deploymentGroupInfo": info})


_original: dict[str, Any] = {}

_METHODS = {
    "create_deployment": create_deployment,
    "get_deployment": get_deployment,
    "batch_get_deployments": batch_get_deployments,
    "list_deployments": list_deployments,
    "stop_deployment": stop_deployment,
    "continue_deployment": continue_deployment,
    "get_deployment_config": get_deployment_config,
    "create_deployment_config": create_deployment_config,
    "delete_deployment_config": delete_deployment_config,
    "list_deployment_configs": list_deployment_configs,
    "list_deployment_targets": list_deployment_targets,
    "batch_get_deployment_targets": batch_get_deployment_targets,
    "get_deployment_target": get_deployment_target,
    "create_deployment_group": create_deployment_group,
    "get_deployment_group": get_deployment_group,
}


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    for name, method in _METHODS.items():
        if hasattr(CodeDeployResponse, name):
            _original[name] = getattr(CodeDeployResponse, name)
        setattr(CodeDeployResponse, name, method)
