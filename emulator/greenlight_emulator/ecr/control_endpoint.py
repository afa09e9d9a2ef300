"""The /_greenlight/ecr/* control routes: script the result of an image's scan (any
status of the API, explicit findings, or generated ones), list and clear scans, and set
how long a scan takes."""

from __future__ import annotations

from typing import Any

from moto.ecr.models import ECRBackend, Image, Repository, ecr_backends

from ..control import STATE
from .findings import SEVERITY_ORDER
from .images import by_digest, index_platforms, is_index
from .scans import CONFIGURED_SCAN_TIME, SCAN_STATUSES, ImageScan, ScanPlan, scan_store, start_scan

# The account and region of a scripted scan when the request does not say: moto's defaults.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class ControlError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _backend_for(body: dict[str, Any]) -> ECRBackend:
    region = body.get("region") or DEFAULT_REGION
    account = body.get("registryId") or body.get("account") or DEFAULT_ACCOUNT
    if not isinstance(region, str) or not isinstance(account, str):
        raise ControlError("region and registryId must be strings")
    return ecr_backends[account][region]


def _target(body: dict[str, Any]) -> tuple[ECRBackend, Repository, Image]:
    backend = _backend_for(body)
    name = body.get("repository") or body.get("repositoryName")
    if not isinstance(name, str) or not name:
        raise ControlError("repository is required")
    repo = backend.repositories.get(name)
    if repo is None:
        raise ControlError(f"no repository {name!r} in {backend.account_id}/{backend.region_name}", 404)
    digest = body.get("digest") or body.get("imageDigest")
    tag = body.get("tag") or body.get("imageTag")
    if not digest and not tag:
        raise ControlError("digest or tag is required")
    image = next(
        (i for i in repo.images if (not tag or tag in i.image_tags) and (not digest or i.image_digest == digest)),
        None,
    )
    if image is None:
        raise ControlError(f"no image {digest or tag!r} in repository {name!r}", 404)
    platform = body.get("platform")
    if is_index(image):
        platforms = index_platforms(image)
        if not platform:
            raise ControlError(
                "the image is an image index: scans belong to its platform manifests; give platform "
                f"(one of {', '.join(sorted(platforms))}) or a platform manifest's digest"
            )
        if platform not in platforms:
            raise ControlError(f"the image index has no platform {platform!r} (it has {', '.join(sorted(platforms))})")
        child = by_digest(repo, platforms[platform])
        if child is None:
            raise ControlError(f"the platform manifest {platforms[platform]} is not in the repository", 404)
        image = child
    elif platform:
        raise ControlError("platform applies to an image index only")
    return backend, repo, image


def _plan_from(body: dict[str, Any], started: bool) -> ScanPlan:
    status = body.get("status", "COMPLETE")
    if status not in SCAN_STATUSES:
        raise ControlError(f"status must be one of {', '.join(SCAN_STATUSES)}")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ControlError("description must be a string")
    if "complete_after_seconds" in body:
        after = body["complete_after_seconds"]
        if after is not None and (isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0):
            raise ControlError("complete_after_seconds must be a number >= 0, or null (never completes)")
        complete_after: Any = None if after is None else float(after)
    else:
        # Configured as already started: the result is there at once. Started later
        # (StartImageScan, scan on push): it takes the usual scan time.
        complete_after = 0.0 if started else CONFIGURED_SCAN_TIME
    lists = {}
    for key in ("findings", "enhancedFindings"):
        value = body.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ControlError(f"{key} must be a list of objects")
        lists[key] = value
    generate = body.get("generate")
    if generate is not None:
        if not isinstance(generate, dict):
            raise ControlError("generate must be an object such as {\"CRITICAL\": 2, \"HIGH\": 10, \"enhanced\": true}")
        for key, value in generate.items():
            if key == "enhanced":
                if not isinstance(value, bool):
                    raise ControlError("generate.enhanced must be true or false")
            elif key not in SEVERITY_ORDER:
                raise ControlError(f"generate keys are severities ({', '.join(SEVERITY_ORDER)}) and enhanced")
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
                raise ControlError(f"generate.{key} must be an integer between 0 and 100000")
    enhanced_mode = bool(lists["enhancedFindings"]) or bool((generate or {}).get("enhanced")) or status == "ACTIVE"
    explicit = bool(lists["findings"] or lists["enhancedFindings"]) or any(
        v for k, v in (generate or {}).items() if k != "enhanced"
    )
    return ScanPlan(
        status=status,
        description=description,
        complete_after=complete_after,
        findings=lists["findings"],
        enhanced_findings=lists["enhancedFindings"],
        generate=generate,
        enhanced_mode=enhanced_mode,
        explicit=explicit,
    )


def _summary(backend: ECRBackend, repo_name: str, scan: ImageScan, now: float) -> dict[str, Any]:
    state = scan.state(now)
    repo = backend.repositories.get(repo_name)
    image = by_digest(repo, scan.digest) if repo is not None else None
    completes = (
        round(STATE.clock.to_wall(scan.started_at + scan.complete_after), 3)
        if scan.started_at is not None and scan.complete_after is not None
        else None
    )
    return {
        "registryId": backend.account_id,
        "region": backend.region_name,
        "repository": repo_name,
        "imageDigest": scan.digest,
        "imageTags": list(image.image_tags) if image is not None else [],
        "started": scan.started_at is not None,
        "status": state[0] if state else None,
        "finalStatus": scan.plan.status,
        "completesAt": completes,
        "findings": len(scan.findings),
        "enhancedFindings": len(scan.enhanced),
        "findingSeverityCounts": dict(scan.counts),
        "configured": scan.configured,
    }


def _all_scans() -> list[tuple[ECRBackend, tuple[str, str], ImageScan]]:
    out = []
    for _account, regions in list(ecr_backends.items()):
        for _region, backend in list(regions.items()):
            for key, scan in list(scan_store(backend).items()):
                out.append((backend, key, scan))
    return out


def handle_control(method: str, route: str, payload: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
    """The /_greenlight/ecr/* control routes: (HTTP status, JSON body)."""
    try:
        with STATE.lock:
            if route == "ecr/scan":
                return _control_scan(method, payload, query)
            if route == "ecr/config":
                return _control_config(method, payload)
    except ControlError as exc:
        return exc.status, {"error": str(exc)}
    return 404, {"error": f"unknown control endpoint /_greenlight/{route}"}


def _control_scan(method: str, payload: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
    now = STATE.clock.now()
    if method == "GET":
        items = [_summary(b, key[0], s, now) for b, key, s in _all_scans()]
        for field_name in ("repository", "imageDigest"):
            if field_name in query:
                items = [i for i in items if i[field_name] in query[field_name]]
        return 200, {"scans": items}
    if method == "DELETE":
        body = payload if isinstance(payload, dict) else {}
        body = {**{k: v[0] for k, v in query.items() if v}, **body}
        if not (body.get("repository") or body.get("repositoryName")):
            for backend, key, _scan in _all_scans():
                scan_store(backend).pop(key, None)
            return 200, {"scans": []}
        if body.get("digest") or body.get("tag") or body.get("imageDigest") or body.get("imageTag"):
            backend, repo, image = _target(body)
            scan_store(backend).pop((repo.name, image.image_digest), None)
        else:
            backend = _backend_for(body)
            name = body.get("repository") or body.get("repositoryName")
            for key in [k for k in scan_store(backend) if k[0] == name]:
                scan_store(backend).pop(key, None)
        return 200, {"scans": [_summary(b, key[0], s, now) for b, key, s in _all_scans()]}
    if method in ("POST", "PUT"):
        items = payload if isinstance(payload, list) else [payload]
        out = []
        for body in items:
            if not isinstance(body, dict):
                raise ControlError("expected a JSON object (or a list of them)")
            started = body.get("started", True)
            if not isinstance(started, bool):
                raise ControlError("started must be true or false")
            backend, repo, image = _target(body)
            if is_index(image):  # pragma: no cover - _target resolves indexes
                raise ControlError("an image index cannot be scanned")
            plan = _plan_from(body, started)
            scan = ImageScan(repo.name, image.image_digest, plan, configured=True)
            scan_store(backend)[(repo.name, image.image_digest)] = scan
            if started:
                scan = start_scan(backend, repo, image, now)
            out.append(_summary(backend, repo.name, scan, now))
        return 200, ({"scans": out} if isinstance(payload, list) else {"scan": out[0]})
    return 405, {"error": "use GET, POST or DELETE"}


def _control_config(method: str, payload: Any) -> tuple[int, Any]:
    if method in ("POST", "PUT"):
        if not isinstance(payload, dict):
            raise ControlError("expected a JSON object")
        if "scan_seconds" in payload:
            value = payload["scan_seconds"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ControlError("scan_seconds must be a number >= 0")
            STATE.ecr_scan_seconds = float(value)
    elif method != "GET":
        return 405, {"error": "use GET or POST"}
    return 200, {"scan_seconds": STATE.ecr_scan_seconds}
