"""ListTaskDefinitions and DeregisterTaskDefinition as the ECS API reference documents them
(what keep-task-definition-revisions relies on): familyPrefix names the whole family, ACTIVE by
default, sort ASC by default or DESC, maxResults 1-100 with a nextToken for the rest; a
deregistered revision turns INACTIVE and leaves the ACTIVE listing. And UpdateService's
volumeConfigurations, kept with the deployment they came with."""

from __future__ import annotations

import uuid

import ecs_helpers as e
import emulator_helpers as h
import pytest
from botocore.exceptions import ClientError


def _register(aws: h.Clients, family: str, count: int) -> list[str]:
    return [
        aws.ecs.register_task_definition(
            family=family, containerDefinitions=[{"name": "web", "image": f"repo/web:{i}", "memory": 128}]
        )["taskDefinition"]["taskDefinitionArn"]
        for i in range(count)
    ]


def test_the_listing_is_the_family_sorted_and_paged(aws):
    family = f"fam-{uuid.uuid4().hex[:8]}"
    arns = _register(aws, family, 5)
    # A family whose name starts with this one's is another family, not a match.
    _register(aws, f"{family}-worker", 2)

    assert aws.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == arns
    first = aws.ecs.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=2)
    assert first["taskDefinitionArns"] == [arns[4], arns[3]]
    second = aws.ecs.list_task_definitions(
        familyPrefix=family, sort="DESC", maxResults=2, nextToken=first["nextToken"]
    )
    assert second["taskDefinitionArns"] == [arns[2], arns[1]]
    third = aws.ecs.list_task_definitions(
        familyPrefix=family, sort="DESC", maxResults=2, nextToken=second["nextToken"]
    )
    assert third["taskDefinitionArns"] == [arns[0]] and "nextToken" not in third

    # The paginator (what the SDKs use) walks the same pages.
    pages = aws.ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, sort="DESC", PaginationConfig={"PageSize": 2}
    )
    assert [a for p in pages for a in p["taskDefinitionArns"]] == arns[::-1]

    # Numeric order, not the text's: revision 10 comes after 9.
    more = _register(aws, family, 6)
    newest = aws.ecs.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=1)
    assert newest["taskDefinitionArns"] == [more[-1]] and more[-1].endswith(":11")


def test_a_deregistered_revision_is_inactive_and_leaves_the_active_listing(aws):
    family = f"fam-{uuid.uuid4().hex[:8]}"
    arns = _register(aws, family, 3)
    gone = aws.ecs.deregister_task_definition(taskDefinition=arns[0])["taskDefinition"]
    assert gone["status"] == "INACTIVE"
    assert aws.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == arns[1:]
    assert aws.ecs.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"] == [arns[0]]
    # Still described, as AWS keeps INACTIVE revisions discoverable.
    described = aws.ecs.describe_task_definition(taskDefinition=arns[0])["taskDefinition"]
    assert described["status"] == "INACTIVE"


@pytest.mark.parametrize(
    "bad",
    [{"sort": "NEWEST"}, {"status": "GONE"}, {"maxResults": 0}, {"maxResults": 101}, {"nextToken": "bm90IGpzb24"}],
)
def test_bad_listing_parameters_are_refused(aws, bad):
    with pytest.raises(ClientError) as err:
        aws.ecs.list_task_definitions(familyPrefix="web", **bad)
    assert err.value.response["Error"]["Code"] in ("InvalidParameterException", "ParamValidationError")


def test_update_service_volume_configurations_go_with_the_deployment(aws, seeded):
    env = e.seed_ecs(seeded)
    volume = {
        "name": "data",
        "managedEBSVolume": {"roleArn": "arn:aws:iam::123456789012:role/infra", "sizeInGiB": 20, "volumeType": "gp3"},
    }
    task_definition = h.register_revision(aws.ecs, env)
    answer = e.update(aws, env, taskDefinition=task_definition, volumeConfigurations=[volume])
    primary = answer["deployments"][0]
    assert primary["status"] == "PRIMARY" and primary["volumeConfigurations"] == [volume]
    # The deployment it replaced had none.
    assert "volumeConfigurations" not in answer["deployments"][1]
