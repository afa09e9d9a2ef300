"""The /_greenlight control endpoints: call log, request faults, config."""

from __future__ import annotations

import json
import subprocess
import sys

import emulator_helpers as h
import pytest
from botocore.exceptions import ClientError
from conftest import EMULATOR_DIR, start_emulator, stop_emulator


def test_health(emulator):
    status, body = h.control(emulator, "GET", "health")
    assert status == 200 and body["status"] == "ok"


def test_call_log_records_aws_calls_and_can_be_cleared(emulator, aws, seeded):
    env = seeded()
    assert h.control(emulator, "DELETE", "calls") == (200, {"calls": []})

    aws.ecs.describe_services(cluster=env["cluster"], services=[env["service"]])
    h.register_revision(aws.ecs, env)
    aws.codedeploy.get_deployment_group(applicationName=env["application"], deploymentGroupName=env["deploymentGroup"])
    h.codedeploy_client(emulator, "cbor").get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    aws.ecr.describe_images(repositoryName=env["repositoryName"])
    aws.sts.get_caller_identity()
    aws.elbv2.describe_target_groups(Names=env["targetGroups"])
    h.control(emulator, "GET", "faults")  # control requests are not logged

    status, body = h.control(emulator, "GET", "calls")
    assert status == 200
    calls = [(c["service"], c["action"]) for c in body["calls"]]
    assert calls == [
        ("ecs", "DescribeServices"),
        ("ecs", "DescribeTaskDefinition"),
        ("ecs", "RegisterTaskDefinition"),
        ("codedeploy", "GetDeploymentGroup"),
        ("codedeploy", "GetDeploymentConfig"),
        ("ecr", "DescribeImages"),
        ("sts", "GetCallerIdentity"),
        ("elbv2", "DescribeTargetGroups"),
    ]
    assert all(isinstance(c["ts"], float) and c["status"] == 200 for c in body["calls"])
    assert [c["ts"] for c in body["calls"]] == sorted(c["ts"] for c in body["calls"])

    only_ecs = h.control(emulator, "GET", "calls?service=ecs")[1]["calls"]
    assert {c["service"] for c in only_ecs} == {"ecs"} and len(only_ecs) == 3

    assert h.control(emulator, "DELETE", "calls") == (200, {"calls": []})
    assert h.control(emulator, "GET", "calls") == (200, {"calls": []})


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_throttle_fault(emulator, aws, seeded, protocol):
    env = seeded()
    deployment_id = h.create_deployment(aws, env)
    h.control(emulator, "DELETE", "calls")
    status, body = h.control(emulator, "POST", "faults", {"kind": "throttle", "action": "GetDeployment", "count": 2})
    assert status == 200 and body["fault"]["count"] == 2

    client = h.codedeploy_client(emulator, protocol, retries=1)
    for _ in range(2):
        with pytest.raises(ClientError) as error:
            client.get_deployment(deploymentId=deployment_id)
        assert error.value.response["Error"]["Code"] == "ThrottlingException"
        assert error.value.response["Error"]["Message"] == "Rate exceeded"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["deploymentId"] == deployment_id
    assert h.control(emulator, "GET", "faults")[1]["faults"] == []
    calls = h.control(emulator, "GET", "calls")[1]["calls"]
    assert [(c["action"], c["status"]) for c in calls] == [
        ("GetDeployment", 400),
        ("GetDeployment", 400),
        ("GetDeployment", 200),
    ]


def test_throttle_fault_raw_json_body(emulator):
    h.control(emulator, "POST", "faults", {"kind": "throttle", "action": "DescribeServices", "service": "ecs"})
    status, body, headers = h.raw_json_call(
        emulator, "ecs", "AmazonEC2ContainerServiceV20141113.DescribeServices", {"services": ["x"]}
    )
    assert status == 400
    assert body == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    assert headers["Content-Type"] == "application/x-amz-json-1.1"


def test_throttle_is_retried_by_default_sdk_retries(emulator, aws):
    h.control(emulator, "POST", "faults", {"kind": "throttle", "action": "GetDeploymentConfig", "count": 1})
    info = aws.codedeploy.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    assert info["deploymentConfigInfo"]["computePlatform"] == "ECS"


def test_http_error_fault(emulator, aws):
    h.control(
        emulator, "POST", "faults", {"kind": "http_error", "action": "ListApplications", "status": 502, "count": 1}
    )
    client = h.codedeploy_client(emulator, "json", retries=1)
    with pytest.raises(ClientError) as error:
        client.list_applications()
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert isinstance(client.list_applications()["applications"], list)


def test_query_protocol_throttle_is_an_xml_error(emulator, aws):
    import boto3
    from botocore.config import Config

    h.control(emulator, "POST", "faults", {"kind": "throttle", "action": "GetCallerIdentity"})
    sts = boto3.client(
        "sts", endpoint_url=emulator, region_name=h.REGION, config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "Throttling"


def test_fault_endpoint_validates_and_removes(emulator):
    for bad in (
        {"kind": "nope"},
        {"kind": "throttle"},
        {"kind": "http_error", "action": "GetDeployment", "status": 200},
        {"kind": "fail_lifecycle_event", "event": "Deploy"},
        {"kind": "throttle", "action": "GetDeployment", "count": 0},
        ["not", "objects"],
    ):
        status, body = h.control(emulator, "POST", "faults", bad)
        assert status == 400 and body["error"], bad
    status, body = h.control(
        emulator,
        "POST",
        "faults",
        [{"kind": "never_ready"}, {"kind": "http_error", "action": "GetDeployment", "status": 503, "count": 3}],
    )
    assert status == 200 and len(body["faults"]) == 2
    first = body["faults"][0]["id"]
    assert h.control(emulator, "DELETE", f"faults/{first}")[0] == 200
    remaining = h.control(emulator, "GET", "faults")[1]["faults"]
    assert [f["kind"] for f in remaining] == ["http_error"]
    assert h.control(emulator, "DELETE", f"faults/{first}")[0] == 404
    assert h.control(emulator, "DELETE", "faults") == (200, {"faults": []})


def test_config_endpoint(emulator):
    assert h.control(emulator, "GET", "config") == (200, {"time_scale": 600.0})
    assert h.control(emulator, "POST", "config", {"time_scale": 0})[0] == 400
    assert h.control(emulator, "POST", "config", {"time_scale": "fast"})[0] == 400
    assert h.control(emulator, "POST", "config", {"time_scale": 120}) == (200, {"time_scale": 120.0})
    assert h.control(emulator, "GET", "unknown")[0] == 404


def test_server_cli_help_and_clean_shutdown():
    env = {"PYTHONPATH": str(EMULATOR_DIR), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "greenlight_emulator", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0 and "--port" in result.stdout and "4566" in result.stdout
    proc, url = start_emulator(scale=60)
    status, body = h.control(url, "GET", "health")
    assert status == 200 and body["time_scale"] == 60.0
    assert stop_emulator(proc) == 0


def test_reset_endpoint_clears_everything(aws, emulator):
    proc, url = start_emulator()
    try:
        env = h.seed(url, cluster="reset", service="web")
        h.control(url, "POST", "faults", {"kind": "never_ready"})
        assert h.control(url, "POST", "reset") == (200, {"status": "reset"})
        assert h.control(url, "GET", "faults")[1]["faults"] == []
        assert h.control(url, "GET", "calls")[1]["calls"] == []
        fresh = h.Clients(url)
        assert env["application"] not in fresh.codedeploy.list_applications()["applications"]
        assert json.dumps(h.control(url, "GET", "deployments")[1]) == '{"deployments": []}'
    finally:
        assert stop_emulator(proc) == 0


def test_hang_fault_holds_requests_until_removed(emulator):
    import threading

    from botocore.config import Config
    from botocore.exceptions import ReadTimeoutError

    status, body = h.control(emulator, "POST", "faults", {"kind": "hang", "action": "*", "service": "codedeploy"})
    assert status == 200 and body["fault"]["count"] is None and body["fault"]["seconds"] == 3600.0
    fault_id = body["fault"]["id"]

    # A client with a short read timeout sees the accepted-then-silent endpoint.
    impatient = h.codedeploy_client(emulator, "json", retries=1, config=Config(read_timeout=1, connect_timeout=1))
    with pytest.raises(ReadTimeoutError):
        impatient.list_applications()

    # A request held now is answered normally once the fault is removed; other services and
    # the control endpoint keep answering meanwhile.
    answered: list[object] = []
    patient = h.codedeploy_client(emulator, "json", retries=1)
    held = threading.Thread(target=lambda: answered.append(patient.list_applications()))
    held.start()
    held.join(timeout=0.5)
    assert held.is_alive() and answered == []
    assert h.control(emulator, "GET", "health")[0] == 200
    assert h.control(emulator, "DELETE", f"faults/{fault_id}")[0] == 200
    held.join(timeout=10)
    assert not held.is_alive()
    assert isinstance(answered[0]["applications"], list)


def test_hang_fault_ends_after_its_seconds(emulator, aws):
    h.control(emulator, "POST", "faults", {"kind": "hang", "action": "ListApplications", "seconds": 0.3})
    assert isinstance(aws.codedeploy.list_applications()["applications"], list)
    status, body = h.control(emulator, "POST", "faults", {"kind": "hang", "action": "X", "seconds": 0})
    assert status == 400
