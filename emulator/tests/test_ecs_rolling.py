"""Rolling updates of services with the ECS deployment controller: deployments in
service.deployments, service events, the deployment circuit breaker, placement
failures, rollbacks by the client and UpdateService's errors."""

from __future__ import annotations

import itertools
import re
import time
import uuid

import ecs_helpers as e
import emulator_helpers as h
import pytest


def test_rolling_update_starts_new_tasks_drains_the_old_ones_and_completes(aws, seeded):
    env = e.seed_ecs(seeded)
    before = h.service(aws, env)
    assert before["deploymentController"] == {"type": "ECS"}
    assert before["deploymentConfiguration"] == {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "strategy": "ROLLING",
    }
    assert e.settled(before) and before["runningCount"] == 2 and not before.get("taskSets")
    old_id = before["deployments"][0]["id"]

    new_td, answer = e.deploy(aws, env)

    # UpdateService answers with the new deployment already in the list, and the new task definition.
    assert answer["taskDefinition"] == new_td
    primary, active = answer["deployments"]
    assert e.ROLLOUT_ID.match(primary["id"]) and primary["id"] != old_id
    assert (primary["status"], primary["taskDefinition"], primary["rolloutState"]) == ("PRIMARY", new_td, "IN_PROGRESS")
    assert primary["rolloutStateReason"] == f"ECS deployment {primary['id']} in progress."
    assert (primary["desiredCount"], primary["runningCount"], primary["failedTasks"]) == (2, 0, 0)
    assert (active["id"], active["status"], active["runningCount"]) == (old_id, "ACTIVE", 2)
    assert active["taskDefinition"] == env["taskDefinitionArn"]

    after = e.wait_service(aws, env, e.settled)
    (done,) = after["deployments"]
    assert (done["id"], done["status"], done["rolloutState"]) == (primary["id"], "PRIMARY", "COMPLETED")
    assert done["rolloutStateReason"] == f"ECS deployment {primary['id']} completed."
    assert (done["runningCount"], done["pendingCount"], after["runningCount"], after["pendingCount"]) == (2, 0, 2, 0)
    assert after["taskDefinition"] == new_td

    log = e.messages(after)
    name = env["service"]
    started = [m for m in log if m.startswith(f"(service {name}) has started 2 tasks: (task ")]
    assert len(started) == 2  # at creation, and for the new deployment
    task = r"\(task [0-9a-f]{32}\)"
    assert re.fullmatch(rf"\(service {name}\) has started 2 tasks: {task} {task}\.", started[1])
    stopped = next(m for m in log if "has stopped 2 running tasks" in m)
    assert log.index(stopped) > log.index(started[1])
    assert log[-2:] == [
        f"(service {name}) (deployment {primary['id']}) deployment completed.",
        f"(service {name}) has reached a steady state.",
    ]
    for event in after["events"]:
        uuid.UUID(event["id"])
    created = [event["createdAt"] for event in after["events"]]
    assert created == sorted(created, reverse=True)


def test_rolling_update_progress_is_visible_step_by_step(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    h.control(emulator, "POST", "config", {"time_scale": 60})
    _td, answer = e.deploy(aws, env)
    new_id = answer["deployments"][0]["id"]
    seen = []
    while True:
        service = h.service(aws, env)
        state = [
            (d["id"] == new_id, d["runningCount"], d["pendingCount"], d["rolloutState"]) for d in service["deployments"]
        ]
        if not seen or seen[-1] != state:
            seen.append(state)
        if e.settled(service):
            break
        time.sleep(0.01)
    assert [(True, 0, 2, "IN_PROGRESS"), (False, 2, 0, "COMPLETED")] in seen
    assert [(True, 1, 1, "IN_PROGRESS"), (False, 2, 0, "COMPLETED")] in seen
    assert [(True, 2, 0, "IN_PROGRESS"), (False, 0, 0, "COMPLETED")] in seen
    assert seen[-1] == [(True, 2, 0, "COMPLETED")]


def test_circuit_breaker_fails_the_rollout_and_rolls_back(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    e.add_fault(
        emulator,
        {
            "kind": "circuit_breaker",
            "cluster": env["cluster"],
            "service": env["service"],
            "message": "CannotPullContainerError: boom",
            "count": 1,
        },
    )
    _td, answer = e.deploy(aws, env)
    failed_id = answer["deployments"][0]["id"]

    after = e.wait_service(aws, env, lambda s: e.settled(s) and s["deployments"][0]["id"] != failed_id)
    (rollback,) = after["deployments"]
    assert rollback["taskDefinition"] == env["taskDefinitionArn"] == after["taskDefinition"]
    assert e.ROLLOUT_ID.match(rollback["id"])

    name = env["service"]
    log = e.messages(after)
    failure = rf"\(service {name}\) \(task [0-9a-f]{{32}}\) failed to start: CannotPullContainerError: boom"
    failures = [m for m in log if re.fullmatch(failure, m)]
    assert len(failures) >= 3
    assert f"(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start." in log
    assert f"(service {name}) rolling back to deployment {rollback['id']}." in log
    assert log[-1] == f"(service {name}) has reached a steady state."

    assert e.whats(emulator, failed_id, "rolloutState") == ["IN_PROGRESS", "FAILED"]
    assert e.whats(emulator, failed_id, "status") == ["PRIMARY", "ACTIVE", "INACTIVE"]

    latest = e.describe(aws, e.latest_arn(aws, env))
    assert latest["status"] == "ROLLBACK_SUCCESSFUL"
    assert latest["statusReason"] == "ECS deployment circuit breaker: tasks failed to start."
    source_arn = latest["sourceServiceRevisions"][0]["arn"]
    assert latest["rollback"]["serviceRevisionArn"] == source_arn
    assert latest["rollback"]["reason"] == latest["statusReason"]
    breaker = latest["deploymentCircuitBreaker"]
    assert breaker["status"] == "TRIGGERED" and breaker["threshold"] == 3 and breaker["failureCount"] >= 3
    assert e.whats(emulator, latest["serviceDeploymentArn"], "status") == [
        "PENDING",
        "IN_PROGRESS",
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_SUCCESSFUL",
    ]


def test_circuit_breaker_without_rollback_leaves_the_failed_rollout(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    e.add_fault(emulator, {"kind": "circuit_breaker", "service": env["service"], "count": 1})
    new_td = h.register_revision(aws.ecs, env)
    e.update(
        aws,
        env,
        taskDefinition=new_td,
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False}},
    )
    service = e.wait_service(aws, env, lambda s: s["deployments"][0]["rolloutState"] == "FAILED")
    primary = service["deployments"][0]
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert primary["failedTasks"] >= 3 and primary["runningCount"] == 0
    assert service["taskDefinition"] == new_td
    # The old deployment keeps serving.
    assert service["deployments"][1]["runningCount"] == 2
    # UpdateService merged the configuration: the other members stay.
    assert service["deploymentConfiguration"]["maximumPercent"] == 200
    assert service["deploymentConfiguration"]["strategy"] == "ROLLING"
    latest = e.describe(aws, e.latest_arn(aws, env))
    assert latest["status"] == "STOPPED" and "stoppedAt" in latest and "rollback" not in latest


def test_without_circuit_breaker_tasks_keep_failing(emulator, aws, seeded):
    env = e.seed_ecs(seeded, circuit_breaker=False)
    e.add_fault(emulator, {"kind": "circuit_breaker", "service": env["service"], "count": 1})
    e.deploy(aws, env)
    service = e.wait_service(aws, env, lambda s: s["deployments"][0]["failedTasks"] >= 8)
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert e.describe(aws, e.latest_arn(aws, env))["status"] == "IN_PROGRESS"


def test_placement_failure_repeats_its_event_until_the_client_rolls_back(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    e.add_fault(emulator, {"kind": "placement_failure", "service": env["service"], "count": 1})
    _td, answer = e.deploy(aws, env)
    stuck_arn = e.latest_arn(aws, env)
    message = (
        f"(service {env['service']}) was unable to place a task because no container instance met all of its "
        "requirements. Reason: No Container Instances were found in your cluster. For more information, see the "
        "Troubleshooting section of the Amazon ECS Developer Guide."
    )
    service = e.wait_service(aws, env, lambda s: e.messages(s).count(message) >= 3)
    primary = service["deployments"][0]
    assert primary["id"] == answer["deployments"][0]["id"]
    assert (primary["rolloutState"], primary["runningCount"]) == ("IN_PROGRESS", 0)
    times = [ev["createdAt"] for ev in service["events"] if ev["message"] == message]
    assert all(a > b for a, b in itertools.pairwise(times))

    # The client rolls back: just another UpdateService, while the stuck one is in progress.
    back = e.update(aws, env, taskDefinition=env["taskDefinitionArn"])
    assert [d["status"] for d in back["deployments"]] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    settled = e.wait_service(aws, env, e.settled)
    assert settled["taskDefinition"] == env["taskDefinitionArn"]
    assert settled["deployments"][0]["taskDefinition"] == env["taskDefinitionArn"]
    stuck = e.describe(aws, stuck_arn)
    assert stuck["status"] == "STOPPED" and stuck["statusReason"]
    assert e.service_deployments(aws, env)[0]["status"] == "SUCCESSFUL"


def test_client_rollback_during_a_rollout(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    h.control(emulator, "POST", "config", {"time_scale": 60})
    _td, answer = e.deploy(aws, env)
    e.wait_service(aws, env, lambda s: s["deployments"][0]["runningCount"] == 1)
    back = e.update(aws, env, taskDefinition=env["taskDefinitionArn"])
    assert back["taskDefinition"] == env["taskDefinitionArn"]
    assert back["deployments"][1]["id"] == answer["deployments"][0]["id"]
    assert back["deployments"][1]["status"] == "ACTIVE"
    h.control(emulator, "POST", "config", {"time_scale": 600})
    settled = e.wait_service(aws, env, e.settled)
    assert settled["deployments"][0]["taskDefinition"] == env["taskDefinitionArn"]
    assert [d["status"] for d in e.service_deployments(aws, env)] == ["SUCCESSFUL", "STOPPED", "SUCCESSFUL"]


def test_stop_service_deployment_rolls_back_a_rolling_update(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    e.add_fault(emulator, {"kind": "placement_failure", "service": env["service"], "count": 1})
    e.deploy(aws, env)
    arn = e.latest_arn(aws, env)
    assert aws.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")["serviceDeploymentArn"] == arn
    done = e.wait_deployment(aws, arn, e.finished)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["statusReason"] == "Service deployment rolled back because of a stop request"
    rollback = ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]
    assert e.whats(emulator, arn, "status")[-3:] == rollback
    assert e.wait_service(aws, env, e.settled)["taskDefinition"] == env["taskDefinitionArn"]
    with pytest.raises(aws.ecs.exceptions.ConflictException):
        aws.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")


def test_desired_count_and_other_settings_on_update(aws, seeded):
    env = e.seed_ecs(seeded)
    service = e.update(aws, env, desiredCount=3, propagateTags="SERVICE", enableECSManagedTags=True)
    assert (service["desiredCount"], service["runningCount"]) == (3, 3)
    assert service["deployments"][0]["desiredCount"] == 3
    assert service["propagateTags"] == "SERVICE" and service["enableECSManagedTags"] is True
    assert len(service["deployments"]) == 1  # no new deployment for a new desired count
    forced = e.update(aws, env, forceNewDeployment=True)
    assert len(forced["deployments"]) == 2
    assert forced["deployments"][0]["taskDefinition"] == forced["deployments"][1]["taskDefinition"]
    assert e.wait_service(aws, env, e.settled)["runningCount"] == 3


def test_update_service_errors(aws, seeded):
    env = e.seed_ecs(seeded)
    ecs = aws.ecs
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.update_service(cluster="no-such-cluster", service=env["service"], desiredCount=1)
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.update_service(cluster=env["cluster"], service="no-such-service", desiredCount=1)
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        e.update(aws, env, deploymentConfiguration={"strategy": "SIDEWAYS"})
    with pytest.raises(ecs.exceptions.ClientException):
        e.update(aws, env, taskDefinition="no-such-family:7")
    ecs.delete_service(cluster=env["cluster"], service=env["service"], force=True)
    with pytest.raises(ecs.exceptions.ServiceNotActiveException):
        e.update(aws, env, desiredCount=1)


def test_raw_json_service_shapes(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    e.deploy(aws, env)
    status, body, headers = h.raw_json_call(
        emulator, "ecs", e.ECS + "DescribeServices", {"cluster": env["cluster"], "services": [env["service"]]}
    )
    assert status == 200 and headers["Content-Type"].startswith("application/x-amz-json-1.1")
    service = body["services"][0]
    for deployment in service["deployments"]:
        assert isinstance(deployment["createdAt"], (int, float)) and isinstance(deployment["updatedAt"], (int, float))
        assert isinstance(deployment["runningCount"], int) and isinstance(deployment["failedTasks"], int)
    for event in service["events"]:
        assert set(event) == {"id", "createdAt", "message"} and isinstance(event["createdAt"], (int, float))
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["currentServiceDeployment"].startswith(
        f"arn:aws:ecs:{h.REGION}:{env['accountId']}:service-deployment/{env['cluster']}/{env['service']}/"
    )

    status, body, _ = h.raw_json_call(
        emulator, "ecs", e.ECS + "UpdateService", {"cluster": env["cluster"], "service": "nope", "desiredCount": 1}
    )
    assert status == 400 and body["__type"] == "ServiceNotFoundException"
