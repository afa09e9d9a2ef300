"""ECR beyond moto: image scans that behave like AWS's.

- StartImageScan starts a scan: IN_PROGRESS, then (after a scan time in AWS
  time, 20 s by default) the final status. Repositories with scanOnPush (or a
  registry scan-on-push/continuous rule) start one on PutImage. A basic scan
  can be started once per 24 hours per image (LimitExceededException).
- DescribeImageScanFindings answers ScanNotFoundException until a scan was
  started, then the status, findings, enhanced findings and severity counts,
  paged with maxResults (1-1000, default 100) and nextToken.
- Results are scripted through POST /_greenlight/ecr/scan (see control_endpoint.py):
  any status of the API, explicit findings, or generated realistic ones
  (findings.py).
- Image digests are the sha256 of the manifest as pushed, as on AWS; image
  indexes and manifest lists are stored as such (their platform manifests must
  exist first), reported with their media type by DescribeImages and returned
  as pushed by BatchGetImage. Scans belong to platform manifests, never to an
  index. DescribeImages and ListImages page with maxResults/nextToken.

moto dispatches an action to the ECRResponse method of the same name in
snake_case, so each call here is a method set on that class.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from botocore.utils import parse_timestamp

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.exceptions import (
    InvalidParameterException,
    LimitExceededException,
    RepositoryNotFoundException,
    ScanNotFoundException,
)
from moto.ecr.models import ECRBackend, Image, Repository
from moto.ecr.responses import ECRResponse

from .. import protocol
from ..control import STATE
from .findings import SEVERITY_ORDER, basic_findings, enhanced_findings

# ======================================================================
# Scan state
# ======================================================================
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

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)

SCAN_QUOTA_SECONDS = 24 * 3600  # a basic scan can be started once per 24 hours per image
DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_DEFAULT = object()  # "complete_after not given"
_serials = itertools.count(1)


class UnsupportedImageTypeException(ServiceException):
    code = "UnsupportedImageTypeException"


class ImageDigestDoesNotMatchException(ServiceException):
    code = "ImageDigestDoesNotMatchException"


class ReferencedImagesNotFoundException(ServiceException):
    code = "ReferencedImagesNotFoundException"


@dataclass
class ScanPlan:
    """What a scan of one image produces once it is started."""

    status: str = "COMPLETE"
    description: str | None = None
    complete_after: Any = _DEFAULT  # AWS seconds; None: never completes; _DEFAULT: the configured default
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


def scans(backend: ECRBackend) -> dict[tuple[str, str], ImageScan]:
    store = getattr(backend, "_greenlight_scans", None)
    if store is None:
        store = {}
        backend._greenlight_scans = store
    return store


# ----------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------
def manifest_digest(manifest: str) -> str:
    """ECR's image digest: the sha256 of the manifest exactly as pushed."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def _parsed(image: Image) -> dict[str, Any]:
    try:
        value = json.loads(image.image_manifest)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def media_type(image: Image) -> str | None:
    return image.image_manifest_media_type or _parsed(image).get("mediaType")


def is_index(image: Image) -> bool:
    return media_type(image) in INDEX_MEDIA_TYPES or "manifests" in _parsed(image)


def _platform_name(platform: dict[str, Any]) -> str:
    name = f"{platform.get('os', 'linux')}/{platform.get('architecture', 'amd64')}"
    if platform.get("variant"):
        name += f"/{platform['variant']}"
    return name


def index_platforms(image: Image) -> dict[str, str]:
    """{"linux/amd64": digest, ...} of an image index / manifest list."""
    out: dict[str, str] = {}
    for entry in _parsed(image).get("manifests") or []:
        if isinstance(entry, dict) and entry.get("digest") and isinstance(entry.get("platform"), dict):
            out.setdefault(_platform_name(entry["platform"]), entry["digest"])
    return out


def _architecture(repo: Repository, digest: str) -> str:
    for other in repo.images:
        if is_index(other):
            for entry in _parsed(other).get("manifests") or []:
                if isinstance(entry, dict) and entry.get("digest") == digest:
                    return str((entry.get("platform") or {}).get("architecture") or "amd64")
    return "amd64"


def _image_size(repo: Repository, image: Image) -> int | None:
    parsed = _parsed(image)
    if is_index(image):
        # For a manifest list ECR reports the largest of the images it references.
        sizes = []
        for entry in parsed.get("manifests") or []:
            child = _by_digest(repo, entry.get("digest")) if isinstance(entry, dict) else None
            size = _image_size(repo, child) if child is not None else None
            if size is not None:
                sizes.append(size)
        return max(sizes) if sizes else None
    layers = parsed.get("layers")
    if isinstance(layers, list):
        return sum(int(layer.get("size") or 0) for layer in layers if isinstance(layer, dict))
    return None


def _by_digest(repo: Repository, digest: str | None) -> Image | None:
    if not digest:
        return None
    return next((i for i in repo.images if i.image_digest == digest), None)


def _find_image(repo: Repository, image_id: Any) -> Image:
    if not isinstance(image_id, dict) or not (image_id.get("imageTag") or image_id.get("imageDigest")):
        raise InvalidParameterException(
            "Invalid parameter at 'imageId' failed to satisfy constraint: 'imageDigest and imageTag cannot both be null'"
        )
    return repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))


def _echo_image_id(image: Image, image_id: dict[str, Any]) -> dict[str, str]:
    out = {"imageDigest": image.image_digest}
    if image_id.get("imageTag"):
        out["imageTag"] = image_id["imageTag"]
    return out


def _scan_on_push(backend: ECRBackend, repo: Repository) -> bool:
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


# ----------------------------------------------------------------------
# Starting a scan
# ----------------------------------------------------------------------
def start_scan(backend: ECRBackend, repo: Repository, image: Image, now: float) -> ImageScan:
    store = scans(backend)
    key = (repo.name, image.image_digest)
    previous = store.get(key)
    configured = previous is not None and previous.configured
    plan = previous.plan if configured else _default_plan(backend, repo)
    scan = ImageScan(repo.name, image.image_digest, plan, configured)
    scan.started_at = now
    scan.complete_after = STATE.ecr_scan_seconds if plan.complete_after is _DEFAULT else plan.complete_after
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
                for layer in _parsed(image).get("layers") or []
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
                architecture=_architecture(repo, image.image_digest),
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


# ----------------------------------------------------------------------
# Paging
# ----------------------------------------------------------------------
def _max_results(value: Any, default: int = DEFAULT_MAX_RESULTS) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterException(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must be an integer'"
        )
    if value < 1:
        raise InvalidParameterException(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: "
            "'Member must have value greater than or equal to 1'"
        )
    if value > MAX_RESULTS_LIMIT:
        raise InvalidParameterException(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: "
            f"'Member must have value less than or equal to {MAX_RESULTS_LIMIT}'"
        )
    return value


def _encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: Any, **expected: Any) -> int:
    """The offset a nextToken stands for; it must belong to the same listing."""
    if token is None:
        return 0
    try:
        padded = str(token) + "=" * (-len(str(token)) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, dict) or any(payload.get(k) != v for k, v in expected.items()):
            raise ValueError("token of another listing")
        offset = payload["o"]
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad offset")
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidParameterException(
            "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'"
        ) from exc


def _page_lists(
    lists: dict[str, list[Any]], limit: int, token: Any, **identity: Any
) -> tuple[dict[str, list[Any]], str | None]:
    """One page of every list (same offset for all, as the paginator's shared token expects)."""
    offset = _decode_token(token, **identity)
    pages = {name: items[offset : offset + limit] for name, items in lists.items()}
    longest = max((len(items) for items in lists.values()), default=0)
    next_token = _encode_token({**identity, "o": offset + limit}) if offset + limit < longest else None
    return pages, next_token


# ----------------------------------------------------------------------
# Response methods
# ----------------------------------------------------------------------
def describe_image_scan_findings(self: ECRResponse) -> ActionResult | str:
    backend = self.ecr_backend
    image_id = self._get_param("imageId") or {}
    limit = _max_results(self._get_param("maxResults"))
    token = self._get_param("nextToken")
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    image = _find_image(repo, image_id)
    scan = scans(backend).get((repo.name, image.image_digest))
    state = scan.state(STATE.clock.now()) if scan is not None else None
    if scan is None or state is None:
        moto_result = _moto_configured_result(backend, repo, image, image_id)
        if moto_result is None:
            idigest = image_id.get("imageDigest") or "null"
            itag = image_id.get("imageTag") or "null"
            raise ScanNotFoundException(
                image_id=f"{{imageDigest:'{idigest}', imageTag:'{itag}'}}",
                repository_name=repo.name,
                registry_id=repo.registry_id,
            )
        return ActionResult(_page_moto_result(moto_result, limit, token, image.image_digest))

    status, description, finished = state
    result: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": _echo_image_id(image, image_id),
        "imageScanStatus": {"status": status, **({"description": description} if description else {})},
    }
    if scan.shows_findings(status, finished):
        lists: dict[str, list[Any]] = {}
        enhanced_mode = scan.plan.enhanced_mode or bool(scan.enhanced)
        if scan.findings or not enhanced_mode:
            lists["findings"] = scan.findings
        if enhanced_mode:
            lists["enhancedFindings"] = scan.enhanced
        pages, next_token = _page_lists(lists, limit, token, d=image.image_digest, n=scan.serial)
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
        _decode_token(token, d=image.image_digest, n=scan.serial)
    # The findings are already shaped (see start_scan): answer without moto's
    # generic serializer, which takes about half a second per 1000 enhanced findings.
    return json.dumps(result, separators=(",", ":"))


def _moto_configured_result(
    backend: ECRBackend, repo: Repository, image: Image, image_id: dict[str, Any]
) -> dict[str, Any] | None:
    """A result handed to moto through /moto-api/static/ecr/scan-finding-results, if any."""
    queued = [
        r
        for r in backend.scan_finding_results
        if r.get("repositoryName") == repo.name
        and (
            not (r.get("imageId") or {}).get("imageTag") and not (r.get("imageId") or {}).get("imageDigest")
            or (r.get("imageId") or {}).get("imageTag") in image.image_tags
            or (r.get("imageId") or {}).get("imageDigest") == image.image_digest
        )
    ]
    if not queued and not image.scan_finding_results:
        return None
    if image.last_scan is None:
        return None
    return _original_backend["describe_image_scan_findings"](
        backend, registry_id=repo.registry_id, repository_name=repo.name, image_id=image_id
    )


def _page_moto_result(result: dict[str, Any], limit: int, token: Any, digest: str) -> dict[str, Any]:
    out = dict(result)
    findings = dict(out.get("imageScanFindings") or {})
    lists = {k: list(findings[k]) for k in ("findings", "enhancedFindings") if isinstance(findings.get(k), list)}
    if lists:
        pages, next_token = _page_lists(lists, limit, token, d=digest, n=0)
        findings.update(pages)
        out["imageScanFindings"] = findings
        if next_token:
            out["nextToken"] = next_token
    return out


def start_image_scan(self: ECRResponse) -> ActionResult:
    backend = self.ecr_backend
    image_id = self._get_param("imageId") or {}
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    image = _find_image(repo, image_id)
    if is_index(image):
        raise UnsupportedImageTypeException(
            f"An artifact with media type '{media_type(image)}' cannot be scanned. "
            "For more information, see the Amazon ECR documentation."
        )
    now = STATE.clock.now()
    previous = scans(backend).get((repo.name, image.image_digest))
    if previous is not None and previous.started_at is not None and now - previous.started_at < SCAN_QUOTA_SECONDS:
        raise LimitExceededException()
    start_scan(backend, repo, image, now)
    return ActionResult(
        {
            "registryId": repo.registry_id,
            "repositoryName": repo.name,
            "imageId": _echo_image_id(image, image_id),
            "imageScanStatus": {"status": "IN_PROGRESS"},
        }
    )


def _image_detail(backend: ECRBackend, repo: Repository, image: Image, now: float) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageDigest": image.image_digest,
        "imagePushedAt": image.image_pushed_at,
    }
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)
    size = _image_size(repo, image)
    if size is not None:
        detail["imageSizeInBytes"] = size
    kind = media_type(image)
    if kind:
        detail["imageManifestMediaType"] = kind
    config = _parsed(image).get("config")
    if isinstance(config, dict) and config.get("mediaType"):
        detail["artifactMediaType"] = config["mediaType"]
    scan = scans(backend).get((repo.name, image.image_digest))
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


def _tag_status(self: ECRResponse) -> str:
    status = (self._get_param("filter") or {}).get("tagStatus") or "ANY"
    if status not in ("TAGGED", "UNTAGGED", "ANY"):
        raise InvalidParameterException(
            "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: "
            "'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'"
        )
    return status


def _filtered(images: list[Image], tag_status: str) -> list[Image]:
    if tag_status == "TAGGED":
        return [i for i in images if i.image_tags]
    if tag_status == "UNTAGGED":
        return [i for i in images if not i.image_tags]
    return images


def describe_images(self: ECRResponse) -> ActionResult:
    backend = self.ecr_backend
    image_ids = self._get_param("imageIds")
    max_results = self._get_param("maxResults")
    token = self._get_param("nextToken")
    if image_ids and (max_results is not None or token is not None):
        raise InvalidParameterException(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: "
            "'maxResults and nextToken cannot be used together with imageIds'"
        )
    limit = _max_results(max_results)
    tag_status = _tag_status(self)
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    now = STATE.clock.now()
    if image_ids:
        found: list[Image] = []
        for image_id in image_ids:
            image = _find_image(repo, image_id)
            if image not in found:
                found.append(image)
        return ActionResult({"imageDetails": [_image_detail(backend, repo, i, now) for i in found]})
    images = _filtered(list(repo.images), tag_status)
    pages, next_token = _page_lists({"images": images}, limit, token, r=repo.name, k="describe")
    result: dict[str, Any] = {"imageDetails": [_image_detail(backend, repo, i, now) for i in pages["images"]]}
    if next_token:
        result["nextToken"] = next_token
    return ActionResult(result)


def list_images(self: ECRResponse) -> ActionResult:
    backend = self.ecr_backend
    limit = _max_results(self._get_param("maxResults"))
    token = self._get_param("nextToken")
    tag_status = _tag_status(self)
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    ids: list[dict[str, str]] = []
    for image in _filtered(list(repo.images), tag_status):
        if image.image_tags:
            ids += [{"imageDigest": image.image_digest, "imageTag": tag} for tag in image.image_tags]
        else:
            ids.append({"imageDigest": image.image_digest})
    pages, next_token = _page_lists({"ids": ids}, limit, token, r=repo.name, k="list")
    result: dict[str, Any] = {"imageIds": pages["ids"]}
    if next_token:
        result["nextToken"] = next_token
    return ActionResult(result)


def batch_get_image(self: ECRResponse) -> ActionResult:
    """Returns each manifest as it was pushed (an image index stays an index), with its media type."""
    backend = self.ecr_backend
    image_ids = self._get_param("imageIds") or []
    if not image_ids:
        raise InvalidParameterException(
            "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"
        )
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for image_id in image_ids:
        image_id = image_id if isinstance(image_id, dict) else {}
        tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
        if not tag and not digest:
            failures.append(
                {
                    "imageId": {},
                    "failureCode": "MissingDigestAndTag",
                    "failureReason": "Invalid request parameters: both tag and digest cannot be null",
                }
            )
            continue
        if digest and not re.fullmatch(r"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+", digest):
            failures.append(
                {
                    "imageId": {"imageDigest": digest},
                    "failureCode": "InvalidImageDigest",
                    "failureReason": "Invalid request parameters: image digest should satisfy the regex "
                    "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
                }
            )
            continue
        image = next(
            (
                i
                for i in repo.images
                if (not tag or tag in i.image_tags) and (not digest or i.image_digest == digest)
            ),
            None,
        )
        if image is None:
            by_digest = _by_digest(repo, digest)
            if tag and by_digest is not None:
                failures.append(
                    {
                        "imageId": dict(image_id),
                        "failureCode": "ImageTagDoesNotMatchDigest",
                        "failureReason": "Invalid request parameters: given tag does not match given digest",
                    }
                )
            else:
                failures.append(
                    {"imageId": dict(image_id), "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
                )
            continue
        entry_id = {"imageDigest": image.image_digest}
        if tag:
            entry_id["imageTag"] = tag
        entry: dict[str, Any] = {
            "registryId": repo.registry_id,
            "repositoryName": repo.name,
            "imageId": entry_id,
            "imageManifest": image.image_manifest,
        }
        kind = media_type(image)
        if kind:
            entry["imageManifestMediaType"] = kind
        images.append(entry)
    return ActionResult({"images": images, "failures": failures})


_METHODS = {
    "describe_image_scan_findings": describe_image_scan_findings,
    "start_image_scan": start_image_scan,
    "describe_images": describe_images,
    "list_images": list_images,
    "batch_get_image": batch_get_image,
}
_original: dict[str, Any] = {}
_original_backend: dict[str, Any] = {}


# ----------------------------------------------------------------------
# PutImage
# ----------------------------------------------------------------------
def _put_image(
    self: ECRBackend,
    repository_name: str,
    image_manifest: str,
    image_tag: str | None,
    image_manifest_mediatype: str | None = None,
    digest: str | None = None,
) -> Image:
    repo = self.repositories.get(repository_name)
    if repo is None:
        raise RepositoryNotFoundException(repository_name, self.account_id)
    if not isinstance(image_manifest, str) or not image_manifest:
        raise InvalidParameterException(
            "Invalid parameter at 'imageManifest' failed to satisfy constraint: 'Member must not be null'"
        )
    computed = manifest_digest(image_manifest)
    if digest and digest != computed:
        raise ImageDigestDoesNotMatchException(
            "The specified image digest does not match the digest that Amazon ECR calculated for the image."
        )
    try:
        parsed = json.loads(image_manifest)
    except ValueError as exc:
        raise InvalidParameterException(
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
        ) from exc
    kind = image_manifest_mediatype or (parsed.get("mediaType") if isinstance(parsed, dict) else None)
    if isinstance(parsed, dict) and (kind in INDEX_MEDIA_TYPES or "manifests" in parsed):
        referenced = [m.get("digest") for m in parsed.get("manifests") or [] if isinstance(m, dict)]
        missing = [d for d in referenced if _by_digest(repo, d) is None]
        if missing:
            raise ReferencedImagesNotFoundException(
                "The manifest list is referencing images that do not exist in the repository: " + ", ".join(missing)
            )
    existed = _by_digest(repo, computed) is not None
    image = _original_backend["put_image"](self, repository_name, image_manifest, image_tag, image_manifest_mediatype, computed)
    if not existed:
        # A scan of an earlier, deleted image with the same digest is gone with it.
        scans(self).pop((repo.name, computed), None)
        if _scan_on_push(self, repo) and not is_index(image):
            start_scan(self, repo, image, STATE.clock.now())
    return image


def install() -> None:
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    for name, method in _METHODS.items():
        if hasattr(ECRResponse, name):
            _original[name] = getattr(ECRResponse, name)
        setattr(ECRResponse, name, method)
    _original_backend["put_image"] = ECRBackend.put_image
    _original_backend["describe_image_scan_findings"] = ECRBackend.describe_image_scan_findings
    ECRBackend.put_image = _put_image  # type: ignore[method-assign]


_PATCHED = False
