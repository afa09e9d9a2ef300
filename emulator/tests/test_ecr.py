"""ECR image scanning, multi-arch images and the seed's scan options."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request

import boto3
import emulator_helpers as h
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from greenlight_emulator.ecr.scans import SCAN_STATUSES
from greenlight_emulator.ecr.findings import basic_findings

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def manifest(label: str, media_type: str = DOCKER_MANIFEST) -> str:
    layer_type = (
        "application/vnd.oci.image.layer.v1.tar+gzip"
        if media_type == OCI_MANIFEST
        else "application/vnd.docker.image.rootfs.diff.tar.gzip"
    )
    config_type = (
        "application/vnd.oci.image.config.v1+json"
        if media_type == OCI_MANIFEST
        else "application/vnd.docker.container.image.v1+json"
    )
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "size": 1469, "digest": sha(f"{label}-config")},
            "layers": [
                {"mediaType": layer_type, "size": 2_811_478, "digest": sha(f"{label}-0")},
                {"mediaType": layer_type, "size": 1_024, "digest": sha(f"{label}-1")},
            ],
        }
    )


def index(children: dict[str, str], media_type: str = OCI_INDEX) -> str:
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_MANIFEST
    entries = []
    for platform, body in children.items():
        os_name, arch = platform.split("/")
        entries.append(
            {
                "mediaType": child_type,
                "size": len(body.encode()),
                "digest": sha(body),
                "platform": {"architecture": arch, "os": os_name},
            }
        )
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})


@pytest.fixture
def repo(aws, request):
    """A fresh repository with one image tagged v1; yields its name."""
    name = "r-" + h.unique_name(request.node.name, 0)
    aws.ecr.create_repository(repositoryName=name)
    aws.ecr.put_image(repositoryName=name, imageManifest=manifest(name), imageTag="v1")
    return name


@pytest.fixture
def lax_ecr(emulator):
    """An ECR client that sends what it is given (no client-side range checks), as aws-sdk-rust does."""
    return boto3.client(
        "ecr", endpoint_url=emulator, region_name=h.REGION, config=Config(parameter_validation=False)
    )


@pytest.fixture
def scan_seconds(emulator):
    """Sets how long scans stay IN_PROGRESS (AWS seconds); restores the default afterwards."""

    def set_seconds(value: float) -> None:
        assert h.control(emulator, "POST", "ecr/config", {"scan_seconds": value}) == (200, {"scan_seconds": value})

    yield set_seconds
    h.control(emulator, "POST", "ecr/config", {"scan_seconds": 20})


def configure(emulator, **body):
    status, answer = h.control(emulator, "POST", "ecr/scan", body)
    assert status == 200, answer
    return answer["scan"]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def findings(aws, repo_name: str, image_id: dict, **kwargs) -> dict:
    return aws.ecr.describe_image_scan_findings(repositoryName=repo_name, imageId=image_id, **kwargs)


# ----------------------------------------------------------------------
# Scan lifecycle
# ----------------------------------------------------------------------
def test_no_scan_means_scan_not_found_and_unknown_images_and_repositories_are_errors(aws, repo):
    with pytest.raises(ClientError) as error:
        findings(aws, repo, {"imageTag": "v1"})
    assert error_code(error) == "ScanNotFoundException"
    assert repo in error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as error:
        findings(aws, repo, {"imageTag": "nope"})
    assert error_code(error) == "ImageNotFoundException"
    with pytest.raises(ClientError) as error:
        findings(aws, "no-such-repo", {"imageTag": "v1"})
    assert error_code(error) == "RepositoryNotFoundException"
    image = aws.ecr.describe_images(repositoryName=repo)["imageDetails"][0]
    assert "imageScanStatus" not in image and "imageScanFindingsSummary" not in image


def test_start_image_scan_is_in_progress_then_complete(aws, repo, scan_seconds):
    scan_seconds(300)  # half a real second at the suite's time scale
    digest = sha(manifest(repo))
    started = aws.ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert started["imageId"] == {"imageDigest": digest}
    assert started["registryId"] == "123456789012" and started["repositoryName"] == repo

    first = findings(aws, repo, {"imageTag": "v1"})
    assert first["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in first
    assert first["imageId"] == {"imageDigest": digest, "imageTag": "v1"}

    done = h.poll(
        lambda: findings(aws, repo, {"imageTag": "v1"}),
        lambda r: r["imageScanStatus"]["status"] != "IN_PROGRESS",
        timeout=20,
    )
    assert done["imageScanStatus"] == {"status": "COMPLETE", "description": "The scan was completed successfully."}
    scan = done["imageScanFindings"]
    assert scan["findings"] == [] and scan["findingSeverityCounts"] == {}
    assert scan["vulnerabilitySourceUpdatedAt"] < scan["imageScanCompletedAt"]
    assert abs(scan["imageScanCompletedAt"].timestamp() - time.time()) < 60
    assert "nextToken" not in done

    detail = aws.ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == {}

    # A basic scan can be started once per 24 hours per image.
    with pytest.raises(ClientError) as error:
        aws.ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    assert error_code(error) == "LimitExceededException"


def test_scan_on_push_starts_a_scan(aws, emulator, request):
    name = "r-" + h.unique_name(request.node.name, 0)
    aws.ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})
    aws.ecr.put_image(repositoryName=name, imageManifest=manifest(name), imageTag="v1")
    result = h.poll(
        lambda: findings(aws, name, {"imageTag": "v1"}), lambda r: r["imageScanStatus"]["status"] == "COMPLETE"
    )
    assert result["imageScanFindings"]["findings"] == []


@pytest.mark.parametrize("status", [s for s in SCAN_STATUSES if s != "IN_PROGRESS"])
def test_any_api_status_can_be_configured(aws, emulator, repo, status):
    configure(emulator, repository=repo, tag="v1", status=status)
    result = findings(aws, repo, {"imageTag": "v1"})
    assert result["imageScanStatus"]["status"] == status
    assert result["imageScanStatus"]["description"]
    if status in ("COMPLETE", "ACTIVE"):
        assert "imageScanFindings" in result
    else:
        assert "imageScanFindings" not in result


def test_failed_and_unsupported_image_statuses_with_their_descriptions(aws, emulator, repo):
    configure(emulator, repository=repo, tag="v1", status="FAILED")
    assert findings(aws, repo, {"imageTag": "v1"})["imageScanStatus"] == {
        "status": "FAILED",
        "description": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    }
    configure(emulator, repository=repo, tag="v1", status="UNSUPPORTED_IMAGE", description="UNSUPPORTED_OS")
    assert findings(aws, repo, {"imageTag": "v1"})["imageScanStatus"] == {
        "status": "UNSUPPORTED_IMAGE",
        "description": "UNSUPPORTED_OS",
    }


def test_a_scan_that_never_completes_stays_in_progress(aws, emulator, repo):
    scan = configure(
        emulator, repository=repo, tag="v1", complete_after_seconds=None, generate={"CRITICAL": 3}
    )
    assert scan["status"] == "IN_PROGRESS" and scan["completesAt"] is None
    time.sleep(0.5)  # five AWS minutes
    result = findings(aws, repo, {"imageTag": "v1"})
    assert result["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert "imageScanFindings" not in result


def test_a_configured_delay_turns_into_the_final_status(aws, emulator, repo):
    configure(emulator, repository=repo, tag="v1", complete_after_seconds=300, generate={"HIGH": 2})
    assert findings(aws, repo, {"imageTag": "v1"})["imageScanStatus"]["status"] == "IN_PROGRESS"
    done = h.poll(
        lambda: findings(aws, repo, {"imageTag": "v1"}), lambda r: r["imageScanStatus"]["status"] == "COMPLETE"
    )
    assert done["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 2}


def test_a_result_configured_but_not_started_waits_for_start_image_scan(aws, emulator, repo, scan_seconds):
    scan_seconds(0)
    scan = configure(emulator, repository=repo, tag="v1", started=False, status="COMPLETE", generate={"CRITICAL": 1})
    assert scan["started"] is False and scan["status"] is None
    with pytest.raises(ClientError) as error:
        findings(aws, repo, {"imageTag": "v1"})
    assert error_code(error) == "ScanNotFoundException"
    aws.ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    result = findings(aws, repo, {"imageTag": "v1"})
    assert result["imageScanStatus"]["status"] == "COMPLETE"
    assert result["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 1}
    assert result["imageScanFindings"]["findings"][0]["severity"] == "CRITICAL"


def test_explicit_findings_are_returned_as_the_api_shapes_them(aws, emulator, repo):
    basic = {
        "name": "CVE-2024-0001",
        "description": "A flaw.",
        "uri": "https://nvd.nist.gov/vuln/detail/CVE-2024-0001",
        "severity": "HIGH",
        "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.11"}],
        "notAnApiField": True,
    }
    enhanced = {
        "awsAccountId": "123456789012",
        "severity": "CRITICAL",
        "firstObservedAt": "2026-11-20T09:30:00.500000+00:00",
        "fixAvailable": "PARTIAL",
        "exploitAvailable": "YES",
        "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-0002", "vulnerablePackages": [{"name": "zlib1g"}]},
    }
    configure(emulator, repository=repo, tag="v1", findings=[basic], enhancedFindings=[enhanced])
    status, body, _ = h.raw_json_call(
        emulator,
        "ecr",
        "AmazonEC2ContainerRegistry_V20150921.DescribeImageScanFindings",
        {"repositoryName": repo, "imageId": {"imageTag": "v1"}},
    )
    assert status == 200
    scan = body["imageScanFindings"]
    assert scan["findings"] == [{k: v for k, v in basic.items() if k != "notAnApiField"}]
    assert scan["enhancedFindings"][0]["firstObservedAt"] == 1795167000.5
    assert scan["enhancedFindings"][0]["fixAvailable"] == "PARTIAL"
    assert scan["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 1}
    assert isinstance(scan["imageScanCompletedAt"], float)


# ----------------------------------------------------------------------
# Paging
# ----------------------------------------------------------------------
@pytest.mark.parametrize("enhanced", [False, True], ids=["findings", "enhancedFindings"])
def test_2500_findings_are_read_in_pages_of_1000(aws, emulator, repo, enhanced):
    key = "enhancedFindings" if enhanced else "findings"
    other = "findings" if enhanced else "enhancedFindings"
    configure(
        emulator, repository=repo, tag="v1", generate={"CRITICAL": 2, "HIGH": 1500, "LOW": 998, "enhanced": enhanced}
    )
    pages, token = [], None
    while True:
        kwargs = {"maxResults": 1000, **({"nextToken": token} if token else {})}
        page = findings(aws, repo, {"imageTag": "v1"}, **kwargs)
        pages.append(page)
        token = page.get("nextToken")
        if token is None:
            break
    assert [len(p["imageScanFindings"][key]) for p in pages] == [1000, 1000, 500]
    assert all(other not in p["imageScanFindings"] for p in pages)
    assert all(p["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 2, "HIGH": 1500, "LOW": 998} for p in pages)
    items = [f for p in pages for f in p["imageScanFindings"][key]]
    if enhanced:
        ids = [f["packageVulnerabilityDetails"]["vulnerabilityId"] for f in items]
        assert {f["fixAvailable"] for f in items} == {"YES", "NO", "PARTIAL"}
        assert {f["exploitAvailable"] for f in items} == {"YES", "NO"}
        sample = items[0]
        assert sample["findingArn"].startswith("arn:aws:inspector2:us-east-1:123456789012:finding/")
        assert sample["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"] == sha(manifest(repo))
        assert sample["type"] == "PACKAGE_VULNERABILITY" and sample["status"] == "ACTIVE"
        packages = [p for f in items for p in f["packageVulnerabilityDetails"]["vulnerablePackages"]]
        assert any(p["fixedInVersion"] == "NotAvailable" for p in packages)
        assert any(p["fixedInVersion"] != "NotAvailable" for p in packages)
    else:
        ids = [f["name"] for f in items]
        assert all(f["uri"] == f"https://nvd.nist.gov/vuln/detail/{f['name']}" for f in items)
        keys = {a["key"] for f in items for a in f["attributes"]}
        assert {"package_name", "package_version", "CVSS3_SCORE", "CVSS3_VECTOR", "CVSS2_SCORE"} <= keys
    assert len(set(ids)) == 2500 and all(i.startswith("CVE-") for i in ids)
    assert [f["severity"] for f in items] == ["CRITICAL"] * 2 + ["HIGH"] * 1500 + ["LOW"] * 998

    # Without maxResults: pages of 100; the SDK paginator reads them all.
    first = findings(aws, repo, {"imageTag": "v1"})
    assert len(first["imageScanFindings"][key]) == 100 and first["nextToken"]
    paginator = aws.ecr.get_paginator("describe_image_scan_findings")
    total = sum(
        len(p["imageScanFindings"][key])
        for p in paginator.paginate(repositoryName=repo, imageId={"imageTag": "v1"}, PaginationConfig={"PageSize": 700})
    )
    assert total == 2500


@pytest.mark.parametrize("max_results", [0, 1001, -5])
def test_max_results_out_of_range_is_invalid(lax_ecr, emulator, repo, max_results):
    configure(emulator, repository=repo, tag="v1", generate={"LOW": 3})
    with pytest.raises(ClientError) as error:
        lax_ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": "v1"}, maxResults=max_results)
    assert error_code(error) == "InvalidParameterException"
    assert "maxResults" in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_max_results_bounds_are_accepted_and_a_foreign_token_is_invalid(aws, lax_ecr, emulator, repo):
    configure(emulator, repository=repo, tag="v1", generate={"LOW": 3})
    one = findings(aws, repo, {"imageTag": "v1"}, maxResults=1)
    assert len(one["imageScanFindings"]["findings"]) == 1 and one["nextToken"]
    assert "nextToken" not in findings(aws, repo, {"imageTag": "v1"}, maxResults=1000)
    with pytest.raises(ClientError) as error:
        lax_ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageTag": "v1"}, nextToken="garbage")
    assert error_code(error) == "InvalidParameterException"
    # A token of an earlier scan does not page the new one.
    configure(emulator, repository=repo, tag="v1", generate={"LOW": 4})
    with pytest.raises(ClientError) as error:
        findings(aws, repo, {"imageTag": "v1"}, nextToken=one["nextToken"])
    assert error_code(error) == "InvalidParameterException"


def test_list_images_and_describe_images_page(aws, lax_ecr, repo):
    for i in range(4):
        aws.ecr.put_image(repositoryName=repo, imageManifest=manifest(f"{repo}-{i}"), imageTag=f"t{i}")
    listed, token = [], None
    while True:
        page = aws.ecr.list_images(repositoryName=repo, maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["imageIds"]) <= 2
        listed += page["imageIds"]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(i["imageTag"] for i in listed) == ["t0", "t1", "t2", "t3", "v1"]
    described = [
        d
        for p in aws.ecr.get_paginator("describe_images").paginate(
            repositoryName=repo, PaginationConfig={"PageSize": 3}
        )
        for d in p["imageDetails"]
    ]
    assert len(described) == 5
    with pytest.raises(ClientError) as error:
        lax_ecr.describe_images(repositoryName=repo, maxResults=1001)
    assert error_code(error) == "InvalidParameterException"


# ----------------------------------------------------------------------
# Multi-arch images
# ----------------------------------------------------------------------
@pytest.mark.parametrize("index_type", [OCI_INDEX, DOCKER_LIST], ids=["oci-index", "docker-manifest-list"])
def test_multi_arch_index_with_per_platform_scans(aws, emulator, request, index_type):
    name = "r-" + h.unique_name(request.node.name, 0)
    aws.ecr.create_repository(repositoryName=name)
    child_type = OCI_MANIFEST if index_type == OCI_INDEX else DOCKER_MANIFEST
    children = {p: manifest(f"{name}-{p}", child_type) for p in ("linux/amd64", "linux/arm64")}
    digests = {}
    for platform, body in children.items():
        pushed = aws.ecr.put_image(repositoryName=name, imageManifest=body, imageManifestMediaType=child_type)
        digests[platform] = pushed["image"]["imageId"]["imageDigest"]
        assert digests[platform] == sha(body)  # ECR's digest: the sha256 of the manifest as pushed
    index_body = index(children, index_type)
    pushed = aws.ecr.put_image(
        repositoryName=name, imageManifest=index_body, imageManifestMediaType=index_type, imageTag="v2"
    )
    index_digest = pushed["image"]["imageId"]["imageDigest"]
    assert index_digest == sha(index_body)

    details = {d["imageDigest"]: d for d in aws.ecr.describe_images(repositoryName=name)["imageDetails"]}
    assert details[index_digest]["imageManifestMediaType"] == index_type
    assert details[index_digest]["imageTags"] == ["v2"]
    assert "artifactMediaType" not in details[index_digest]
    for platform, digest in digests.items():
        assert details[digest]["imageManifestMediaType"] == child_type
        assert "imageTags" not in details[digest]
    assert details[index_digest]["imageSizeInBytes"] == 2_811_478 + 1_024
    untagged = aws.ecr.list_images(repositoryName=name, filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert sorted(i["imageDigest"] for i in untagged) == sorted(digests.values())

    got = aws.ecr.batch_get_image(
        repositoryName=name,
        imageIds=[{"imageTag": "v2"}, {"imageTag": "missing"}],
        acceptedMediaTypes=[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST],
    )
    assert len(got["images"]) == 1
    image = got["images"][0]
    assert image["imageManifest"] == index_body
    assert image["imageManifestMediaType"] == index_type
    assert image["imageId"] == {"imageDigest": index_digest, "imageTag": "v2"}
    assert got["failures"] == [
        {"imageId": {"imageTag": "missing"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
    ]
    platforms = {
        f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
        for m in json.loads(image["imageManifest"])["manifests"]
    }
    assert platforms == digests

    # Scans belong to the platform manifests, never to the index.
    with pytest.raises(ClientError) as error:
        aws.ecr.start_image_scan(repositoryName=name, imageId={"imageTag": "v2"})
    assert error_code(error) == "UnsupportedImageTypeException"
    assert index_type in error.value.response["Error"]["Message"]
    status, body = h.control(emulator, "POST", "ecr/scan", {"repository": name, "tag": "v2"})
    assert status == 400 and "linux/arm64" in body["error"]
    configure(emulator, repository=name, tag="v2", platform="linux/amd64", generate={"MEDIUM": 1})
    configure(emulator, repository=name, digest=digests["linux/arm64"], generate={"CRITICAL": 2, "enhanced": True})
    with pytest.raises(ClientError) as error:
        findings(aws, name, {"imageTag": "v2"})
    assert error_code(error) == "ScanNotFoundException"
    amd = findings(aws, name, {"imageDigest": digests["linux/amd64"]})
    arm = findings(aws, name, {"imageDigest": digests["linux/arm64"]})
    assert amd["imageId"] == {"imageDigest": digests["linux/amd64"]}
    assert amd["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 1}
    assert arm["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 2}
    resource = arm["imageScanFindings"]["enhancedFindings"][0]["resources"][0]["details"]["awsEcrContainerImage"]
    assert resource["architecture"] == "arm64" and resource["imageHash"] == digests["linux/arm64"]


def test_an_index_needs_its_platform_manifests_pushed_first(aws, request):
    name = "r-" + h.unique_name(request.node.name, 0)
    aws.ecr.create_repository(repositoryName=name)
    body = index({"linux/amd64": manifest("never-pushed", OCI_MANIFEST)})
    with pytest.raises(ClientError) as error:
        aws.ecr.put_image(repositoryName=name, imageManifest=body, imageManifestMediaType=OCI_INDEX, imageTag="v1")
    assert error_code(error) == "ReferencedImagesNotFoundException"
    with pytest.raises(ClientError) as error:
        aws.ecr.put_image(repositoryName=name, imageManifest=manifest(name), imageDigest=sha("other"), imageTag="v1")
    assert error_code(error) == "ImageDigestDoesNotMatchException"
    with pytest.raises(ClientError) as error:
        aws.ecr.put_image(repositoryName="no-such-repo", imageManifest=manifest(name), imageTag="v1")
    assert error_code(error) == "RepositoryNotFoundException"


# ----------------------------------------------------------------------
# Seed
# ----------------------------------------------------------------------
def test_seed_defaults_to_a_clean_complete_scan(aws, seeded):
    env = seeded()
    assert env["registryId"] == env["accountId"] == "123456789012"
    assert "platformDigests" not in env
    result = findings(aws, env["repositoryName"], {"imageTag": env["imageTag"]})
    assert result["imageId"]["imageDigest"] == env["imageDigest"]
    assert result["imageScanStatus"]["status"] == "COMPLETE"
    counts = result["imageScanFindings"]["findingSeverityCounts"]
    assert counts and set(counts) <= {"LOW", "MEDIUM"}
    tags = {t for i in aws.ecr.describe_images(repositoryName=env["repositoryName"])["imageDetails"] for t in i["imageTags"]}
    assert tags == {env["imageTag"], "20261120093000-9f0e2d1", "20261121101500-1a2b3c4"}


def test_seed_scan_critical_none_and_in_progress(aws, seeded):
    critical = seeded(scan="critical")
    result = findings(aws, critical["repositoryName"], {"imageDigest": critical["imageDigest"]})
    counts = result["imageScanFindings"]["findingSeverityCounts"]
    assert counts["CRITICAL"] >= 1 and counts["HIGH"] >= 1
    assert any(f["severity"] == "CRITICAL" for f in result["imageScanFindings"]["findings"])

    none = seeded(scan="none")
    with pytest.raises(ClientError) as error:
        findings(aws, none["repositoryName"], {"imageTag": none["imageTag"]})
    assert error_code(error) == "ScanNotFoundException"

    pending = seeded(scan="in-progress")
    time.sleep(0.2)
    assert findings(aws, pending["repositoryName"], {"imageTag": pending["imageTag"]})["imageScanStatus"] == {
        "status": "IN_PROGRESS"
    }


def test_seed_multi_arch(aws, seeded):
    env = seeded(multi_arch=True, scan="critical")
    assert set(env["platformDigests"]) == {"linux/amd64", "linux/arm64"}
    detail = aws.ecr.describe_images(repositoryName=env["repositoryName"], imageIds=[{"imageTag": env["imageTag"]}])
    assert detail["imageDetails"][0]["imageDigest"] == env["imageDigest"]
    assert detail["imageDetails"][0]["imageManifestMediaType"] == OCI_INDEX
    got = aws.ecr.batch_get_image(
        repositoryName=env["repositoryName"], imageIds=[{"imageDigest": env["imageDigest"]}], acceptedMediaTypes=[OCI_INDEX]
    )["images"][0]
    listed = {m["platform"]["architecture"]: m["digest"] for m in json.loads(got["imageManifest"])["manifests"]}
    assert listed == {"amd64": env["platformDigests"]["linux/amd64"], "arm64": env["platformDigests"]["linux/arm64"]}
    for digest in env["platformDigests"].values():
        result = findings(aws, env["repositoryName"], {"imageDigest": digest})
        assert result["imageScanFindings"]["findingSeverityCounts"]["CRITICAL"] >= 1


def test_seed_command_line_scan_options(emulator, aws):
    out = _run_seed(emulator, "--cluster", "ecrcli", "--service", "ecrapi", "--multi-arch", "--scan", "in-progress")
    assert out["scan"] == "in-progress" and set(out["platformDigests"]) == {"linux/amd64", "linux/arm64"}
    again = _run_seed(emulator, "--cluster", "ecrcli", "--service", "ecrapi", "--multi-arch", "--scan", "clean")
    assert again["platformDigests"] == out["platformDigests"] and again["imageDigest"] == out["imageDigest"]
    for digest in again["platformDigests"].values():
        assert findings(aws, "ecrapi", {"imageDigest": digest})["imageScanStatus"]["status"] == "COMPLETE"


def _run_seed(url: str, *args: str) -> dict:
    import os
    import subprocess
    import sys

    from conftest import EMULATOR_DIR

    env = dict(os.environ, PYTHONPATH=str(EMULATOR_DIR))
    proc = subprocess.run(
        [sys.executable, "-m", "greenlight_emulator.seed", "--endpoint", url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ----------------------------------------------------------------------
# Control endpoint, compatibility, identity
# ----------------------------------------------------------------------
def test_control_endpoint_validates_lists_and_clears(emulator, repo):
    assert h.control(emulator, "POST", "ecr/scan", {"repository": "nope", "tag": "v1"})[0] == 404
    assert h.control(emulator, "POST", "ecr/scan", {"repository": repo, "tag": "nope"})[0] == 404
    assert h.control(emulator, "POST", "ecr/scan", {"repository": repo})[0] == 400
    assert h.control(emulator, "POST", "ecr/scan", {"repository": repo, "tag": "v1", "status": "DONE"})[0] == 400
    assert h.control(emulator, "POST", "ecr/scan", {"repository": repo, "tag": "v1", "generate": {"BAD": 1}})[0] == 400
    assert (
        h.control(emulator, "POST", "ecr/scan", {"repository": repo, "tag": "v1", "complete_after_seconds": -1})[0]
        == 400
    )
    configure(emulator, repository=repo, tag="v1", generate={"HIGH": 1})
    status, body = h.control(emulator, "GET", f"ecr/scan?repository={repo}")
    assert status == 200 and len(body["scans"]) == 1
    assert body["scans"][0]["findingSeverityCounts"] == {"HIGH": 1} and body["scans"][0]["imageTags"] == ["v1"]
    request = urllib.request.Request(f"{emulator}/_greenlight/ecr/scan?repository={repo}", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert h.control(emulator, "GET", f"ecr/scan?repository={repo}")[1]["scans"] == []


def test_moto_scan_finding_results_still_work(aws, emulator, repo):
    result = {
        "imageScanFindings": {"findings": [{"name": "CVE-2020-0001", "severity": "LOW"}], "findingSeverityCounts": {"LOW": 1}},
        "registryId": "123456789012",
        "repositoryName": repo,
        "imageId": {"imageTag": "v1"},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
    }
    request = urllib.request.Request(
        f"{emulator}/moto-api/static/ecr/scan-finding-results",
        data=json.dumps({"results": [result], "region": h.REGION}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    aws.ecr.start_image_scan(repositoryName=repo, imageId={"imageTag": "v1"})
    h.poll(
        lambda: findings(aws, repo, {"imageTag": "v1"}), lambda r: r["imageScanStatus"]["status"] == "COMPLETE"
    )
    # Our scan took over; moto's queued result answers once our scan record is gone.
    h.control(emulator, "DELETE", "ecr/scan", {"repository": repo, "tag": "v1"})
    got = findings(aws, repo, {"imageTag": "v1"})
    assert got["imageScanFindings"]["findings"][0]["name"] == "CVE-2020-0001"


def test_caller_identity_is_the_default_account(aws):
    assert aws.sts.get_caller_identity()["Account"] == "123456789012"


def test_generated_findings_are_deterministic_and_unique():
    first = basic_findings({"HIGH": 300, "LOW": 5}, "seed")
    assert first == basic_findings({"HIGH": 300, "LOW": 5}, "seed")
    assert first != basic_findings({"HIGH": 300, "LOW": 5}, "other")
    assert len({f["name"] for f in first}) == 305
