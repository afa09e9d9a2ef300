"""ECR beyond moto: the response methods and the PutImage patch that put images.py and
scans.py in front of moto's ECR.

- StartImageScan starts a scan: IN_PROGRESS, then (after a scan time in AWS
  time, 20 s by default) the final status. Repositories with scanOnPush (or a
  registry scan-on-push/continuous rule) start one on PutImage. A basic scan
  can be started once per 24 hours per image (LimitExceededException).
- DescribeImageScanFindings answers ScanNotFoundException until a scan was
  started, then the status, findings, enhanced findings and severity counts,
  paged with maxResults (1-1000, default 100) and nextToken (paging.py).
- Results are scripted through POST /_greenlight/ecr/scan (see control_endpoint.py):
  any status of the API, explicit findings, or generated realistic ones
  (findings.py).
- Image digests are the sha256 of the manifest as pushed, as on AWS; image
  indexes and manifest lists are stored as such (their platform manifests must
  exist first), reported with their media type by DescribeImages and returned
  as pushed by BatchGetImage. Scans belong to platform manifests, never to an
  index. DescribeImages and ListImages page with maxResults/nextToken.

moto dispatches an action to the ECRResponse method of the same name in
snake_case, so each call here is a method set on that class: it reads the
request's parameters and hands them to images.py or scans.py.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.exceptions import RepositoryNotFoundException
from moto.ecr.models import ECRBackend, Image, Repository
from moto.ecr.responses import ECRResponse

from ..control import STATE
from . import images, scans
from .paging import max_results

_original: dict[str, Any] = {}
_original_backend: dict[str, Any] = {}


def _repository(self: ECRResponse) -> Repository:
    return self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))


# ----------------------------------------------------------------------
# Response methods
# ----------------------------------------------------------------------
def describe_image_scan_findings(self: ECRResponse) -> ActionResult | str:
    image_id = self._get_param("imageId") or {}
    limit = max_results(self._get_param("maxResults"))
    token = self._get_param("nextToken")
    repo = _repository(self)
    image = images.find_image(repo, image_id)
    result = scans.describe_image_scan_findings(
        self.ecr_backend, repo, image, image_id, limit, token, _original_backend["describe_image_scan_findings"]
    )
    return result if isinstance(result, str) else ActionResult(result)


def start_image_scan(self: ECRResponse) -> ActionResult:
    image_id = self._get_param("imageId") or {}
    repo = _repository(self)
    image = images.find_image(repo, image_id)
    return ActionResult(scans.start_image_scan(self.ecr_backend, repo, image, image_id))


def describe_images(self: ECRResponse) -> ActionResult:
    backend = self.ecr_backend
    image_ids = self._get_param("imageIds")
    token = self._get_param("nextToken")
    limit = images.describe_limit(image_ids, self._get_param("maxResults"), token)
    tag_status = images.tag_status(self._get_param("filter"))
    repo = _repository(self)
    now = STATE.clock.now()

    def detail(image: Image) -> dict[str, Any]:
        return {**images.image_detail(repo, image), **scans.scan_detail(backend, repo, image, now)}

    return ActionResult(images.describe_images(repo, image_ids, limit, token, tag_status, detail))


def list_images(self: ECRResponse) -> ActionResult:
    limit = max_results(self._get_param("maxResults"))
    token = self._get_param("nextToken")
    tag_status = images.tag_status(self._get_param("filter"))
    repo = _repository(self)
    return ActionResult(images.list_images(repo, limit, token, tag_status))


def batch_get_image(self: ECRResponse) -> ActionResult:
    image_ids = self._get_param("imageIds") or []
    images.check_image_ids(image_ids)
    return ActionResult(images.batch_get_image(_repository(self), image_ids))


_METHODS = {
    "describe_image_scan_findings": describe_image_scan_findings,
    "start_image_scan": start_image_scan,
    "describe_images": describe_images,
    "list_images": list_images,
    "batch_get_image": batch_get_image,
}


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
    computed = images.checked_manifest(repo, image_manifest, image_manifest_mediatype, digest)
    existed = images.by_digest(repo, computed) is not None
    image = _original_backend["put_image"](
        self, repository_name, image_manifest, image_tag, image_manifest_mediatype, computed
    )
    if not existed:
        scans.image_pushed(self, repo, image)
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
