"""One-off ECS tasks (RunTask, StartTask): their lifecycle on the emulator clock,
StopTask, DescribeTasks/ListTasks, the awslogs log lines, the container_exits fault and
RunTask's checks."""

from __future__ import annotations

import re
import time
from typing import Any

import boto3
import emulator_helpers as h
import pytest
from botocore.exceptions import ClientError

ECS = "AmazonEC2ContainerServiceV20141113."
SECONDS = {"provisioning": 3.0, "pull": 4.0, "activating": 1.0, "run": 10.0, "sigterm": 1.0, "deprovisioning": 3.0}


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------
def logs_client(url: str) -> Any:
    return boto3.client("logs", endpoint_url=url, region_name=h.REGION)


def set_scale(url: str, scale: float) -> None:
    status, _ = h.control(url, "POST", "config", {"time_scale": scale})
    assert status == 200


def network(aws: h.Clients, env: dict[str, Any]) -> dict[str, Any]:
    return h.service(aws, env)["networkConfiguration"]


def run(aws: h.Clients, env: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("taskDefinition", env["taskDefinitionArn"])
    kwargs.setdefault("launchType", "FARGATE")
    kwargs.setdefault("networkConfiguration", network(aws, env))
    return aws.ecs.run_task(cluster=env["cluster"], **kwargs)


def describe(aws: h.Clients, env: dict[str, Any], arn: str) -> dict[str, Any]:
    return aws.ecs.describe_tasks(cluster=env["cluster"], tasks=[arn])["tasks"][0]


def wait_task(aws: h.Clients, env: dict[str, Any], arn: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
    return h.poll(lambda: describe(aws, env, arn), lambda t: t["lastStatus"] in statuses, timeout)


def task_transitions(url: str, arn: str, field: str) -> list[tuple[float, str]]:
    status, body = h.control(url, "GET", "transitions")
    assert status == 200
    prefix = field + "="
    return [(t["at"], t["what"][len(prefix) :]) for t in body if t["id"] == arn and t["what"].startswith(prefix)]


def add_fault(url: str, fault: dict[str, Any]) -> dict[str, Any]:
    status, body = h.control(url, "POST", "faults", fault)
    assert status == 200, body
    return body["fault"]


def stream_of(env: dict[str, Any], arn: str) -> str:
    return f"ecs/{env['containerName']}/{arn.rsplit('/', 1)[-1]}"


def log_lines(url: str, env: dict[str, Any], arn: str) -> list[str]:
    events = logs_client(url).get_log_events(
        logGroupName=f"/ecs/{env['family']}", logStreamName=stream_of(env, arn), startFromHead=True
    )["events"]
    return [e["message"] for e in events]


def epoch(value: Any) -> float:
    return value.timestamp()


check_shape = h.check_shape


def check_output(operation: str, body: dict[str, Any]) -> None:
    h.check_output("ecs", operation, body)


# ----------------------------------------------------------------------
# Lifecycle
# ----------------------------------------------------------------------
def test_a_task_goes_from_provisioning_to_stopped_with_its_timestamps(emulator, aws, seeded):
    env = seeded()
    answer = run(aws, env)
    assert answer["failures"] == []
    [started] = answer["tasks"]
    arn = started["taskArn"]
    assert re.fullmatch(rf"arn:aws:ecs:us-east-1:123456789012:task/{env['cluster']}/[0-9a-f]{{32}}", arn)
    assert started["lastStatus"] == "PROVISIONING" and started["desiredStatus"] == "RUNNING"
    assert started["containers"][0]["lastStatus"] == "PENDING"
    for absent in ("startedAt", "pullStartedAt", "stoppingAt", "stoppedAt", "stopCode", "stoppedReason"):
        assert absent not in started

    task = wait_task(aws, env, arn, "STOPPED")
    statuses = task_transitions(emulator, arn, "lastStatus")
    assert [s for _, s in statuses] == ["PROVISIONING", "PENDING", "RUNNING", "DEPROVISIONING", "STOPPED"]
    assert [s for _, s in task_transitions(emulator, arn, "desiredStatus")] == ["RUNNING", "STOPPED"]

    scale = 600.0
    created, pull_started, pull_stopped = (epoch(task[k]) for k in ("createdAt", "pullStartedAt", "pullStoppedAt"))
    started_at, stopping, execution_stopped, stopped = (
        epoch(task[k]) for k in ("startedAt", "stoppingAt", "executionStoppedAt", "stoppedAt")
    )
    expected = [
        (pull_started - created, SECONDS["provisioning"]),
        (pull_stopped - pull_started, SECONDS["pull"]),
        (started_at - pull_stopped, SECONDS["activating"]),
        (execution_stopped - started_at, SECONDS["run"]),
        (stopped - execution_stopped, SECONDS["deprovisioning"]),
    ]
    for got, aws_seconds in expected:
        assert got == pytest.approx(aws_seconds / scale, abs=0.002)
    assert stopping == execution_stopped
    # The transitions happened when the timestamps say.
    at = dict((s, t) for t, s in statuses)
    assert at["PENDING"] == pytest.approx(pull_started, abs=0.002)
    assert at["RUNNING"] == pytest.approx(started_at, abs=0.002)
    assert at["STOPPED"] == pytest.approx(stopped, abs=0.002)

    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    [container] = task["containers"]
    assert container["lastStatus"] == "STOPPED" and container["exitCode"] == 0 and "reason" not in container
    assert container["name"] == env["containerName"] and container["image"] == env["image"]
    assert task["launchType"] == "FARGATE" and task["version"] == 5
    assert task["attachments"][0]["status"] == "DELETED"


def test_polling_sees_every_state_in_order(emulator, aws, seeded):
    env = seeded()
    set_scale(emulator, 10)  # the shortest state lasts 0.3 s
    arn = run(aws, env)["tasks"][0]["taskArn"]
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 20
    while True:
        task = describe(aws, env, arn)
        state = (task["lastStatus"], task["desiredStatus"], task["containers"][0]["lastStatus"])
        if not seen or seen[-1] != state:
            seen.append(state)
        if task["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    assert seen == [
        ("PROVISIONING", "RUNNING", "PENDING"),
        ("PENDING", "RUNNING", "PENDING"),
        ("RUNNING", "RUNNING", "RUNNING"),
        ("DEPROVISIONING", "STOPPED", "STOPPED"),
        ("STOPPED", "STOPPED", "STOPPED"),
    ]


def test_run_task_keeps_its_inputs_and_count_starts_several(emulator, aws, seeded):
    env = seeded()
    net = network(aws, env)
    overrides = {
        "containerOverrides": [
            {
                "name": env["containerName"],
                "command": ["./manage.py", "migrate"],
                "environment": [{"name": "STAGE", "value": "migrate"}],
            }
        ]
    }
    answer = aws.ecs.run_task(
        cluster=env["cluster"],
        taskDefinition=env["taskDefinitionArn"],
        count=3,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
        networkConfiguration=net,
        overrides=overrides,
        startedBy="greenlight",
        group="migrations",
        tags=[{"key": "purpose", "value": "migrate"}],
    )
    assert len(answer["tasks"]) == 3 and len({t["taskArn"] for t in answer["tasks"]}) == 3
    task = answer["tasks"][0]
    assert task["overrides"]["containerOverrides"] == overrides["containerOverrides"]
    assert task["startedBy"] == "greenlight" and task["group"] == "migrations"
    assert task["capacityProviderName"] == "FARGATE" and task["launchType"] == "FARGATE"
    assert task["tags"] == [{"key": "purpose", "value": "migrate"}]
    subnet = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "subnetId")
    assert subnet in net["awsvpcConfiguration"]["subnets"]

    described = aws.ecs.describe_tasks(cluster=env["cluster"], tasks=[task["taskArn"]])["tasks"][0]
    assert "tags" not in described
    tagged = aws.ecs.describe_tasks(cluster=env["cluster"], tasks=[task["taskArn"]], include=["TAGS"])["tasks"][0]
    assert tagged["tags"] == [{"key": "purpose", "value": "migrate"}]

    status, body = h.control(emulator, "GET", "tasks")
    assert status == 200
    kept = next(t for t in body["tasks"] if t["taskArn"] == task["taskArn"])
    assert kept["networkConfiguration"] == net
    assert kept["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert kept["containers"][0]["command"] == ["./manage.py", "migrate"]

    wait_task(aws, env, task["taskArn"], "STOPPED")
    assert log_lines(emulator, env, task["taskArn"])[0] == f"{env['containerName']}: starting ./manage.py migrate"


# ----------------------------------------------------------------------
# StopTask, DescribeTasks, ListTasks
# ----------------------------------------------------------------------
def test_stop_task_stops_a_running_task_with_sigterm(emulator, aws, seeded):
    env = seeded()
    set_scale(emulator, 10)
    arn = run(aws, env)["tasks"][0]["taskArn"]
    wait_task(aws, env, arn, "RUNNING")
    stopped = aws.ecs.stop_task(cluster=env["cluster"], task=arn, reason="Cancelled by greenlight")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] == "STOPPING"
    assert stopped["stopCode"] == "UserInitiated" and "stoppingAt" in stopped
    assert stopped["containers"][0]["lastStatus"] == "RUNNING"

    set_scale(emulator, 600)
    task = wait_task(aws, env, arn, "STOPPED")
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "Cancelled by greenlight"
    assert task["containers"][0]["exitCode"] == 143
    assert epoch(task["executionStoppedAt"]) > epoch(task["stoppingAt"])
    assert [s for _, s in task_transitions(emulator, arn, "lastStatus")] == [
        "PROVISIONING",
        "PENDING",
        "RUNNING",
        "STOPPING",
        "DEPROVISIONING",
        "STOPPED",
    ]
    lines = log_lines(emulator, env, arn)
    assert lines[-2:] == [f"{env['containerName']}: received SIGTERM", f"{env['containerName']}: exited 143"]

    # Stopping it again changes nothing.
    again = aws.ecs.stop_task(cluster=env["cluster"], task=arn, reason="again")["task"]
    assert again["stoppedReason"] == "Cancelled by greenlight" and again["lastStatus"] == "STOPPED"


def test_a_task_stopped_before_it_runs_never_exits(emulator, aws, seeded):
    env = seeded()
    set_scale(emulator, 1)
    arn = run(aws, env)["tasks"][0]["taskArn"]
    task_id = arn.rsplit("/", 1)[-1]
    aws.ecs.stop_task(cluster=env["cluster"], task=task_id)
    set_scale(emulator, 600)
    task = wait_task(aws, env, arn, "STOPPED")
    assert task["stopCode"] == "UserInitiated" and task["stoppedReason"] == "Task stopped by user"
    assert "startedAt" not in task and "executionStoppedAt" not in task
    assert task["containers"][0]["lastStatus"] == "STOPPED" and "exitCode" not in task["containers"][0]


def test_describe_tasks_reports_unknown_tasks_as_failures(aws, seeded):
    env = seeded()
    arn = run(aws, env)["tasks"][0]["taskArn"]
    answer = aws.ecs.describe_tasks(cluster=env["cluster"], tasks=[arn, "0123456789abcdef"])
    assert [t["taskArn"] for t in answer["tasks"]] == [arn]
    assert answer["failures"] == [
        {"arn": f"arn:aws:ecs:us-east-1:123456789012:task/{env['cluster']}/0123456789abcdef", "reason": "MISSING"}
    ]
    with pytest.raises(ClientError) as error:
        aws.ecs.stop_task(cluster=env["cluster"], task="0123456789abcdef")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_list_tasks_filters_by_desired_status_family_and_started_by(emulator, aws, seeded):
    env = seeded()
    set_scale(emulator, 1)
    mine = run(aws, env, startedBy="greenlight")["tasks"][0]["taskArn"]
    other = run(aws, env)["tasks"][0]["taskArn"]
    cluster = env["cluster"]
    # The service's own tasks (its PRIMARY task set's) are listed too, as on ECS.
    service = aws.ecs.list_tasks(cluster=cluster, serviceName=env["service"])["taskArns"]
    assert len(service) == 2 and not {mine, other} & set(service)

    assert sorted(aws.ecs.list_tasks(cluster=cluster)["taskArns"]) == sorted([mine, other, *service])
    assert aws.ecs.list_tasks(cluster=cluster, startedBy="greenlight")["taskArns"] == [mine]
    assert sorted(aws.ecs.list_tasks(cluster=cluster, family=env["family"])["taskArns"]) == sorted(
        [mine, other, *service]
    )
    assert aws.ecs.list_tasks(cluster=cluster, family="nothing")["taskArns"] == []
    assert aws.ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == []
    page = aws.ecs.list_tasks(cluster=cluster, maxResults=3)
    assert len(page["taskArns"]) == 3 and page["nextToken"]
    rest = aws.ecs.list_tasks(cluster=cluster, maxResults=3, nextToken=page["nextToken"])
    assert sorted(page["taskArns"] + rest["taskArns"]) == sorted([mine, other, *service]) and "nextToken" not in rest

    aws.ecs.stop_task(cluster=cluster, task=mine)
    assert sorted(aws.ecs.list_tasks(cluster=cluster)["taskArns"]) == sorted([other, *service])
    assert aws.ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == [mine]
    assert aws.ecs.list_tasks(cluster=cluster, serviceName=env["service"], desiredStatus="STOPPED")["taskArns"] == []


def test_cluster_counts_follow_one_off_tasks(emulator, aws, seeded):
    env = seeded(controller="ECS")
    set_scale(emulator, 1)

    def counts() -> tuple[int, int]:
        cluster = aws.ecs.describe_clusters(clusters=[env["cluster"]])["clusters"][0]
        return cluster["runningTasksCount"], cluster["pendingTasksCount"]

    before = counts()
    assert before == (2, 0)
    arn = run(aws, env)["tasks"][0]["taskArn"]
    assert counts() == (2, 1)
    set_scale(emulator, 600)
    wait_task(aws, env, arn, "STOPPED")
    assert counts() == before
    assert h.service(aws, env)["runningCount"] == 2


def test_ec2_tasks_from_run_task_and_start_task_give_their_instance_back(emulator, aws):
    ec2 = boto3.client("ec2", endpoint_url=emulator, region_name=h.REGION)
    cluster = f"ec2-{h.unique_name('ec2 tasks', 0)}"
    aws.ecs.create_cluster(clusterName=cluster)
    aws.ecs.register_task_definition(
        family="job", containerDefinitions=[{"name": "job", "image": "busybox", "memory": 128, "cpu": 256}]
    )
    with pytest.raises(ClientError) as error:
        aws.ecs.run_task(cluster=cluster, taskDefinition="job", launchType="EC2")
    assert error.value.response["Error"]["Message"] == "No Container Instances were found in your cluster."

    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    document = '{"instanceId": "%s"}' % instance["InstanceId"]
    registered = aws.ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=document)
    instance_arn = registered["containerInstance"]["containerInstanceArn"]
    set_scale(emulator, 1)
    ran = aws.ecs.run_task(cluster=cluster, taskDefinition="job", launchType="EC2")["tasks"][0]
    started = aws.ecs.start_task(cluster=cluster, taskDefinition="job", containerInstances=[instance_arn])["tasks"][0]
    assert ran["containerInstanceArn"] == started["containerInstanceArn"] == instance_arn
    assert (ran["launchType"], started["launchType"]) == ("EC2", "EC2")
    counts = aws.ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert (counts["runningTasksCount"], counts["pendingTasksCount"]) == (0, 2)

    set_scale(emulator, 600)
    for arn in (ran["taskArn"], started["taskArn"]):
        task = wait_task(aws, {"cluster": cluster}, arn, "STOPPED")
        assert task["containers"][0]["exitCode"] == 0
    counts = aws.ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert (counts["runningTasksCount"], counts["pendingTasksCount"]) == (0, 0)
    described = aws.ecs.describe_container_instances(cluster=cluster, containerInstances=[instance_arn])
    remaining = {r["name"]: r.get("integerValue") for r in described["containerInstances"][0]["remainingResources"]}
    registered_cpu = next(r for r in registered["containerInstance"]["registeredResources"] if r["name"] == "CPU")
    assert remaining["CPU"] == registered_cpu["integerValue"]


# ----------------------------------------------------------------------
# CloudWatch Logs
# ----------------------------------------------------------------------
def test_container_lines_arrive_in_the_awslogs_stream_as_the_task_runs(emulator, aws, seeded):
    env = seeded()
    set_scale(emulator, 10)
    arn = run(aws, env)["tasks"][0]["taskArn"]
    wait_task(aws, env, arn, "RUNNING")
    logs = logs_client(emulator)
    group, stream = f"/ecs/{env['family']}", stream_of(env, arn)
    assert stream == f"ecs/{env['containerName']}/{arn.rsplit('/', 1)[-1]}"

    seen: list[str] = []
    batches = 0
    token = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        token = page["nextForwardToken"]
        if page["events"]:
            batches += 1
            seen += [e["message"] for e in page["events"]]
        if seen and seen[-1].endswith("exited 0"):
            break
        time.sleep(0.05)
    name = env["containerName"]
    assert seen[0] == f"{name}: starting" and seen[-1] == f"{name}: exited 0"
    assert len(seen) == 11 and batches > 1  # one line per AWS second, read while they came

    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps) and stamps[1] - stamps[0] == pytest.approx(100, abs=2)  # 1 AWS s at scale 10
    filtered = logs.filter_log_events(logGroupName=group, logStreamNames=[stream])["events"]
    assert [e["message"] for e in filtered] == seen


# ----------------------------------------------------------------------
# The container_exits fault
# ----------------------------------------------------------------------
def test_container_exits_fault_fails_tasks_of_new_revisions(emulator, aws, seeded):
    env = seeded()
    fault = add_fault(
        emulator,
        {
            "kind": "container_exits",
            "container": env["containerName"],
            "exitCode": 137,
            "reason": "OutOfMemoryError: Container killed due to memory usage",
            "log": ["Running migrations", "Applying 0042_big_table...", "Killed"],
            "count": 1,
        },
    )
    # A revision registered before the fault is not affected.
    old = run(aws, env)["tasks"][0]["taskArn"]
    revision = h.register_revision(aws.ecs, env)
    first, second = (t["taskArn"] for t in run(aws, env, taskDefinition=revision, count=2)["tasks"])
    status, body = h.control(emulator, "GET", "faults")
    assert status == 200 and all(f["id"] != fault["id"] for f in body["faults"])  # its one use is spent

    failed = wait_task(aws, env, first, "STOPPED")
    [container] = failed["containers"]
    assert container["exitCode"] == 137
    assert container["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert failed["stopCode"] == "EssentialContainerExited"
    assert failed["stoppedReason"] == "Essential container in task exited"
    assert log_lines(emulator, env, first) == ["Running migrations", "Applying 0042_big_table...", "Killed"]

    for arn in (second, old):
        task = wait_task(aws, env, arn, "STOPPED")
        assert task["containers"][0]["exitCode"] == 0 and "reason" not in task["containers"][0]


def test_container_exits_fault_without_container_hits_every_essential_one(emulator, aws, seeded):
    env = seeded()
    current = aws.ecs.describe_task_definition(taskDefinition=env["taskDefinitionArn"])["taskDefinition"]
    web = dict(current["containerDefinitions"][0], essential=True)
    sidecar = {"name": "sidecar", "image": "public.ecr.aws/nginx/nginx:latest", "essential": False}
    lines = [f"line {n}" for n in range(12)]  # longer than the default run: the run lasts 12 AWS s
    add_fault(emulator, {"kind": "container_exits", "exitCode": 1, "log": lines})
    revision = aws.ecs.register_task_definition(
        family=current["family"],
        containerDefinitions=[web, sidecar],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
    )["taskDefinition"]["taskDefinitionArn"]
    tasks = [t["taskArn"] for t in run(aws, env, taskDefinition=revision, count=2)["tasks"]]
    for arn in tasks:  # without count the fault stays
        task = wait_task(aws, env, arn, "STOPPED")
        codes = {c["name"]: c.get("exitCode") for c in task["containers"]}
        assert codes == {web["name"]: 1, "sidecar": 0}
        ran = epoch(task["executionStoppedAt"]) - epoch(task["startedAt"])
        assert ran == pytest.approx(12 / 600, abs=0.002)
        assert log_lines(emulator, env, arn) == lines
    status, body = h.control(emulator, "GET", "faults")
    assert [f["kind"] for f in body["faults"]] == ["container_exits"]


def test_container_exits_fault_fails_a_service_deployment_of_a_new_revision(emulator, aws, seeded):
    env = seeded(controller="ECS")
    fault = add_fault(
        emulator, {"kind": "container_exits", "exitCode": 137, "reason": "OutOfMemoryError: killed", "count": 1}
    )
    revision = h.register_revision(aws.ecs, env)
    answer = aws.ecs.update_service(cluster=env["cluster"], service=env["service"], taskDefinition=revision)
    failed_id = answer["service"]["deployments"][0]["id"]
    status, body = h.control(emulator, "GET", "faults")
    assert all(f["id"] != fault["id"] for f in body["faults"])  # one use per deployment

    def rolled_back(service: dict[str, Any]) -> bool:
        rows = service["deployments"]
        return len(rows) == 1 and rows[0]["id"] != failed_id and rows[0]["rolloutState"] == "COMPLETED"

    after = h.poll(lambda: h.service(aws, env), rolled_back)
    assert after["taskDefinition"] == env["taskDefinitionArn"]
    name, container = env["service"], env["containerName"]
    exited = re.compile(
        rf"\(service {name}\) \(task [0-9a-f]{{32}}\) stopped: Essential container in task exited "
        rf"\({container} exited with code 137: OutOfMemoryError: killed\)\."
    )
    messages = [event["message"] for event in after["events"]]
    assert sum(1 for m in messages if exited.fullmatch(m)) >= 3
    assert f"(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start." in messages


def test_container_exits_fault_is_validated(emulator):
    for bad in (
        {"kind": "container_exits"},
        {"kind": "container_exits", "exitCode": "137"},
        {"kind": "container_exits", "exitCode": 256},
        {"kind": "container_exits", "exitCode": 1, "log": "line"},
        {"kind": "container_exits", "exitCode": 1, "log": [1]},
        {"kind": "container_exits", "exitCode": 1, "container": ""},
        {"kind": "container_exits", "exitCode": 1, "count": 0},
        {"kind": "container_exits", "exitCode": 1, "reason": 5},
    ):
        status, body = h.control(emulator, "POST", "faults", bad)
        assert status == 400 and body["error"], bad
    fault = add_fault(emulator, {"kind": "container_exits", "exitCode": 0, "count": 2})
    assert fault == {"kind": "container_exits", "exitCode": 0, "count": 2, "id": fault["id"]}


# ----------------------------------------------------------------------
# RunTask's checks
# ----------------------------------------------------------------------
def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as error:
        call()
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


def test_run_task_checks_its_parameters_as_ecs_does(aws, seeded):
    env = seeded()
    invalid = "InvalidParameterException"
    assert _error(lambda: run(aws, env, count=11)) == (invalid, "Task count can not be greater than 10.")
    assert _error(lambda: run(aws, env, count=0))[0] == invalid
    assert _error(
        lambda: run(aws, env, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    ) == (
        invalid,
        "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
    )
    assert _error(
        lambda: aws.ecs.run_task(cluster=env["cluster"], taskDefinition=env["taskDefinitionArn"], launchType="FARGATE")
    ) == (invalid, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    assert _error(
        lambda: run(aws, env, networkConfiguration={"awsvpcConfiguration": {"subnets": []}})
    ) == (invalid, "subnets can not be empty.")
    assert _error(lambda: run(aws, env, taskDefinition="nothing:1"))[0] == "ClientException"
    # No task started: the cluster has its service's tasks only.
    service_tasks = aws.ecs.list_tasks(cluster=env["cluster"], serviceName=env["service"])["taskArns"]
    assert sorted(aws.ecs.list_tasks(cluster=env["cluster"])["taskArns"]) == sorted(service_tasks)


# ----------------------------------------------------------------------
# The wire format
# ----------------------------------------------------------------------
def test_task_answers_fit_botocore_shapes(emulator, aws, seeded):
    env = seeded()
    cluster = env["cluster"]
    add_fault(emulator, {"kind": "container_exits", "exitCode": 137, "reason": "OutOfMemoryError: killed"})
    revision = h.register_revision(aws.ecs, env)
    payload = {
        "cluster": cluster,
        "taskDefinition": revision,
        "launchType": "FARGATE",
        "networkConfiguration": network(aws, env),
        "startedBy": "greenlight",
        "tags": [{"key": "k", "value": "v"}],
    }
    status, body, headers = h.raw_json_call(emulator, "ecs", ECS + "RunTask", payload)
    assert status == 200 and headers["Content-Type"].startswith("application/x-amz-json-1.1")
    check_output("RunTask", body)
    arn = body["tasks"][0]["taskArn"]
    assert isinstance(body["tasks"][0]["createdAt"], (int, float))

    wait_task(aws, env, arn, "STOPPED")
    status, body, _ = h.raw_json_call(
        emulator, "ecs", ECS + "DescribeTasks", {"cluster": cluster, "tasks": [arn, "missing"], "include": ["TAGS"]}
    )
    assert status == 200
    check_output("DescribeTasks", body)
    task = body["tasks"][0]
    assert task["containers"][0]["exitCode"] == 137 and task["stopCode"] == "EssentialContainerExited"
    for field in ("createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "stoppedAt"):
        assert isinstance(task[field], (int, float)), field
    assert body["failures"][0]["reason"] == "MISSING"

    other = run(aws, env)["tasks"][0]["taskArn"]
    status, body, _ = h.raw_json_call(emulator, "ecs", ECS + "StopTask", {"cluster": cluster, "task": other})
    assert status == 200
    check_output("StopTask", body)
    status, body, _ = h.raw_json_call(
        emulator, "ecs", ECS + "ListTasks", {"cluster": cluster, "desiredStatus": "STOPPED"}
    )
    assert status == 200
    check_output("ListTasks", body)
    assert other in body["taskArns"]

    status, body, _ = h.raw_json_call(emulator, "ecs", ECS + "RunTask", dict(payload, count=11))
    assert status == 400 and body["__type"].endswith("InvalidParameterException") and body["message"]
