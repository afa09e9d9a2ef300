"""Seeds a running emulator with what a greenlight deployment needs: an ECR
repository with one image, an ECS cluster, task definition and service
(CODE_DEPLOY controller) behind an ALB with two target groups, and a CodeDeploy
application and deployment group. Prints one JSON object describing it all.

    python -m greenlight_emulator.seed --endpoint http://127.0.0.1:4566

Running it again with the same names reuses what exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Any

DEFAULT_IMAGE_TAG = "20261123120000-abc1234"


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m greenlight_emulator.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:4566")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    parser.add_argument("--cluster", default="demo")
    parser.add_argument("--service", default="web")
    parser.add_argument("--family", default=None, help="task definition family (default: the service name)")
    parser.add_argument("--repository", default=None, help="ECR repository (default: the service name)")
    parser.add_argument("--container-port", type=int, default=80)
    parser.add_argument("--desired-count", type=int, default=2)
    parser.add_argument("--image-tag", default=DEFAULT_IMAGE_TAG)
    parser.add_argument(
        "--deployment-config",
        default="CodeDeployDefault.ECSAllAtOnce",
        help="deployment group's deployment configuration",
    )
    parser.add_argument(
        "--deployment-ready-option",
        choices=("CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"),
        default="CONTINUE_DEPLOYMENT",
    )
    parser.add_argument(
        "--ready-wait-minutes",
        type=int,
        default=60,
        help="with STOP_DEPLOYMENT: minutes before an unapproved deployment is stopped",
    )
    parser.add_argument("--termination-wait-minutes", type=int, default=0)
    parser.add_argument("--auto-rollback", type=_bool, default=True, metavar="true|false")
    return parser


def _short(name: str, suffix: str, limit: int = 32) -> str:
    """An ELB-safe name (at most 32 characters) ending in suffix."""
    full = f"{name}-{suffix}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{name[: limit - len(suffix) - 8]}-{digest}-{suffix}"


def _client(name: str, args: argparse.Namespace) -> Any:
    import boto3

    return boto3.client(name, endpoint_url=args.endpoint, region_name=args.region)


def _manifest(repository: str, tag: str) -> str:
    def digest(label: str) -> str:
        return "sha256:" + hashlib.sha256(f"{repository}:{tag}:{label}".encode()).hexdigest()

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": digest("config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 3370706,
                "digest": digest("layer-0"),
            },
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 7411522,
                "digest": digest("layer-1"),
            },
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 1241,
                "digest": digest("layer-2"),
            },
        ],
    }
    return json.dumps(manifest, indent=3)


def _ensure_role(iam: Any, name: str, service: str) -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


def seed(args: argparse.Namespace) -> dict[str, Any]:
    family = args.family or args.service
    repository = args.repository or args.service
    container = args.service
    port = args.container_port

    sts, iam, ecr, ecs, ec2, elbv2, codedeploy = (
        _client(n, args) for n in ("sts", "iam", "ecr", "ecs", "ec2", "elbv2", "codedeploy")
    )
    account = sts.get_caller_identity()["Account"]

    # ECR repository and one image.
    try:
        repo = ecr.create_repository(repositoryName=repository)["repository"]
    except ecr.exceptions.RepositoryAlreadyExistsException:
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    try:
        image = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": args.image_tag}])["imageDetails"][
            0
        ]
        image_digest = image["imageDigest"]
    except ecr.exceptions.ImageNotFoundException:
        image_digest = ecr.put_image(
            repositoryName=repository,
            imageManifest=_manifest(repository, args.image_tag),
            imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
            imageTag=args.image_tag,
        )["image"]["imageId"]["imageDigest"]
    image_ref = f"{repo['repositoryUri']}:{args.image_tag}"

    # Roles the task definition and the deployment group name.
    execution_role = _ensure_role(iam, "ecsTaskExecutionRole", "ecs-tasks.amazonaws.com")
    codedeploy_role = _ensure_role(iam, "ecsCodeDeployRole", "codedeploy.amazonaws.com")

    # Network: the default VPC that moto provides.
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnet_ids = [s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])][:2]
    security_group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]

    # Load balancer, two target groups, production and test listeners.
    base = f"{args.cluster}-{args.service}"
    lb_name = _short(base, "alb")
    try:
        lb = elbv2.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        lb = elbv2.create_load_balancer(
            Name=lb_name,
            Subnets=subnet_ids,
            SecurityGroups=[security_group],
            Scheme="internet-facing",
            Type="application",
        )["LoadBalancers"][0]
    target_groups = []
    for suffix in ("tg-blue", "tg-green"):
        tg_name = _short(base, suffix)
        try:
            tg = elbv2.describe_target_groups(Names=[tg_name])["TargetGroups"][0]
        except elbv2.exceptions.TargetGroupNotFoundException:
            tg = elbv2.create_target_group(
                Name=tg_name,
                Protocol="HTTP",
                Port=port,
                VpcId=vpc_id,
                TargetType="ip",
                HealthCheckPath="/",
            )["TargetGroups"][0]
        target_groups.append(tg)
    listeners = {l["Port"]: l for l in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    for listener_port in (80, 8080):
        if listener_port not in listeners:
            listeners[listener_port] = elbv2.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Protocol="HTTP",
                Port=listener_port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": target_groups[0]["TargetGroupArn"]}],
            )["Listeners"][0]

    # ECS cluster, task definition, service.
    ecs.create_cluster(clusterName=args.cluster)
    services = ecs.describe_services(cluster=args.cluster, services=[args.service])["services"]
    live = [s for s in services if s.get("status") == "ACTIVE"]
    if live:
        service = live[0]
        task_definition_arn = service["taskDefinition"]
    else:
        task_definition = {
            "family": family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "executionRoleArn": execution_role,
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [
                {
                    "name": container,
                    "image": image_ref,
                    "essential": True,
                    "portMappings": [{"containerPort": port, "hostPort": port, "protocol": "tcp"}],
                    "environment": [{"name": "PORT", "value": str(port)}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": f"/ecs/{family}",
                            "awslogs-region": args.region,
                            "awslogs-stream-prefix": "ecs",
                        },
                    },
                }
            ],
        }
        task_definition_arn = ecs.register_task_definition(**task_definition)["taskDefinition"]["taskDefinitionArn"]
        service = ecs.create_service(
            cluster=args.cluster,
            serviceName=args.service,
            taskDefinition=task_definition_arn,
            desiredCount=args.desired_count,
            launchType="FARGATE",
            deploymentController={"type": "CODE_DEPLOY"},
            loadBalancers=[
                {
                    "targetGroupArn": target_groups[0]["TargetGroupArn"],
                    "containerName": container,
                    "containerPort": port,
                }
            ],
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnet_ids,
                    "securityGroups": [security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
        )["service"]

    # CodeDeploy application and deployment group.
    application = f"AppECS-{args.cluster}-{args.service}"
    group = f"DgpECS-{args.cluster}-{args.service}"
    try:
        codedeploy.create_application(applicationName=application, computePlatform="ECS")
    except codedeploy.exceptions.ApplicationAlreadyExistsException:
        pass
    ready_option: dict[str, Any] = {"actionOnTimeout": args.deployment_ready_option}
    if args.deployment_ready_option == "STOP_DEPLOYMENT":
        ready_option["waitTimeInMinutes"] = args.ready_wait_minutes
    group_spec = {
        "applicationName": application,
        "deploymentGroupName": group,
        "deploymentConfigName": args.deployment_config,
        "serviceRoleArn": codedeploy_role,
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": args.termination_wait_minutes,
            },
            "deploymentReadyOption": ready_option,
        },
        "autoRollbackConfiguration": {
            "enabled": args.auto_rollback,
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"],
        },
        "ecsServices": [{"serviceName": args.service, "clusterName": args.cluster}],
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": tg["TargetGroupName"]} for tg in target_groups],
                    "prodTrafficRoute": {"listenerArns": [listeners[80]["ListenerArn"]]},
                    "testTrafficRoute": {"listenerArns": [listeners[8080]["ListenerArn"]]},
                }
            ]
        },
    }
    try:
        codedeploy.create_deployment_group(**group_spec)
    except codedeploy.exceptions.DeploymentGroupAlreadyExistsException:
        pass

    return {
        "endpoint": args.endpoint,
        "region": args.region,
        "accountId": account,
        "cluster": args.cluster,
        "service": args.service,
        "serviceArn": service["serviceArn"],
        "taskDefinitionArn": task_definition_arn,
        "family": family,
        "containerName": container,
        "containerPort": port,
        "repositoryName": repository,
        "repositoryUri": repo["repositoryUri"],
        "imageTag": args.image_tag,
        "imageDigest": image_digest,
        "image": image_ref,
        "application": application,
        "deploymentGroup": group,
        "deploymentConfig": args.deployment_config,
        "loadBalancerArn": lb["LoadBalancerArn"],
        "targetGroups": [tg["TargetGroupName"] for tg in target_groups],
        "prodListenerArn": listeners[80]["ListenerArn"],
        "testListenerArn": listeners[8080]["ListenerArn"],
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The emulator accepts any credentials; supply dummy ones when none are set.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_PROFILE", None)
    try:
        result = seed(args)
    except Exception as exc:  # noqa: BLE001 - report any failure in one line
        print(f"error: seeding {args.endpoint} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
