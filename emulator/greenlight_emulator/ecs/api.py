"""The ECS calls the deployment engine (controller.py) answers:
CreateService/UpdateService with a deploymentConfiguration and deployments for
services with the ECS deployment controller, ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment, ContinueServiceDeployment and
DescribeServiceRevisions, and ListTaskDefinitions with its sort and paging. moto dispatches an action to the
EC2ContainerServiceResponse method of the same name in snake_case, so each call
here is a method set on that class; UpdateService is hooked on the backend
(ext.py), where moto's own validation runs first."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service
from moto.ecs.responses import EC2ContainerServiceResponse

from ..control import STATE
from .controller import attach, controller, find_revision, find_service_deployment
from .model import DEFAULT_DEPLOYMENT_CONFIGURATION, STRATEGIES

SERVICE_DEPLOYMENT_STATUSES = (
    "PENDING",
    "SUCCESSFUL",
    "STOPPED",
    "STOP_REQUESTED",
    "IN_PROGRESS",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
)
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
HOOK_TARGET_TYPES = ("AWS_LAMBDA", "PAUSE")
HOOK_ACTIONS = ("CONTINUE", "ROLLBACK")
STOP_TYPES = ("ABORT", "ROLLBACK")
DEFAULT_MAX_RESULTS = 20
MAX_RESULTS_LIMIT = 100
MAX_DESCRIBE_ARNS = 20


def _invalid(message: str) -> InvalidParameterException:
    return InvalidParameterException(message)


# ----------------------------------------------------------------------
# deploymentConfiguration
# ----------------------------------------------------------------------
def _validate_hook(hook: Any) -> None:
    if not isinstance(hook, dict):
        raise _invalid("Each lifecycle hook must be an object.")
    target_type = hook.get("targetType") or "AWS_LAMBDA"
    if target_type not in HOOK_TARGET_TYPES:
        raise _invalid(f"targetType must be one of {', '.join(HOOK_TARGET_TYPES)}.")
    stages = hook.get("lifecycleStages")
    if not isinstance(stages, list) or not stages or any(s not in HOOK_STAGES for s in stages):
        raise _invalid(f"lifecycleStages must list stages among {', '.join(HOOK_STAGES)}.")
    if target_type == "AWS_LAMBDA" and not (hook.get("hookTargetArn") and hook.get("roleArn")):
        raise _invalid("An AWS_LAMBDA lifecycle hook needs a hookTargetArn and a roleArn.")
    timeout = hook.get("timeoutConfiguration") or {}
    action = timeout.get("action")
    if action is not None and action not in HOOK_ACTIONS:
        raise _invalid(f"timeoutConfiguration.action must be one of {', '.join(HOOK_ACTIONS)}.")
    minutes = timeout.get("timeoutInMinutes")
    if minutes is not None and not (isinstance(minutes, int) and 1 <= minutes <= 20160):
        raise _invalid("timeoutConfiguration.timeoutInMinutes must be from 1 to 20160.")


def _validate_share(block: Any, name: str, field: str, low: float) -> None:
    if block is None:
        return
    value = block.get(field) if isinstance(block, dict) else None
    if value is not None and not (isinstance(value, (int, float)) and low <= value <= 100):
        raise _invalid(f"{name}.{field} must be from {low:g} to 100.")


def validate_configuration(config: Any) -> dict[str, Any]:
    """A DeploymentConfiguration as given, checked the way ECS checks it (in part)."""
    if not isinstance(config, dict):
        raise _invalid("deploymentConfiguration must be an object.")
    strategy = config.get("strategy")
    if strategy is not None and strategy not in STRATEGIES:
        raise _invalid(f"strategy must be one of {', '.join(STRATEGIES)}.")
    for hook in config.get("lifecycleHooks") or []:
        _validate_hook(hook)
    _validate_share(config.get("canaryConfiguration"), "canaryConfiguration", "canaryPercent", 0.1)
    _validate_share(config.get("linearConfiguration"), "linearConfiguration", "stepPercent", 3.0)
    return copy.deepcopy(config)


def merged_configuration(current: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """UpdateService replaces the members of the deployment configuration it names."""
    merged = copy.deepcopy(DEFAULT_DEPLOYMENT_CONFIGURATION if current is None else current)
    merged.update(copy.deepcopy(given))
    return merged


# ----------------------------------------------------------------------
# UpdateService for services with the ECS deployment controller
# ----------------------------------------------------------------------
def update_ecs_service(
    backend: EC2ContainerServiceBackend,
    service: Service,
    properties: dict[str, Any],
    config: dict[str, Any] | None,
    moto_update: Callable[[dict[str, Any]], Service],
) -> Service:
    """Applies the deployment-related members itself; moto's update sets the rest."""
    task_definition = properties.pop("task_definition", None)
    force = bool(properties.pop("force_new_deployment", False))
    desired = properties.pop("desired_count", None)
    task_definition_arn = backend.describe_task_definition(task_definition).arn if task_definition else None
    merged = merged_configuration(service.deployment_configuration, validate_configuration(config)) if config else None
    service = moto_update(properties)
    ctl = controller(service) or attach(backend, service)
    ctl.uncount_from_cluster()
    now = STATE.clock.now()
    if merged is not None:
        ctl.configure(merged)
    if desired is not None:
        ctl.scale(now, int(desired))
    if force or (task_definition_arn and task_definition_arn != service.task_definition):
        ctl.deploy(now, task_definition_arn or service.task_definition)
    ctl.sync(now)
    return service


def update_other_service(
    service: Service,
    properties: dict[str, Any],
    config: dict[str, Any] | None,
    moto_update: Callable[[dict[str, Any]], Service],
) -> Service:
    """UpdateService of a CODE_DEPLOY or EXTERNAL service: keeps the configuration as
    given (merged into what was given before), without the ECS controller's defaults."""
    merged = None
    if config is not None:
        previous = getattr(service, "deployment_configuration", None) or {}
        merged = merged_configuration(previous, validate_configuration(config))
    service = moto_update(properties)
    if merged is not None:
        service.deployment_configuration = merged
    return service


# ----------------------------------------------------------------------
# Response methods
# ----------------------------------------------------------------------
def create_service(self: EC2ContainerServiceResponse) -> ActionResult:
    given = self._get_param("deploymentConfiguration")
    config = validate_configuration(given) if given is not None else None
    result = _original["create_service"](self)
    if config is None:
        return result
    cluster = str(self._get_param("cluster") or "default").split("/")[-1]
    service = self.ecs_backend.services[f"{cluster}:{self._get_param('serviceName')}"]
    ctl = controller(service)
    if ctl is not None:
        ctl.configure(merged_configuration(DEFAULT_DEPLOYMENT_CONFIGURATION, config))
        ctl.sync(STATE.clock.now())
    else:
        service.deployment_configuration = config
    return result


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value)).timestamp()


def _max_results(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESULTS_LIMIT:
        raise _invalid(f"maxResults must be from 1 to {MAX_RESULTS_LIMIT}.")
    return value


def _offset(token: Any, service_arn: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if decoded["service"] == service_arn:
            return int(decoded["offset"])
    except (ValueError, KeyError, TypeError):
        pass
    raise _invalid("The nextToken is not valid.")


def _token(service_arn: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"service": service_arn, "offset": offset}).encode()).decode()


def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    backend = self.ecs_backend
    name = self._get_param("service")
    if not name:
        raise _invalid("service is required.")
    service = backend._get_service(self._get_param("cluster") or "default", name)
    statuses = self._get_param("status") or []
    for status in statuses:
        if status not in SERVICE_DEPLOYMENT_STATUSES:
            raise _invalid(f"status must be among {', '.join(SERVICE_DEPLOYMENT_STATUSES)}.")
    created = self._get_param("createdAt") or {}
    before, after = _epoch(created.get("before")), _epoch(created.get("after"))
    limit = _max_results(self._get_param("maxResults"))
    ctl = controller(service)
    found = []
    for deployment in reversed(list(ctl.deployments.values()) if ctl else []):
        created_wall = STATE.clock.to_wall(deployment.created_at)
        if statuses and deployment.status not in statuses:
            continue
        if (before is not None and created_wall > before) or (after is not None and created_wall < after):
            continue
        found.append(deployment)
    start = _offset(self._get_param("nextToken"), service.arn)
    page = found[start : start + limit]
    answer: dict[str, Any] = {"serviceDeployments": [d.brief() for d in page]}
    if start + limit < len(found):
        answer["nextToken"] = _token(service.arn, start + limit)
    return ActionResult(answer)


def _arns(self: EC2ContainerServiceResponse, name: str) -> list[str]:
    arns = self._get_param(name) or []
    if not arns:
        raise _invalid(f"{name} must list at least one ARN.")
    if len(arns) > MAX_DESCRIBE_ARNS:
        raise _invalid(f"{name} can list at most {MAX_DESCRIBE_ARNS} ARNs.")
    return [str(arn) for arn in arns]


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    found, failures = [], []
    for arn in _arns(self, "serviceDeploymentArns"):
        deployment = find_service_deployment(self.ecs_backend, arn)
        if deployment is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(deployment.describe())
    return ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self: EC2ContainerServiceResponse) -> ActionResult:
    found, failures = [], []
    for arn in _arns(self, "serviceRevisionArns"):
        revision = find_revision(self.ecs_backend, arn)
        if revision is None:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(revision.describe())
    return ActionResult({"serviceRevisions": found, "failures": failures})


def _service_deployment(self: EC2ContainerServiceResponse) -> Any:
    arn = self._get_param("serviceDeploymentArn")
    if not arn:
        raise _invalid("serviceDeploymentArn is required.")
    deployment = find_service_deployment(self.ecs_backend, str(arn))
    if deployment is None:
        raise ECSException("ServiceDeploymentNotFoundException", f"The service deployment {arn} does not exist.")
    return deployment


def stop_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    stop_type = self._get_param("stopType") or "ROLLBACK"
    if stop_type not in STOP_TYPES:
        raise _invalid(f"stopType must be one of {', '.join(STOP_TYPES)}.")
    deployment = _service_deployment(self)
    now = STATE.clock.now()
    deployment.stop(now, stop_type)
    deployment.ctl.sync(now)
    return ActionResult({"serviceDeploymentArn": deployment.arn})


def continue_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    hook_id = self._get_param("hookId")
    if not hook_id:
        raise _invalid("hookId is required.")
    action = self._get_param("action") or "CONTINUE"
    if action not in HOOK_ACTIONS:
        raise _invalid(f"action must be one of {', '.join(HOOK_ACTIONS)}.")
    deployment = _service_deployment(self)
    now = STATE.clock.now()
    deployment.continue_hook(now, str(hook_id), action)
    deployment.ctl.sync(now)
    return ActionResult({"serviceDeploymentArn": deployment.arn})


# ----------------------------------------------------------------------
# ListTaskDefinitions: moto ignores sort, maxResults and nextToken
# ----------------------------------------------------------------------
TASK_DEFINITION_STATUSES = ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS")
TASK_DEFINITIONS_MAX_RESULTS = 100


def _task_definitions_token(listing: dict[str, Any], offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({**listing, "offset": offset}, sort_keys=True).encode()).decode()


def _task_definitions_offset(token: Any, listing: dict[str, Any]) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if all(decoded.get(k) == v for k, v in listing.items()):
            return int(decoded["offset"])
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise _invalid("The nextToken is not valid.")


def list_task_definitions(self: EC2ContainerServiceResponse) -> ActionResult:
    """As AWS documents it: familyPrefix is the full family name, status ACTIVE by default,
    sorted by family then revision (ASC by default), at most maxResults (1-100, 100 by
    default) a page with a nextToken for the rest."""
    family = self._get_param("familyPrefix")
    status = self._get_param("status") or "ACTIVE"
    if status not in TASK_DEFINITION_STATUSES:
        raise _invalid(f"status must be one of {', '.join(TASK_DEFINITION_STATUSES)}.")
    sort = self._get_param("sort") or "ASC"
    if sort not in ("ASC", "DESC"):
        raise _invalid("sort must be ASC or DESC.")
    limit = self._get_param("maxResults")
    if limit is None:
        limit = TASK_DEFINITIONS_MAX_RESULTS
    elif isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= TASK_DEFINITIONS_MAX_RESULTS:
        raise _invalid(f"maxResults must be from 1 to {TASK_DEFINITIONS_MAX_RESULTS}.")
    found = [
        (definition.family, definition.revision, definition.arn)
        for revisions in self.ecs_backend.task_definitions.values()
        for definition in revisions.values()
        if (family is None or definition.family == family) and definition.status == status
    ]
    found.sort(reverse=sort == "DESC")
    listing = {"family": family, "status": status, "sort": sort}
    start = _task_definitions_offset(self._get_param("nextToken"), listing)
    answer: dict[str, Any] = {"taskDefinitionArns": [arn for _, _, arn in found[start : start + limit]]}
    if start + limit < len(found):
        answer["nextToken"] = _task_definitions_token(listing, start + limit)
    return ActionResult(answer)


_original: dict[str, Any] = {}

_METHODS = {
    "create_service": create_service,
    "list_service_deployments": list_service_deployments,
    "describe_service_deployments": describe_service_deployments,
    "describe_service_revisions": describe_service_revisions,
    "stop_service_deployment": stop_service_deployment,
    "continue_service_deployment": continue_service_deployment,
    "list_task_definitions": list_task_definitions,
}


def install() -> None:
    if _original:
        return
    for name, method in _METHODS.items():
        _original[name] = getattr(EC2ContainerServiceResponse, name, None)
        setattr(EC2ContainerServiceResponse, name, method)
