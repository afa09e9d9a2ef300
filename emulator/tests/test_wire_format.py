"""The raw awsJson 1.1 answers that aws-sdk-rust deserializes, and the seed
command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import emulator_helpers as h
from conftest import EMULATOR_DIR

CD = "CodeDeploy_20141006."


def test_raw_json_deployment_shapes(emulator, aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    deployment_id = h.create_deployment(aws, env)
    h.wait_target(aws, deployment_id, env, lambda t: h.green_weight(t) == 10.0)

    status, body, headers = h.raw_json_call(
        emulator,
        "codedeploy",
        CD + "BatchGetDeploymentTargets",
        {"deploymentId": deployment_id, "targetIds": [f"{env['cluster']}:{env['service']}"]},
    )
    assert status == 200 and headers["Content-Type"].startswith("application/x-amz-json-1.1")
    target = body["deploymentTargets"][0]
    assert target["deploymentTargetType"] == "ECSTarget"
    ecs_target = target["ecsTarget"]
    assert isinstance(ecs_target["lastUpdatedAt"], (int, float))
    allow = next(e for e in ecs_target["lifecycleEvents"] if e["lifecycleEventName"] == "AllowTraffic")
    assert allow["status"] == "InProgress" and isinstance(allow["startTime"], (int, float)) and "endTime" not in allow
    weights = {ts["taskSetLabel"]: ts["trafficWeight"] for ts in ecs_target["taskSetsInfo"]}
    assert weights == {"Blue": 90.0, "Green": 10.0}
    assert all("identifer" in ts and "identifier" not in ts for ts in ecs_target["taskSetsInfo"])

    status, body, _ = h.raw_json_call(emulator, "codedeploy", CD + "GetDeployment", {"deploymentId": deployment_id})
    assert status == 200
    info = body["deploymentInfo"]
    assert info["status"] == "InProgress"
    for field in ("createTime", "startTime"):
        assert isinstance(info[field], (int, float))
    assert "completeTime" not in info
    assert info["computePlatform"] == "ECS"
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}

    status, body, _ = h.raw_json_call(emulator, "codedeploy", CD + "GetDeployment", {"deploymentId": "d-NOTHERE00"})
    assert status == 400 and body["__type"] == "DeploymentDoesNotExistException" and body["message"]

    status, body, _ = h.raw_json_call(
        emulator,
        "codedeploy",
        CD + "StopDeployment",
        {"deploymentId": deployment_id, "autoRollbackEnabled": True},
    )
    assert status == 200 and body["status"] in ("Pending", "Succeeded")
    status, body, _ = h.raw_json_call(
        emulator,
        "codedeploy",
        CD + "ListDeployments",
        {
            "applicationName": env["application"],
            "deploymentGroupName": env["deploymentGroup"],
            "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Ready"],
        },
    )
    assert status == 200 and isinstance(body["deployments"], list)


def test_raw_json_deployment_config_and_group(emulator, seeded):
    env = seeded(deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=30, termination_wait_minutes=5)
    status, body, _ = h.raw_json_call(
        emulator,
        "codedeploy",
        CD + "GetDeploymentConfig",
        {"deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"},
    )
    assert status == 200
    config = body["deploymentConfigInfo"]
    assert isinstance(config["createTime"], (int, float))
    assert config["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3},
    }
    status, body, _ = h.raw_json_call(
        emulator,
        "codedeploy",
        CD + "GetDeploymentGroup",
        {"applicationName": env["application"], "deploymentGroupName": env["deploymentGroup"]},
    )
    assert status == 200
    group = body["deploymentGroupInfo"]
    assert group["computePlatform"] == "ECS"
    assert group["ecsServices"] == [{"serviceName": env["service"], "clusterName": env["cluster"]}]
    assert group["blueGreenDeploymentConfiguration"]["deploymentReadyOption"] == {
        "actionOnTimeout": "STOP_DEPLOYMENT",
        "waitTimeInMinutes": 30,
    }
    assert (
        group["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"][
            "terminationWaitTimeInMinutes"
        ]
        == 5
    )
    assert [tg["name"] for tg in group["loadBalancerInfo"]["targetGroupPairInfoList"][0]["targetGroups"]] == env[
        "targetGroups"
    ]

    status, body, _ = h.raw_json_call(
        emulator,
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeServices",
        {"cluster": env["cluster"], "services": [env["service"]]},
    )
    assert status == 200
    service = body["services"][0]
    assert service["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert service["taskDefinition"] == env["taskDefinitionArn"]
    assert service["taskSets"][0]["status"] == "PRIMARY"
    assert isinstance(service["createdAt"], (int, float))


def _run_seed(url: str, *args: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(EMULATOR_DIR)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key, None)
    result = subprocess.run(
        [sys.executable, "-m", "greenlight_emulator.seed", "--endpoint", url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_seed_command_line(emulator, aws):
    args = ("--cluster", "seedcli", "--service", "api", "--termination-wait-minutes", "5", "--auto-rollback", "false")
    first = _run_seed(emulator, *args)
    for key in (
        "cluster",
        "service",
        "serviceArn",
        "taskDefinitionArn",
        "family",
        "containerName",
        "containerPort",
        "repositoryUri",
        "imageTag",
        "imageDigest",
        "image",
        "application",
        "deploymentGroup",
    ):
        assert first[key] not in (None, ""), key
    assert first["cluster"] == "seedcli" and first["service"] == "api"
    assert first["family"] == "api" and first["containerName"] == "api" and first["containerPort"] == 80
    assert first["application"] == "AppECS-seedcli-api"
    assert first["deploymentGroup"] == "DgpECS-seedcli-api"
    assert first["image"] == f"{first['repositoryUri']}:{first['imageTag']}"
    assert first["imageDigest"].startswith("sha256:")
    assert first["repositoryUri"].endswith(".dkr.ecr.us-east-1.amazonaws.com/api")

    # Running it again reuses what exists.
    assert _run_seed(emulator, *args) == first

    images = aws.ecr.describe_images(repositoryName="api")["imageDetails"]
    tagged = [(i["imageDigest"], i["imageTags"]) for i in images if first["imageTag"] in i.get("imageTags", [])]
    assert tagged == [(first["imageDigest"], [first["imageTag"]])]
    # Besides the image, two older tags (material for "closest existing tags").
    assert sorted(t for i in images for t in i["imageTags"]) == sorted([first["imageTag"], *first["olderImageTags"]])
    td = aws.ecs.describe_task_definition(taskDefinition=first["taskDefinitionArn"])["taskDefinition"]
    assert td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["FARGATE"]
    assert (td["cpu"], td["memory"]) == ("256", "512")
    container = td["containerDefinitions"][0]
    assert container["name"] == "api" and container["image"] == first["image"]
    assert container["portMappings"][0]["containerPort"] == 80
    service = aws.ecs.describe_services(cluster="seedcli", services=["api"])["services"][0]
    assert service["desiredCount"] == 2 and service["deploymentController"]["type"] == "CODE_DEPLOY"
    group = aws.codedeploy.get_deployment_group(
        applicationName=first["application"], deploymentGroupName=first["deploymentGroup"]
    )["deploymentGroupInfo"]
    assert group["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["autoRollbackConfiguration"]["enabled"] is False
    assert group["serviceRoleArn"].endswith(":role/ecsCodeDeployRole")
    app = aws.codedeploy.get_application(applicationName=first["application"])["application"]
    assert app["computePlatform"] == "ECS"
