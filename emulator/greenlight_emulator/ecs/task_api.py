"""RunTask, StartTask, DescribeTasks, StopTask and ListTasks for tasks with a lifecycle
(tasks.py): moto's backend creates the tasks; these response methods check the request
the way ECS does, start each task's lifecycle and answer with what the task shows now.
RegisterTaskDefinition is hooked to note which faults predate each revision, and moto's
resource accounting patched to accept containers without a memory size."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from types import SimpleNamespace
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Task, TaskDefinition
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.utilities.utils import get_partition

from ..control import STATE
from . import service_tasks
from . import tasks as task_runs

MAX_RUN_COUNT = 10
MAX_DESCRIBE_TASKS = 100
MAX_LIST_RESULTS = 100
DESIRED_STATUSES = ("RUNNING", "PENDING", "STOPPED")
MEMORY_FIELDS = ("memory", "memoryReservation", "Memory", "MemoryReservation")

COUNT_TOO_HIGH = f"Task count can not be greater than {MAX_RUN_COUNT}."
COUNT_TOO_LOW = "Task count must be greater than 0."
BOTH_LAUNCH_TYPE_AND_STRATEGY = (
    "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
)
NETWORK_REQUIRED = "Network Configuration must be provided when networkMode 'awsvpc' is specified."
NETWORK_NOT_VALID = "Network Configuration is not valid for the given networkMode of this task definition."
SUBNETS_REQUIRED = "subnets can not be empty."
NO_CONTAINER_INSTANCES = "No Container Instances were found in your cluster."
TASK_NOT_FOUND = "The referenced task was not found."


def _invalid(message: str) -> InvalidParameterException:
    return InvalidParameterException(message)


def _count(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("count must be an integer.")
    if value < 1:
        raise _invalid(COUNT_TOO_LOW)
    if value > MAX_RUN_COUNT:
        raise _invalid(COUNT_TOO_HIGH)
    return value


def _network(definition: TaskDefinition, given: Any) -> dict[str, Any] | None:
    """The networkConfiguration as ECS checks it against the task definition's network mode."""
    if definition.network_mode != "awsvpc":
        if given:
            raise _invalid(NETWORK_NOT_VALID)
        return None
    vpc = (given or {}).get("awsvpcConfiguration") if isinstance(given, dict) else None
    if not vpc:
        raise _invalid(NETWORK_REQUIRED)
    if not vpc.get("subnets"):
        raise _invalid(SUBNETS_REQUIRED)
    return copy.deepcopy(given)


def _for_moto(network: dict[str, Any] | None) -> dict[str, Any] | None:
    """moto's task creation reads securityGroups unconditionally; ECS lets it default."""
    if network is None:
        return None
    network = copy.deepcopy(network)
    network["awsvpcConfiguration"].setdefault("securityGroups", [])
    return network


def _inputs(self: EC2ContainerServiceResponse, network: dict[str, Any] | None) -> dict[str, Any]:
    """What the task keeps of the request beyond moto's own fields."""
    inputs = {
        "launchType": self._get_param("launchType"),
        "capacityProviderStrategy": copy.deepcopy(self._get_param("capacityProviderStrategy")),
        "networkConfiguration": network,
        "platformVersion": self._get_param("platformVersion"),
    }
    return {k: v for k, v in inputs.items() if v is not None}


def _aws_task_id(backend: EC2ContainerServiceBackend, task: Task) -> None:
    """ECS task IDs are 32 hex digits (moto's are UUIDs with dashes): the task's ID, and so
    its ARN and its key in the backend, become that."""
    tasks = backend.tasks[task.cluster_name]
    del tasks[task.task_arn]
    task.id = uuid.UUID(task.id).hex
    tasks[task.task_arn] = task


def _started(
    backend: EC2ContainerServiceBackend,
    created: list[Task],
    definition: TaskDefinition,
    inputs: dict[str, Any],
    counted: bool,
) -> list[dict[str, Any]]:
    """Starts the lifecycle of the tasks moto created; counted: whether moto counted those
    on a container instance as RUNNING in the cluster (its RunTask does, StartTask not)."""
    now = STATE.clock.now()
    answer = []
    for task in created:
        _aws_task_id(backend, task)
        if counted and task.container_instance_arn:
            # The task's lifecycle counts it from now on.
            cluster = backend.clusters[task.cluster_name]
            backend.update_cluster_resources(cluster, -1, task_state="RUNNING")
        run = task_runs.start(backend, task, definition, now, copy.deepcopy(inputs))
        answer.append(run.describe(now))
    return answer


def run_task(self: EC2ContainerServiceResponse) -> ActionResult:
    backend = self.ecs_backend
    count = _count(self._get_param("count"))
    launch_type = self._get_param("launchType")
    strategy = self._get_param("capacityProviderStrategy")
    if launch_type and strategy:
        raise _invalid(BOTH_LAUNCH_TYPE_AND_STRATEGY)
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    definition = backend.describe_task_definition(str(self._get_param("taskDefinition") or ""))
    network = _network(definition, self._get_param("networkConfiguration"))
    try:
        created = backend.run_task(
            cluster.name,
            definition.arn,
            count,
            self._get_param("overrides"),
            self._get_param("startedBy"),
            self._get_param("tags"),
            launch_type,
            _for_moto(network),
            self._get_param("group"),
            self._get_param("platformVersion"),
            strategy,
        )
    except Exception as exc:
        # moto raises a bare Exception when an EC2 task has no container instance to run on.
        if str(exc).startswith("No instances found"):
            raise _invalid(NO_CONTAINER_INSTANCES) from exc
        raise
    answer = _started(backend, created, definition, _inputs(self, network), counted=True)
    return ActionResult({"tasks": answer, "failures": []})


def start_task(self: EC2ContainerServiceResponse) -> ActionResult:
    backend = self.ecs_backend
    definition = backend.describe_task_definition(str(self._get_param("taskDefinition") or ""))
    given = self._get_param("networkConfiguration")
    network = _network(definition, given) if given else None
    created = backend.start_task(
        self._get_param("cluster") or "default",
        definition.arn,
        self._get_param("containerInstances"),
        self._get_param("overrides"),
        self._get_param("startedBy"),
        self._get_param("tags"),
        self._get_param("group"),
    )
    inputs = {"launchType": "EC2", **({"networkConfiguration": network} if network else {})}
    return ActionResult({"tasks": _started(backend, created, definition, inputs, counted=False), "failures": []})


def _task_arn(backend: EC2ContainerServiceBackend, cluster: str, ref: str) -> str:
    if ref.startswith("arn:"):
        return ref
    region = backend.region_name
    return f"arn:{get_partition(region)}:ecs:{region}:{backend.account_id}:task/{cluster}/{ref}"


def _runs(backend: EC2ContainerServiceBackend, cluster: str) -> list[task_runs.TaskRun]:
    """Every task of the cluster: one-off tasks, then those of its services."""
    now = STATE.clock.now()
    found: list[task_runs.TaskRun] = list(task_runs.cluster_runs(backend, cluster))
    # A service task planned ahead (a CodeDeploy replacement whose tasks keep failing) exists
    # from its creation on.
    found += [
        t for t in service_tasks.cluster_tasks(backend, cluster) if t.created_at <= now and not t.stopped_long_ago(now)
    ]
    return found


def _find(backend: EC2ContainerServiceBackend, cluster: str, ref: str) -> task_runs.TaskRun | None:
    """The task a StopTask/DescribeTasks reference (an ID or ARN) names in the cluster."""
    ident = ref.rsplit("/", 1)[-1]
    for run in _runs(backend, cluster):
        if ref == run.task.task_arn or ident == run.task.id:
            return run
    return None


def describe_tasks(self: EC2ContainerServiceResponse) -> ActionResult:
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    refs = [str(ref) for ref in self._get_param("tasks") or []]
    if not refs:
        raise _invalid("Tasks cannot be empty.")
    if len(refs) > MAX_DESCRIBE_TASKS:
        raise _invalid(f"tasks can have at most {MAX_DESCRIBE_TASKS} items.")
    include_tags = "TAGS" in (self._get_param("include") or [])
    now = STATE.clock.now()
    found, failures = [], []
    for ref in refs:
        run = _find(backend, cluster.name, ref)
        if run is None:
            failures.append({"arn": _task_arn(backend, cluster.name, ref), "reason": "MISSING"})
            continue
        run.advance(now)
        found.append(run.describe(now, include_tags))
    return ActionResult({"tasks": found, "failures": failures})


def stop_task(self: EC2ContainerServiceResponse) -> ActionResult:
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    ref = self._get_param("task")
    if not ref:
        raise _invalid("task is required.")
    run = _find(backend, cluster.name, str(ref))
    if run is None:
        raise _invalid(TASK_NOT_FOUND)
    now = STATE.clock.now()
    run.advance(now)
    run.stop(now, self._get_param("reason"))
    run.advance(now)
    return ActionResult({"task": run.describe(now)})


def _family(task_definition_arn: str) -> str:
    return task_definition_arn.rsplit("/", 1)[-1].split(":", 1)[0]


def _page(refs: list[str], token: Any, limit: Any) -> tuple[list[str], str | None]:
    if limit is None:
        limit = MAX_LIST_RESULTS
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_RESULTS:
        raise _invalid(f"maxResults must be from 1 to {MAX_LIST_RESULTS}.")
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"])
        except (ValueError, KeyError, TypeError) as exc:
            raise _invalid("The nextToken is not valid.") from exc
    page = refs[start : start + limit]
    more = start + limit < len(refs)
    next_token = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode() if more else None
    return page, next_token


def list_tasks(self: EC2ContainerServiceResponse) -> ActionResult:
    """ECS's filters; without desiredStatus, the tasks whose desired status is RUNNING."""
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    desired = self._get_param("desiredStatus") or "RUNNING"
    if desired not in DESIRED_STATUSES:
        raise _invalid(f"desiredStatus must be one of {', '.join(DESIRED_STATUSES)}.")
    family = self._get_param("family")
    started_by = self._get_param("startedBy")
    instance = self._get_param("containerInstance")
    launch_type = self._get_param("launchType")
    service_name = self._get_param("serviceName")
    if service_name:
        # ECS answers ServiceNotFoundException for a service the cluster does not have.
        backend._get_service(cluster.name, str(service_name))
        service_name = str(service_name).rsplit("/", 1)[-1]
    now = STATE.clock.now()
    arns = []
    for run in _runs(backend, cluster.name):
        task = run.task
        if run.desired_status(now) != desired:
            continue
        if service_name and getattr(run, "service_name", None) != service_name:
            continue
        if family and _family(task.task_definition_arn) != family.rsplit("/", 1)[-1]:
            continue
        if started_by and task.started_by != started_by:
            continue
        if instance and not (task.container_instance_arn or "").endswith(instance.rsplit("/", 1)[-1]):
            continue
        if launch_type and run.describe(now).get("launchType") != launch_type:
            continue
        arns.append(task.task_arn)
    page, token = _page(arns, self._get_param("nextToken"), self._get_param("maxResults"))
    answer: dict[str, Any] = {"taskArns": page}
    if token:
        answer["nextToken"] = token
    return ActionResult(answer)


_original: dict[str, Any] = {}

_METHODS = {
    "run_task": run_task,
    "start_task": start_task,
    "describe_tasks": describe_tasks,
    "stop_task": stop_task,
    "list_tasks": list_tasks,
}


def install() -> None:
    if _original:
        return
    for name, method in _METHODS.items():
        _original[name] = getattr(EC2ContainerServiceResponse, name, None)
        setattr(EC2ContainerServiceResponse, name, method)

    original_register = EC2ContainerServiceBackend.register_task_definition

    def register_task_definition(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> TaskDefinition:
        definition = original_register(self, *args, **kwargs)
        task_runs.mark_task_definition(definition)
        return definition

    EC2ContainerServiceBackend.register_task_definition = register_task_definition  # type: ignore[method-assign]

    original_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition: TaskDefinition) -> dict[str, Any]:
        """moto adds up container memory and fails on a container without any (Fargate task
        definitions usually size the task instead): such a container counts 0."""
        containers = [
            c if any(c.get(k) is not None for k in MEMORY_FIELDS) else {**c, "memory": 0}
            for c in task_definition.container_definitions
        ]
        return original_requirements(SimpleNamespace(container_definitions=containers))

    patched = staticmethod(requirements)
    EC2ContainerServiceBackend._calculate_task_resource_requirements = patched  # type: ignore[method-assign]
