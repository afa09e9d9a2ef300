"""ECR image scans that behave like AWS's: the scan of each image manifest, kept per moto
backend, from its script (ScanPlan) to its state at any AWS time (ImageScan), and the scan
parts of StartImageScan, DescribeImageScanFindings and DescribeImages."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from botocore.utils import parse_timestamp
from moto.core.exceptions import ServiceException
from moto.ecr.exceptions import LimitExceededException, ScanNotFoundException
from moto.ecr.models import ECRBackend, Image, Repository

from .. import protocol
from ..control import STATE
from .findings import SEVERITY_ORDER, basic_findings, enhanced_findings
from .images import architecture, echo_image_id, is_index, media_type, parsed_manifest
from .paging import decode_token, page_lists

SCAN_STATUSES = (
    "IN_PROGRESS",
    "COMPLETE",
    "FAILED",
    "UNSUPPORTED_IMAGE",
    "ACTIVE",
    "PENDING",
    "SCAN_ELIGIBILITY_EXPIRED",
    "FINDINGS_UNAVAILABLE",
    "LIMIT_EXCEEDED",
    "IMAGE_ARCHIVED",
    "IMAGE_SIZE_EXCEEDED",
)

# COMPLETE, ACTIVE and FAILED are AWS's own wording; the others are written in its style.
DEFAULT_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
    "FAILED": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    "UNSUPPORTED_IMAGE": "The operating system and/or package manager of the image are not supported for scanning.",
    "PENDING": "The image is queued for its initial scan.",
    "SCAN_ELIGIBILITY_EXPIRED": (
        "Continuous scanning of the image has been suspended: its scan eligibility duration has expired."
    ),
    "FINDINGS_UNAVAILABLE": "Findings for the image are not available.",
    "LIMIT_EXCEEDED": "The scan quota per image has been exceeded.",
    "IMAGE_ARCHIVED": "The image is archived. Archived images cannot be scanned.",
    "IMAGE_SIZE_EXCEEDED": "The image exceeds the maximum size that can be scanned.",
}

# Statuses whose scan produced findings (others only show findings configured explicitly).
STATUSES_WITH_FINDINGS = ("COMPLETE", "ACTIVE")

SCAN_QUOTA_SECONDS = 24 * 3600  # a basic scan can be started once per 24 hours per image

# A ScanPlan's complete_after when its script did not say: the configured scan time
# (STATE.ecr_scan_seconds) when the scan starts.
CONFIGURED_SCAN_TIME = object()
_serials = itertools.count(1)


class UnsupportedImageTypeException(ServiceException):
    code = "UnsupportedImageTypeException"


@dataclass
class ScanPlan:
    """What a scan of one image produces once it is started."""

    status: str = "COMPLETE"
    description: str | None = None
    # AWS seconds; None: never completes; CONFIGURED_SCAN_TIME: the configured default
    complete_after: Any = CONFIGURED_SCAN_TIME
    findings: list[dict[str, Any]] = field(default_factory=list)
    enhanced_findings: list[dict[str, Any]] = field(default_factory=list)
    generate: dict[str, Any] | None = None
    enhanced_mode: bool = False
    explicit: bool = False  # findings were configured: show them whatever the final status


@dataclass
class ImageScan:
    repository: str
    digest: str
    plan: ScanPlan
    configured: bool
    started_at: float | None = None  # AWS time
    complete_after: float | None = None
    serial: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    enhanced: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    completed_wall: float | None = None
    source_updated_wall: float | None = None

    def state(self, now: float) -> tuple[str, str | None, bool] | None:
        """(status, description, finished) at AWS time now; None when not started."""
        if self.started_at is None:
            return None
        if self.complete_after is None or now < self.started_at + self.complete_after:
            return "IN_PROGRESS", None, False
        status = self.plan.status
        if status == "IN_PROGRESS":
            return "IN_PROGRESS", self.plan.description, False
        return status, self.plan.description or DEFAULT_DESCRIPTIONS.get(status), True

    def shows_findings(self, status: str, finished: bool) -> bool:
        return finished and (status in STATUSES_WITH_FINDINGS or self.plan.explicit)


def scan_store(backend: ECRBackend) -> dict[tuple[str, str], ImageScan]:
    """The backend's scans: {(repository name, image digest): scan}; reset with moto's state."""
    store = getattr(backend, "_greenlight_scans", None)
    if store is None:
        store = {}
        backend._greenlight_scans = store
    return store


# ----------------------------------------------------------------------
# Findings kept to the API's shape
# ----------------------------------------------------------------------
@cache
def _finding_shapes() -> tuple[Any, Any]:
    """botocore's shapes of a basic and of an enhanced finding."""
    model = protocol.service_model("ecr")
    return model.shape_for("ImageScanFinding"), model.shape_for("EnhancedImageScanFinding")


def _timestamp(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return round(float(value), 3)
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, str):
        try:
            return round(parse_timestamp(value).timestamp(), 3)
        except (ValueError, TypeError):
            return None
    return None


def shaped(value: Any, shape: Any) -> Any:
    """value as the API would send it: only the shape's members, timestamps as epoch seconds.
    Returns None for what cannot be represented (dropped by the caller)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return None
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                item = shaped(value[name], member)
                if item is not None:
                    out[name] = item
        return out
    if kind == "list":
        if not isinstance(value, list):
            return None
        return [item for item in (shaped(v, shape.member) for v in value) if item is not None]
    if kind == "map":
        if not isinstance(value, dict):
            return None
        return {str(k): v for k, v in ((k, shaped(v, shape.value)) for k, v in value.items()) if v is not None}
    if kind == "timestamp":
        return _timestamp(value)
    if kind in ("integer", "long"):
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind in ("double", "float"):
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    return value if isinstance(value, str) else str(value)


# ----------------------------------------------------------------------
# Starting a scan
# ----------------------------------------------------------------------
def _scans_on_push(repo: Repository) -> bool:
    config = repo.image_scanning_configuration or {}
    if isinstance(config, dict) and config.get("scanOnPush"):
        return True
    return (repo.scanning_config or {}).get("scanFrequency") in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")


def _default_plan(backend: ECRBackend, repo: Repository) -> ScanPlan:
    """What a scan nobody configured finds: nothing, as basic scanning or as enhanced scanning."""
    if backend.registry_scanning_configuration.get("scanType") == "ENHANCED":
        continuous = (repo.scanning_config or {}).get("scanFrequency") == "CONTINUOUS_SCAN"
        return ScanPlan(status="ACTIVE" if continuous else "COMPLETE", enhanced_mode=True)
    return ScanPlan()


def start_scan(backend: ECRBackend, repo: Repository, image: Image, now: float) -> ImageScan:
    store = scan_store(backend)
    key = (repo.name, image.image_digest)
    previous = store.get(key)
    configured = previous is not None and previous.configured
    plan = previous.plan if configured else _default_plan(backend, repo)
    scan = ImageScan(repo.name, image.image_digest, plan, configured)
    scan.started_at = now
    scan.complete_after = STATE.ecr_scan_seconds if plan.complete_after is CONFIGURED_SCAN_TIME else plan.complete_after
    scan.serial = next(_serials)
    completes_at = now + scan.complete_after if scan.complete_after is not None else now
    scan.completed_wall = round(STATE.clock.to_wall(completes_at), 3)
    # The vulnerability database was refreshed a little before the scan finished.
    scan.source_updated_wall = round(scan.completed_wall - 2 * 3600 - 17 * 60 - 41.25, 3)

    scan.findings = [dict(f) for f in plan.findings]
    scan.enhanced = [dict(f) for f in plan.enhanced_findings]
    generate = plan.generate or {}
    counts = {k: int(v) for k, v in generate.items() if k in SEVERITY_ORDER and int(v) > 0}
    if counts:
        seed = f"{repo.registry_id}/{repo.name}@{image.image_digest}:{json.dumps(counts, sort_keys=True)}"
        if generate.get("enhanced"):
            counts = {("UNTRIAGED" if k == "UNDEFINED" else k): v for k, v in counts.items()}
            layers = [
                layer["digest"]
                for layer in parsed_manifest(image).get("layers") or []
                if isinstance(layer, dict) and layer.get("digest")
            ]
            scan.enhanced += enhanced_findings(
                counts,
                seed,
                account=repo.registry_id,
                region=backend.region_name,
                repository=repo.name,
                digest=image.image_digest,
                tags=list(image.image_tags),
                pushed_at=float(image.image_pushed_at),
                observed_at=scan.completed_wall,
                architecture=architecture(repo, image.image_digest),
                layer_digests=layers,
            )
        else:
            counts = {("UNDEFINED" if k == "UNTRIAGED" else k): v for k, v in counts.items()}
            scan.findings += basic_findings(counts, seed)
    basic_shape, enhanced_shape = _finding_shapes()
    scan.findings = [shaped(f, basic_shape) for f in scan.findings]
    scan.enhanced = [shaped(f, enhanced_shape) for f in scan.enhanced]
    tally: dict[str, int] = {}
    for finding in scan.findings + scan.enhanced:
        severity = finding.get("severity")
        if isinstance(severity, str) and severity:
            tally[severity] = tally.get(severity, 0) + 1
    scan.counts = {k: tally[k] for k in sorted(tally, key=lambda s: (SEVERITY_ORDER + (s,)).index(s))}
    store[key] = scan
    # moto's own bookkeeping: the scan-finding-results it is handed need a started scan.
    image.last_scan = datetime.now()
    return scan


def image_pushed(backend: ECRBackend, repo: Repository, image: Image) -> None:
    """A new image manifest is in the repository: a scan of an earlier, deleted image with
    the same digest is gone with it, and scan on push starts one."""
    scan_store(backend).pop((repo.name, image.image_digest), None)
    if _scans_on_push(repo) and not is_index(image):
        start_scan(backend, repo, image, STATE.clock.now())


# ----------------------------------------------------------------------
# StartImageScan
# ----------------------------------------------------------------------
def start_image_scan(backend: ECRBackend, repo: Repository, image: Image, image_id: dict[str, Any]) -> dict[str, Any]:
    if is_index(image):
        raise UnsupportedImageTypeException(
            f"An artifact with media type '{media_type(image)}' cannot be scanned. "
            "For more information, see the Amazon ECR documentation."
        )
    now = STATE.clock.now()
    previous = scan_store(backend).get((repo.name, image.image_digest))
    if previous is not None and previous.started_at is not None and now - previous.started_at < SCAN_QUOTA_SECONDS:
        raise LimitExceededException()
    start_scan(backend, repo, image, now)
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": echo_image_id(image, image_id),
        "imageScanStatus": {"status": "IN_PROGRESS"},
    }


# ----------------------------------------------------------------------
# DescribeImageScanFindings
# ----------------------------------------------------------------------
MotoDescribe = Callable[..., dict[str, Any]]


def describe_image_scan_findings(
    backend: ECRBackend,
    repo: Repository,
    image: Image,
    image_id: dict[str, Any],
    limit: int,
    token: Any,
    moto_describe: MotoDescribe,
) -> dict[str, Any] | str:
    """The answer: a dict for moto's serializer, or the JSON text itself. moto_describe is
    moto's own ECRBackend.describe_image_scan_findings, which answers for results handed to
    moto directly (/moto-api/static/ecr/scan-finding-results)."""
    scan = scan_store(backend).get((repo.name, image.image_digest))
    state = scan.state(STATE.clock.now()) if scan is not None else None
    if scan is None or state is None:
        moto_result = _moto_configured_result(backend, repo, image, image_id, moto_describe)
        if moto_result is None:
            idigest = image_id.get("imageDigest") or "null"
            itag = image_id.get("imageTag") or "null"
            raise ScanNotFoundException(
                image_id=f"{{imageDigest:'{idigest}', imageTag:'{itag}'}}",
                repository_name=repo.name,
                registry_id=repo.registry_id,
            )
        return _page_moto_result(moto_result, limit, token, image.image_digest)

    status, description, finished = state
    result: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": echo_image_id(image, image_id),
        "imageScanStatus": {"status": status, **({"description": description} if description else {})},
    }
    if scan.shows_findings(status, finished):
        lists: dict[str, list[Any]] = {}
        enhanced_mode = scan.plan.enhanced_mode or bool(scan.enhanced)
        if scan.findings or not enhanced_mode:
            lists["findings"] = scan.findings
        if enhanced_mode:
            lists["enhancedFindings"] = scan.enhanced
        pages, next_token = page_lists(lists, limit, token, d=image.image_digest, n=scan.serial)
        findings: dict[str, Any] = {
            "imageScanCompletedAt": scan.completed_wall,
            "vulnerabilitySourceUpdatedAt": scan.source_updated_wall,
            "findingSeverityCounts": dict(scan.counts),
            **pages,
        }
        result["imageScanFindings"] = findings
        if next_token:
            result["nextToken"] = next_token
    elif token is not None:
        decode_token(token, d=image.image_digest, n=scan.serial)
    # The findings are already shaped (see start_scan): answer without moto's
    # generic serializer, which takes about half a second per 1000 enhanced findings.
    return json.dumps(result, separators=(",", ":"))


def _moto_configured_result(
    backend: ECRBackend, repo: Repository, image: Image, image_id: dict[str, Any], moto_describe: MotoDescribe
) -> dict[str, Any] | None:
    """A result handed to moto through /moto-api/static/ecr/scan-finding-results, if any."""
    queued = [
        r
        for r in backend.scan_finding_results
        if r.get("repositoryName") == repo.name
        and (
            not (r.get("imageId") or {}).get("imageTag")
            and not (r.get("imageId") or {}).get("imageDigest")
            or (r.get("imageId") or {}).get("imageTag") in image.image_tags
            or (r.get("imageId") or {}).get("imageDigest") == image.image_digest
        )
    ]
    if not queued and not image.scan_finding_results:
        return None
    if image.last_scan is None:
        return None
    return moto_describe(backend, registry_id=repo.registry_id, repository_name=repo.name, image_id=image_id)


def _page_moto_result(result: dict[str, Any], limit: int, token: Any, digest: str) -> dict[str, Any]:
    out = dict(result)
    findings = dict(out.get("imageScanFindings") or {})
    lists = {k: list(findings[k]) for k in ("findings", "enhancedFindings") if isinstance(findings.get(k), list)}
    if lists:
        pages, next_token = page_lists(lists, limit, token, d=digest, n=0)
        findings.update(pages)
        out["imageScanFindings"] = findings
        if next_token:
            out["nextToken"] = next_token
    return out


# ----------------------------------------------------------------------
# DescribeImages
# ----------------------------------------------------------------------
def scan_detail(backend: ECRBackend, repo: Repository, image: Image, now: float) -> dict[str, Any]:
    """What the image's scan adds to its ImageDetail: imageScanStatus and, once there are
    findings to show, imageScanFindingsSummary."""
    detail: dict[str, Any] = {}
    scan = scan_store(backend).get((repo.name, image.image_digest))
    state = scan.state(now) if scan is not None else None
    if scan is not None and state is not None:
        status, description, finished = state
        detail["imageScanStatus"] = {"status": status, **({"description": description} if description else {})}
        if scan.shows_findings(status, finished):
            detail["imageScanFindingsSummary"] = {
                "imageScanCompletedAt": scan.completed_wall,
                "vulnerabilitySourceUpdatedAt": scan.source_updated_wall,
                "findingSeverityCounts": dict(scan.counts),
            }
    return detail
