"""Seeds a running emulator with what a greenlight deployment needs: an ECR
repository with the image (optionally multi-arch) and its scan results, a
couple of older tags, an ECS cluster, task definition and service behind an ALB
with two target groups and, for the CODE_DEPLOY controller (the default), a
CodeDeploy application and deployment group. Prints one JSON object describing
it all.

    python -m greenlight_emulator.seed --endpoint http://127.0.0.1:4566

With --controller ECS the service deploys itself: a rolling update, or an
ECS-native blue/green, linear or canary deployment (--strategy) whose load
balancer entry carries the advancedConfiguration AWS requires.

Running it again with the same names reuses what exists; several services can
share a cluster.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

import boto3

DEFAULT_IMAGE_TAG = "20261123120000-abc1234"
# Older images in the repository, so that "closest existing tags" have material.
OLDER_IMAGE_TAGS = ("20261120093000-9f0e2d1", "20261121101500-1a2b3c4")
PLATFORMS = (("linux/amd64", "amd64"), ("linux/arm64", "arm64"))

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

# What --scan configures on the seeded image (each platform manifest when multi-arch).
SCAN_RESULTS: dict[str, dict[str, Any]] = {
    # A finished scan with a few LOW/MEDIUM findings: passes a CRITICAL=0,HIGH=0 gate.
    "clean": {"status": "COMPLETE", "generate": {"MEDIUM": 2, "LOW": 3}},
    "critical": {"status": "COMPLETE", "generate": {"CRITICAL": 2, "HIGH": 4, "MEDIUM": 5, "LOW": 3}},
    # Scanning, and it stays so (unless --scan-complete-after is given).
    "in-progress": {"status": "COMPLETE", "generate": {"MEDIUM": 2, "LOW": 3}, "complete_after_seconds": None},
}


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


CONTROLLERS = ("CODE_DEPLOY", "ECS")
STRATEGIES = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
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
    parser.add_argument(
        "--scan",
        choices=("clean", "critical", "none", "in-progress"),
        default="clean",
        help=(
            "scan result of the seeded image: clean (COMPLETE, a few LOW/MEDIUM findings), critical "
            "(COMPLETE with CRITICAL and HIGH findings), none (no scan: ScanNotFoundException until "
            "StartImageScan), in-progress (IN_PROGRESS for good)"
        ),
    )
    parser.add_argument(
        "--scan-complete-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="AWS seconds until the seeded scan reaches its final status (default: at once; never for in-progress)",
    )
    parser.add_argument(
        "--multi-arch",
        action="store_true",
        help="push the image as an OCI image index with linux/amd64 and linux/arm64 manifests, each scanned",
    )
    parser.add_argument(
        "--alarm",
        action="append",
        default=[],
        metavar="NAME",
        help=(
            "create this CloudWatch alarm (state OK) and wire it to the deployment: the CodeDeploy "
            "group's alarmConfiguration (rollback on DEPLOYMENT_STOP_ON_ALARM with --auto-rollback) or "
            "the ECS service's deploymentConfiguration.alarms with rollback (repeatable)"
        ),
    )
    _add_ecs_options(parser)
    return parser


def _add_ecs_options(parser: argparse.ArgumentParser) -> None:
    ecs = parser.add_argument_group("deployment controller (ECS: the service deploys itself)")
    ecs.add_argument("--controller", choices=CONTROLLERS, default="CODE_DEPLOY", help="default CODE_DEPLOY")
    ecs.add_argument("--strategy", choices=STRATEGIES, default="ROLLING", help="ECS only; default ROLLING")
    ecs.add_argument(
        "--circuit-breaker",
        type=_bool,
        default=True,
        metavar="true|false",
        help="ECS only: deployment circuit breaker with rollback (default true)",
    )
    ecs.add_argument("--bake-time-minutes", type=int, default=0, help="blue/green, linear, canary (default 0)")
    ecs.add_argument("--canary-percent", type=float, default=10.0, help="CANARY: traffic share (default 10)")
    ecs.add_argument("--canary-bake-minutes", type=int, default=5, help="CANARY: minutes before the rest (default 5)")
    ecs.add_argument("--linear-step-percent", type=float, default=10.0, help="LINEAR: share per step (default 10)")
    ecs.add_argument(
        "--linear-step-bake-minutes", type=int, default=1, help="LINEAR: minutes between steps (default 1)"
    )
    ecs.add_argument(
        "--pause-hook",
        action="append",
        default=[],
        choices=HOOK_STAGES,
        metavar="STAGE",
        help="add a PAUSE lifecycle hook at this stage (repeatable), e.g. POST_TEST_TRAFFIC_SHIFT",
    )
    ecs.add_argument(
        "--lambda-hook",
        action="append",
        default=[],
        choices=HOOK_STAGES,
        metavar="STAGE",
        help="add an AWS_LAMBDA lifecycle hook (a fake function) at this stage (repeatable)",
    )


def _short(name: str, suffix: str, limit: int = 32) -> str:
    """An ELB-safe name (at most 32 characters) ending in suffix."""
    full = f"{name}-{suffix}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:6]
    return f"{name[: limit - len(suffix) - 8]}-{digest}-{suffix}"


def _client(name: str, args: argparse.Namespace) -> Any:
    return boto3.client(name, endpoint_url=args.endpoint, region_name=args.region)


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _manifest(repository: str, tag: str) -> str:
    def digest(label: str) -> str:
        return _sha256(f"{repository}:{tag}:{label}")

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


def _oci_manifest(repository: str, tag: str, arch: str) -> str:
    def digest(label: str) -> str:
        return _sha256(f"{repository}:{tag}:{arch}:{label}")

    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 7143, "digest": digest("config")},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": size, "digest": digest(f"layer-{i}")}
            for i, size in enumerate((3348123 if arch == "arm64" else 3370706, 7390114, 1241))
        ],
    }
    return json.dumps(manifest, indent=2)


def _oci_index(children: list[tuple[str, str, str]]) -> str:
    """An image index over (manifest, digest, architecture) triples."""
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "size": len(manifest.encode()),
                "digest": digest,
                "platform": {"architecture": arch, "os": "linux"},
            }
            for manifest, digest, arch in children
        ],
    }
    return json.dumps(index, indent=2)


def _push(ecr: Any, repository: str, manifest: str, media_type: str, tag: str | None) -> str:
    """Pushes a manifest (again: a no-op); returns its digest, the sha256 of the manifest as ECR computes it."""
    params: dict[str, Any] = {
        "repositoryName": repository,
        "imageManifest": manifest,
        "imageManifestMediaType": media_type,
    }
    if tag:
        params["imageTag"] = tag
    try:
        return ecr.put_image(**params)["image"]["imageId"]["imageDigest"]
    except ecr.exceptions.ImageAlreadyExistsException:
        return _sha256(manifest)


def _control(endpoint: str, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}/_greenlight/{path}", data=json.dumps(body).encode(), method=method
    )
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} /_greenlight/{path}: HTTP {error.code} {error.read().decode(errors='replace')}")


def _set_scan(args: argparse.Namespace, repository: str, digest: str, kind: str) -> None:
    target = {"repository": repository, "digest": digest, "region": args.region}
    if kind == "none":
        _control(args.endpoint, "DELETE", "ecr/scan", target)
        return
    spec = {**target, **SCAN_RESULTS[kind]}
    if args.scan_complete_after is not None:
        spec["complete_after_seconds"] = args.scan_complete_after
    _control(args.endpoint, "POST", "ecr/scan", spec)


def _ensure_role(iam: Any, name: str, service: str) -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


def _deployment_configuration(args: argparse.Namespace, region: str, account: str, role: str) -> dict[str, Any]:
    """The service's deploymentConfiguration for --controller ECS."""
    config: dict[str, Any] = {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": args.circuit_breaker, "rollback": args.circuit_breaker},
        "strategy": args.strategy,
    }
    if args.alarm:
        config["alarms"] = {"alarmNames": list(args.alarm), "enable": True, "rollback": True}
    if args.strategy == "ROLLING":
        return config
    config["bakeTimeInMinutes"] = args.bake_time_minutes
    if args.strategy == "CANARY":
        config["canaryConfiguration"] = {
            "canaryPercent": args.canary_percent,
            "canaryBakeTimeInMinutes": args.canary_bake_minutes,
        }
    elif args.strategy == "LINEAR":
        config["linearConfiguration"] = {
            "stepPercent": args.linear_step_percent,
            "stepBakeTimeInMinutes": args.linear_step_bake_minutes,
        }
    hooks: list[dict[str, Any]] = [{"targetType": "PAUSE", "lifecycleStages": [stage]} for stage in args.pause_hook]
    function = f"arn:aws:lambda:{region}:{account}:function:{args.cluster}-{args.service}-hook"
    hooks += [
        {"targetType": "AWS_LAMBDA", "hookTargetArn": function, "roleArn": role, "lifecycleStages": [stage]}
        for stage in args.lambda_hook
    ]
    if hooks:
        config["lifecycleHooks"] = hooks
    return config


def _ensure_alarms(cloudwatch: Any, names: list[str], load_balancer: dict[str, Any], target_group: dict[str, Any]) -> None:
    """The --alarm alarms: the target group's 5XX count, in state OK."""
    for name in names:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription="Target 5XX responses during a deployment",
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[
                {"Name": "LoadBalancer", "Value": load_balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]},
                {"Name": "TargetGroup", "Value": target_group["TargetGroupArn"].rsplit(":", 1)[-1]},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="Seeded by the greenlight emulator")


def _listener_rule(elbv2: Any, listener_arn: str, target_group_arn: str) -> str:
    """The forwarding rule ECS-native blue/green switches (created once per listener)."""
    for rule in elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]:
        if not rule.get("IsDefault"):
            return rule["RuleArn"]
    return elbv2.create_rule(
        ListenerArn=listener_arn,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
    )["Rules"][0]["RuleArn"]


def _ensure_cluster(ecs: Any, name: str) -> None:
    """CreateCluster replaces a cluster in moto: only create a missing one."""
    clusters = ecs.describe_clusters(clusters=[name])["clusters"]
    if not any(c.get("status") == "ACTIVE" for c in clusters):
        ecs.create_cluster(clusterName=name)


def _ensure_codedeploy(
    args: argparse.Namespace, codedeploy: Any, role: str, target_groups: list[Any], listeners: dict[int, Any]
) -> tuple[str, str]:
    """The CodeDeploy application and deployment group of a CODE_DEPLOY service."""
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
        "serviceRoleArn": role,
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
            "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"]
            + (["DEPLOYMENT_STOP_ON_ALARM"] if args.alarm else []),
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
    if args.alarm:
        group_spec["alarmConfiguration"] = {
            "enabled": True,
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": name} for name in args.alarm],
        }
    try:
        codedeploy.create_deployment_group(**group_spec)
    except codedeploy.exceptions.DeploymentGroupAlreadyExistsException:
        pass
    return application, group


def seed(args: argparse.Namespace) -> dict[str, Any]:
    family = args.family or args.service
    repository = args.repository or args.service
    container = args.service
    port = args.container_port

    sts, iam, ecr, ecs, ec2, elbv2, codedeploy = (
        _client(n, args) for n in ("sts", "iam", "ecr", "ecs", "ec2", "elbv2", "codedeploy")
    )
    account = sts.get_caller_identity()["Account"]

    # ECR repository: older images, then the image (an index over two platforms with --multi-arch).
    try:
        repo = ecr.create_repository(repositoryName=repository)["repository"]
    except ecr.exceptions.RepositoryAlreadyExistsException:
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    older_scan = "none" if args.scan == "none" else "clean"
    for tag in OLDER_IMAGE_TAGS:
        if tag != args.image_tag:
            digest = _push(ecr, repository, _manifest(repository, tag), DOCKER_MANIFEST, tag)
            _set_scan(args, repository, digest, older_scan)
    platform_digests: dict[str, str] = {}
    if args.multi_arch:
        children = []
        for platform, arch in PLATFORMS:
            manifest = _oci_manifest(repository, args.image_tag, arch)
            digest = _push(ecr, repository, manifest, OCI_MANIFEST, None)
            platform_digests[platform] = digest
            children.append((manifest, digest, arch))
        image_digest = _push(ecr, repository, _oci_index(children), OCI_INDEX, args.image_tag)
        scanned = list(platform_digests.values())
    else:
        image_digest = _push(ecr, repository, _manifest(repository, args.image_tag), DOCKER_MANIFEST, args.image_tag)
        scanned = [image_digest]
    for digest in scanned:
        _set_scan(args, repository, digest, args.scan)
    image_ref = f"{repo['repositoryUri']}:{args.image_tag}"

    # Roles the task definition and the deployment group name.
    execution_role = _ensure_role(iam, "ecsTaskExecutionRole", "ecs-tasks.amazonaws.com")
    codedeploy_role = _ensure_role(iam, "ecsCodeDeployRole", "codedeploy.amazonaws.com")

    # The task definition's awslogs group, as a team creates it beforehand (ECS does not,
    # unless awslogs-create-group is set).
    logs = _client("logs", args)
    try:
        logs.create_log_group(logGroupName=f"/ecs/{family}")
    except logs.exceptions.ResourceAlreadyExistsException:
        pass

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

    if args.alarm:
        _ensure_alarms(_client("cloudwatch", args), args.alarm, lb, target_groups[0])

    # Native blue/green switches listener rules between the two target groups.
    native = args.controller == "ECS" and args.strategy != "ROLLING"
    infrastructure_role = None
    rules: dict[int, str] = {}
    if native or (args.controller == "ECS" and args.lambda_hook):
        infrastructure_role = _ensure_role(iam, "ecsInfrastructureRole", "ecs.amazonaws.com")
    if native:
        blue = target_groups[0]["TargetGroupArn"]
        rules = {p: _listener_rule(elbv2, listeners[p]["ListenerArn"], blue) for p in (80, 8080)}
    load_balancer: dict[str, Any] = {
        "targetGroupArn": target_groups[0]["TargetGroupArn"],
        "containerName": container,
        "containerPort": port,
    }
    if native:
        load_balancer["advancedConfiguration"] = {
            "alternateTargetGroupArn": target_groups[1]["TargetGroupArn"],
            "productionListenerRule": rules[80],
            "testListenerRule": rules[8080],
            "roleArn": infrastructure_role,
        }

    # ECS cluster, task definition, service.
    _ensure_cluster(ecs, args.cluster)
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
        controller_options: dict[str, Any] = {"deploymentController": {"type": args.controller}}
        if args.controller == "ECS":
            controller_options["deploymentConfiguration"] = _deployment_configuration(
                args, args.region, account, infrastructure_role or ""
            )
        service = ecs.create_service(
            cluster=args.cluster,
            serviceName=args.service,
            taskDefinition=task_definition_arn,
            desiredCount=args.desired_count,
            launchType="FARGATE",
            loadBalancers=[load_balancer],
            **controller_options,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": subnet_ids,
                    "securityGroups": [security_group],
                    "assignPublicIp": "DISABLED",
                }
            },
        )["service"]

    # A CODE_DEPLOY service needs a CodeDeploy application and deployment group.
    application: str | None = None
    group: str | None = None
    if args.controller == "CODE_DEPLOY":
        application, group = _ensure_codedeploy(args, codedeploy, codedeploy_role, target_groups, listeners)

    result = {
        "endpoint": args.endpoint,
        "region": args.region,
        "accountId": account,
        "registryId": repo["registryId"],
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
        "olderImageTags": [t for t in OLDER_IMAGE_TAGS if t != args.image_tag],
        "scan": args.scan,
        "application": application,
        "deploymentGroup": group,
        "deploymentConfig": args.deployment_config if application else None,
        "controller": args.controller,
        "strategy": args.strategy if args.controller == "ECS" else None,
        "loadBalancerArn": lb["LoadBalancerArn"],
        "targetGroups": [tg["TargetGroupName"] for tg in target_groups],
        "prodListenerArn": listeners[80]["ListenerArn"],
        "testListenerArn": listeners[8080]["ListenerArn"],
        "alarms": list(args.alarm),
    }
    if rules:
        result["prodListenerRuleArn"] = rules[80]
        result["testListenerRuleArn"] = rules[8080]
    if args.multi_arch:
        result["platformDigests"] = platform_digests
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The emulator accepts any credentials; supply dummy ones when none are set.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_PROFILE", None)
    try:
        result = seed(args)
    except KeyboardInterrupt:
        # Ctrl-C in the demo: one line, not a traceback from inside botocore.
        print(f"seeding {args.endpoint} interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - report any failure in one line
        print(f"error: seeding {args.endpoint} failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
