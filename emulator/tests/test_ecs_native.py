"""ECS-native blue/green, linear and canary deployments: lifecycle stages,
traffic shifts, lifecycle hooks (PAUSE and AWS_LAMBDA), rollbacks, and the
service deployment and revision calls."""

from __future__ import annotations

import itertools
import time

import ecs_helpers as e
import emulator_helpers as h
import pytest

HOOK_FAILURE = "smoke test failed: 3 of 10 requests answered 500"


def test_blue_green_walks_every_lifecycle_stage(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN", bake_time_minutes=1)
    assert env["controller"] == "ECS" and env["strategy"] == "BLUE_GREEN"
    new_td, answer = e.deploy(aws, env)
    assert answer["taskDefinition"] == new_td
    assert [(d["status"], d["rolloutState"]) for d in answer["deployments"]] == [
        ("PRIMARY", "IN_PROGRESS"),
        ("ACTIVE", "COMPLETED"),
    ]
    arn = e.latest_arn(aws, env)
    done = e.wait_deployment(aws, arn, e.finished)

    assert done["status"] == "SUCCESSFUL"
    assert e.whats(emulator, arn, "status") == ["PENDING", "IN_PROGRESS", "SUCCESSFUL"]
    assert e.whats(emulator, arn, "lifecycleStage") == e.STAGES
    assert e.whats(emulator, arn, "testTrafficWeight") == ["0", "100"]
    assert e.whats(emulator, arn, "trafficWeight") == ["0", "100"]
    target = done["targetServiceRevision"]
    assert (target["requestedProductionTrafficWeight"], target["requestedTestTrafficWeight"]) == (100.0, 100.0)
    assert target["runningTaskCount"] == 2
    (source,) = done["sourceServiceRevisions"]
    assert (source["requestedProductionTrafficWeight"], source["runningTaskCount"]) == (0.0, 0)
    for field in ("createdAt", "startedAt", "finishedAt", "updatedAt"):
        assert field in done
    assert done["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"

    service = e.wait_service(aws, env, e.settled)
    assert service["taskDefinition"] == new_td
    assert service["deployments"][0]["runningCount"] == 2
    assert service["currentServiceDeployment"] == arn


def test_blue_green_split_is_visible_while_it_runs(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN", bake_time_minutes=10)
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    baking = e.wait_deployment(aws, arn, lambda d: d.get("lifecycleStage") == "BAKE_TIME")
    assert baking["status"] == "IN_PROGRESS"
    assert baking["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert baking["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 0.0
    # Both revisions run while baking, as PRIMARY (target) and ACTIVE (source).
    service = h.service(aws, env)
    assert [(d["status"], d["runningCount"]) for d in service["deployments"]] == [("PRIMARY", 2), ("ACTIVE", 2)]
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("options", "weights"),
    [
        ({"strategy": "CANARY", "canary_percent": 20.0, "canary_bake_minutes": 3}, ["0", "20", "100"]),
        (
            {"strategy": "LINEAR", "linear_step_percent": 25.0, "linear_step_bake_minutes": 3},
            ["0", "25", "50", "75", "100"],
        ),
    ],
)
def test_canary_and_linear_shift_production_traffic_in_steps(emulator, aws, seeded, options, weights):
    env = e.seed_ecs(seeded, **options)
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    split = e.wait_deployment(
        aws, arn, lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight") == float(weights[1])
    )
    assert split["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    assert split["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"] == 100.0 - float(weights[1])
    assert e.wait_deployment(aws, arn, e.finished)["status"] == "SUCCESSFUL"
    assert e.whats(emulator, arn, "trafficWeight") == weights
    steps = [t["at"] for t in e.transitions(emulator, arn) if t["what"].startswith("trafficWeight=")][1:]
    # Three minutes between steps, at 600 AWS seconds per real second.
    assert all(abs((b - a) - 180 / 600) < 0.01 for a, b in itertools.pairwise(steps))


def test_pause_hook_waits_for_continue_service_deployment(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN", pause_hook=["POST_TEST_TRAFFIC_SHIFT"])
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    paused = e.wait_deployment(
        aws, arn, lambda d: any(x["status"] == "AWAITING_ACTION" for x in d.get("lifecycleHookDetails", []))
    )
    assert paused["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    (hook,) = paused["lifecycleHookDetails"]
    assert hook["hookId"].startswith("ecs-pause-") and hook["targetType"] == "PAUSE"
    assert hook["timeoutAction"] == "ROLLBACK" and "expiresAt" in hook
    assert paused["targetServiceRevision"]["requestedTestTrafficWeight"] == 100.0
    assert paused["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0

    time.sleep(0.2)  # two AWS minutes: still waiting
    assert e.describe(aws, arn)["lifecycleHookDetails"][0]["status"] == "AWAITING_ACTION"
    with pytest.raises(aws.ecs.exceptions.InvalidParameterException):
        aws.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="ecs-pause-nope")
    answer = aws.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    assert answer["serviceDeploymentArn"] == arn
    with pytest.raises(aws.ecs.exceptions.InvalidParameterException):
        aws.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    assert e.wait_deployment(aws, arn, e.finished)["status"] == "SUCCESSFUL"
    assert e.whats(emulator, arn, f"hook {hook['hookId']}") == ["AWAITING_ACTION", "SUCCEEDED"]


def test_pause_hook_rollback_action_and_timeout(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN", pause_hook=["POST_SCALE_UP"])
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    paused = e.wait_deployment(aws, arn, lambda d: bool(d.get("lifecycleHookDetails")))
    hook_id = paused["lifecycleHookDetails"][0]["hookId"]
    aws.ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action="ROLLBACK")
    rolled_back = e.wait_deployment(aws, arn, e.finished)
    assert rolled_back["status"] == "ROLLBACK_SUCCESSFUL"
    assert hook_id in rolled_back["statusReason"]
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]

    # A timeout applies the hook's timeout action: CONTINUE here.
    hooks = [
        {
            "targetType": "PAUSE",
            "lifecycleStages": ["POST_SCALE_UP"],
            "timeoutConfiguration": {"timeoutInMinutes": 1, "action": "CONTINUE"},
        }
    ]
    new_td = h.register_revision(aws.ecs, env, tag="timeout")
    e.update(aws, env, taskDefinition=new_td, deploymentConfiguration={"lifecycleHooks": hooks})
    arn = e.latest_arn(aws, env)
    assert e.wait_deployment(aws, arn, e.finished)["status"] == "SUCCESSFUL"
    hook_whats = [t["what"] for t in e.transitions(emulator, arn) if t["what"].startswith("hook ")]
    assert [w.split("=")[1] for w in hook_whats] == ["AWAITING_ACTION", "TIMED_OUT"]


def test_lambda_hook_failure_rolls_back_with_its_message(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="CANARY", lambda_hook=["POST_TEST_TRAFFIC_SHIFT"])
    e.add_fault(
        emulator,
        {
            "kind": "fail_lifecycle_stage",
            "stage": "POST_TEST_TRAFFIC_SHIFT",
            "message": HOOK_FAILURE,
            "service": env["service"],
            "count": 1,
        },
    )
    new_td, _ = e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    done = e.wait_deployment(aws, arn, e.finished)

    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert HOOK_FAILURE in done["statusReason"]
    assert e.whats(emulator, arn, "status") == [
        "PENDING",
        "IN_PROGRESS",
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
    ]
    (source,) = done["sourceServiceRevisions"]
    assert done["rollback"]["serviceRevisionArn"] == source["arn"]
    assert done["rollback"]["reason"] == done["statusReason"] and "startedAt" in done["rollback"]
    assert source["requestedProductionTrafficWeight"] == 100.0 and source["runningTaskCount"] == 2
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    (hook,) = done["lifecycleHookDetails"]
    assert hook["status"] == "FAILED" and hook["targetType"] == "AWS_LAMBDA"
    assert hook["targetArn"].startswith(f"arn:aws:lambda:{h.REGION}:")
    assert e.whats(emulator, arn, "trafficWeight") == ["0"]  # production never moved

    service = e.wait_service(aws, env, e.settled)
    assert service["taskDefinition"] == env["taskDefinitionArn"] != new_td
    assert service["deployments"][0]["taskDefinition"] == env["taskDefinitionArn"]

    # The fault was for one deployment: the next one succeeds.
    e.deploy(aws, env, tag="fixed")
    assert e.wait_deployment(aws, e.latest_arn(aws, env), e.finished)["status"] == "SUCCESSFUL"


def test_stop_service_deployment(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="LINEAR", linear_step_percent=10.0, linear_step_bake_minutes=5)
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    e.wait_deployment(aws, arn, lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight", 0) >= 10)
    assert aws.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")["serviceDeploymentArn"] == arn
    done = e.wait_deployment(aws, arn, e.finished)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["statusReason"] == "Service deployment rolled back because of a stop request"
    assert done["targetServiceRevision"]["requestedProductionTrafficWeight"] == 0.0
    assert e.wait_service(aws, env, e.settled)["taskDefinition"] == env["taskDefinitionArn"]
    with pytest.raises(aws.ecs.exceptions.ConflictException):
        aws.ecs.stop_service_deployment(serviceDeploymentArn=arn)

    e.deploy(aws, env, tag="abort")
    arn = e.latest_arn(aws, env)
    e.wait_deployment(aws, arn, lambda d: d["status"] == "IN_PROGRESS")
    aws.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ABORT")
    stopped = e.wait_deployment(aws, arn, e.finished)
    assert stopped["status"] == "STOPPED" and "stoppedAt" in stopped
    assert e.whats(emulator, arn, "status")[-2:] == ["STOP_REQUESTED", "STOPPED"]

    missing = arn.rsplit("/", 1)[0] + "/NoSuchDeployment00000"
    with pytest.raises(aws.ecs.exceptions.ServiceDeploymentNotFoundException):
        aws.ecs.stop_service_deployment(serviceDeploymentArn=missing)
    with pytest.raises(aws.ecs.exceptions.ServiceDeploymentNotFoundException):
        aws.ecs.continue_service_deployment(serviceDeploymentArn=missing, hookId="x")


def test_list_and_describe_service_deployments_raw_json(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN")
    e.deploy(aws, env)
    e.wait_deployment(aws, e.latest_arn(aws, env), e.finished)
    e.deploy(aws, env, tag="second")
    cluster, service = env["cluster"], env["service"]

    status, body, headers = h.raw_json_call(
        emulator, "ecs", e.ECS + "ListServiceDeployments", {"cluster": cluster, "service": service}
    )
    assert status == 200 and headers["Content-Type"].startswith("application/x-amz-json-1.1")
    briefs = body["serviceDeployments"]
    assert len(briefs) == 3 and "nextToken" not in body
    created = [b["createdAt"] for b in briefs]
    assert created == sorted(created, reverse=True) and all(isinstance(c, (int, float)) for c in created)
    prefix = f"arn:aws:ecs:{h.REGION}:{env['accountId']}:service-deployment/{cluster}/{service}/"
    assert all(b["serviceDeploymentArn"].startswith(prefix) for b in briefs)
    assert all(b["serviceArn"] == env["serviceArn"] and b["clusterArn"].endswith(f":cluster/{cluster}") for b in briefs)
    assert briefs[1]["status"] == "SUCCESSFUL" and isinstance(briefs[1]["finishedAt"], (int, float))
    revision_prefix = f"arn:aws:ecs:{h.REGION}:{env['accountId']}:service-revision/{cluster}/{service}/"
    assert all(b["targetServiceRevisionArn"].startswith(revision_prefix) for b in briefs)

    page = aws.ecs.list_service_deployments(cluster=cluster, service=service, maxResults=2)
    assert len(page["serviceDeployments"]) == 2 and page["nextToken"]
    rest = aws.ecs.list_service_deployments(cluster=cluster, service=service, maxResults=2, nextToken=page["nextToken"])
    assert [b["serviceDeploymentArn"] for b in page["serviceDeployments"] + rest["serviceDeployments"]] == [
        b["serviceDeploymentArn"] for b in briefs
    ]
    assert "nextToken" not in rest
    successful = e.service_deployments(aws, env, status=["SUCCESSFUL"])
    assert all(b["status"] == "SUCCESSFUL" for b in successful)
    # The two that had ended are among them; the newest joins them once it ends too, which a
    # loaded machine may let happen by now on the emulator's fast clock.
    ended = {b["serviceDeploymentArn"] for b in briefs if b["status"] == "SUCCESSFUL"}
    assert len(ended) >= 2 and ended <= {b["serviceDeploymentArn"] for b in successful}
    assert e.service_deployments(aws, env, createdAt={"after": created[0] + 1}) == []

    missing = prefix + "NoSuchDeployment00000"
    status, body, _ = h.raw_json_call(
        emulator,
        "ecs",
        e.ECS + "DescribeServiceDeployments",
        {"serviceDeploymentArns": [briefs[1]["serviceDeploymentArn"], missing]},
    )
    assert status == 200
    assert body["failures"] == [{"arn": missing, "reason": "MISSING"}]
    (described,) = body["serviceDeployments"]
    for field in ("createdAt", "startedAt", "finishedAt", "updatedAt"):
        assert isinstance(described[field], (int, float))
    assert described["deploymentCircuitBreaker"] == {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3}
    assert isinstance(described["targetServiceRevision"]["requestedProductionTrafficWeight"], float)
    assert described["lifecycleStage"] == "CLEAN_UP"

    with pytest.raises(aws.ecs.exceptions.ServiceNotFoundException):
        aws.ecs.list_service_deployments(cluster=cluster, service="no-such-service")
    with pytest.raises(aws.ecs.exceptions.ClusterNotFoundException):
        aws.ecs.list_service_deployments(cluster="no-such-cluster", service=service)


def test_describe_service_revisions(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN")
    new_td, _ = e.deploy(aws, env)
    done = e.wait_deployment(aws, e.latest_arn(aws, env), e.finished)
    target_arn = done["targetServiceRevision"]["arn"]
    source_arn = done["sourceServiceRevisions"][0]["arn"]
    missing = target_arn.rsplit("/", 1)[0] + "/1234567890123456789"
    status, body, _ = h.raw_json_call(
        emulator, "ecs", e.ECS + "DescribeServiceRevisions", {"serviceRevisionArns": [target_arn, source_arn, missing]}
    )
    assert status == 200
    assert body["failures"] == [{"arn": missing, "reason": "MISSING"}]
    target, source = body["serviceRevisions"]
    assert (target["serviceRevisionArn"], target["taskDefinition"]) == (target_arn, new_td)
    assert (source["serviceRevisionArn"], source["taskDefinition"]) == (source_arn, env["taskDefinitionArn"])
    assert target["serviceArn"] == env["serviceArn"] and target["clusterArn"].endswith(f":cluster/{env['cluster']}")
    assert target["launchType"] == "FARGATE" and isinstance(target["createdAt"], (int, float))
    assert target["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"]
    image = f"{env['repositoryUri']}:20261124090000-def5678"
    assert target["containerImages"] == [{"containerName": env["containerName"], "image": image}]
    # The ecs-svc deployment id is the revision's number.
    service = e.wait_service(aws, env, e.settled)
    assert service["deployments"][0]["id"] == "ecs-svc/" + target_arn.rsplit("/", 1)[1]
