"""ECR images as AWS keeps them: manifests stored as pushed (digest = the sha256 of the
manifest), image indexes / manifest lists whose platform manifests must exist first, media
types, sizes and architectures, and the image parts of DescribeImages, ListImages,
BatchGetImage and PutImage. What a scan adds to an image is scans.py's."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.ecr.exceptions import InvalidParameterException
from moto.ecr.models import Image, Repository

from .paging import max_results, page_lists

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class ImageDigestDoesNotMatchException(ServiceException):
    code = "ImageDigestDoesNotMatchException"


class ReferencedImagesNotFoundException(ServiceException):
    code = "ReferencedImagesNotFoundException"


# ----------------------------------------------------------------------
# Manifests
# ----------------------------------------------------------------------
def manifest_digest(manifest: str) -> str:
    """ECR's image digest: the sha256 of the manifest exactly as pushed."""
    return "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def parsed_manifest(image: Image) -> dict[str, Any]:
    """The image's manifest as a JSON object ({} when it is not one)."""
    try:
        value = json.loads(image.image_manifest)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def media_type(image: Image) -> str | None:
    return image.image_manifest_media_type or parsed_manifest(image).get("mediaType")


def is_index(image: Image) -> bool:
    return media_type(image) in INDEX_MEDIA_TYPES or "manifests" in parsed_manifest(image)


def _platform_name(platform: dict[str, Any]) -> str:
    name = f"{platform.get('os', 'linux')}/{platform.get('architecture', 'amd64')}"
    if platform.get("variant"):
        name += f"/{platform['variant']}"
    return name


def index_platforms(image: Image) -> dict[str, str]:
    """{"linux/amd64": digest, ...} of an image index / manifest list."""
    out: dict[str, str] = {}
    for entry in parsed_manifest(image).get("manifests") or []:
        if isinstance(entry, dict) and entry.get("digest") and isinstance(entry.get("platform"), dict):
            out.setdefault(_platform_name(entry["platform"]), entry["digest"])
    return out


def architecture(repo: Repository, digest: str) -> str:
    """The architecture an index of the repository gives the manifest with this digest (amd64)."""
    for other in repo.images:
        if is_index(other):
            for entry in parsed_manifest(other).get("manifests") or []:
                if isinstance(entry, dict) and entry.get("digest") == digest:
                    return str((entry.get("platform") or {}).get("architecture") or "amd64")
    return "amd64"


def image_size(repo: Repository, image: Image) -> int | None:
    parsed = parsed_manifest(image)
    if is_index(image):
        # For a manifest list ECR reports the largest of the images it references.
        sizes = []
        for entry in parsed.get("manifests") or []:
            child = by_digest(repo, entry.get("digest")) if isinstance(entry, dict) else None
            size = image_size(repo, child) if child is not None else None
            if size is not None:
                sizes.append(size)
        return max(sizes) if sizes else None
    layers = parsed.get("layers")
    if isinstance(layers, list):
        return sum(int(layer.get("size") or 0) for layer in layers if isinstance(layer, dict))
    return None


# ----------------------------------------------------------------------
# Finding an image
# ----------------------------------------------------------------------
def by_digest(repo: Repository, digest: str | None) -> Image | None:
    if not digest:
        return None
    return next((i for i in repo.images if i.image_digest == digest), None)


def find_image(repo: Repository, image_id: Any) -> Image:
    """The image an imageId names; ImageNotFoundException (moto's) when there is none."""
    if not isinstance(image_id, dict) or not (image_id.get("imageTag") or image_id.get("imageDigest")):
        raise InvalidParameterException(
            "Invalid parameter at 'imageId' failed to satisfy constraint: 'imageDigest and imageTag cannot both be null'"
        )
    return repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))


def echo_image_id(image: Image, image_id: dict[str, Any]) -> dict[str, str]:
    """The imageId an answer repeats: the digest, and the tag when the request named one."""
    out = {"imageDigest": image.image_digest}
    if image_id.get("imageTag"):
        out["imageTag"] = image_id["imageTag"]
    return out


# ----------------------------------------------------------------------
# DescribeImages, ListImages
# ----------------------------------------------------------------------
def tag_status(filter_param: Any) -> str:
    """The filter's tagStatus (ANY when not given)."""
    status = (filter_param or {}).get("tagStatus") or "ANY"
    if status not in ("TAGGED", "UNTAGGED", "ANY"):
        raise InvalidParameterException(
            "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: "
            "'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'"
        )
    return status


def _filtered(images: list[Image], status: str) -> list[Image]:
    if status == "TAGGED":
        return [i for i in images if i.image_tags]
    if status == "UNTAGGED":
        return [i for i in images if not i.image_tags]
    return images


def describe_limit(image_ids: Any, max_results_param: Any, token: Any) -> int:
    """DescribeImages' page size; maxResults and nextToken do not go with imageIds."""
    if image_ids and (max_results_param is not None or token is not None):
        raise InvalidParameterException(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: "
            "'maxResults and nextToken cannot be used together with imageIds'"
        )
    return max_results(max_results_param)


def image_detail(repo: Repository, image: Image) -> dict[str, Any]:
    """An ImageDetail without what a scan adds."""
    detail: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageDigest": image.image_digest,
        "imagePushedAt": image.image_pushed_at,
    }
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)
    size = image_size(repo, image)
    if size is not None:
        detail["imageSizeInBytes"] = size
    kind = media_type(image)
    if kind:
        detail["imageManifestMediaType"] = kind
    config = parsed_manifest(image).get("config")
    if isinstance(config, dict) and config.get("mediaType"):
        detail["artifactMediaType"] = config["mediaType"]
    return detail


def describe_images(
    repo: Repository,
    image_ids: Any,
    limit: int,
    token: Any,
    status: str,
    detail: Callable[[Image], dict[str, Any]],
) -> dict[str, Any]:
    """DescribeImages' answer: the named images, or a page of those with the tag status;
    detail(image) is each image's ImageDetail."""
    if image_ids:
        found: list[Image] = []
        for image_id in image_ids:
            image = find_image(repo, image_id)
            if image not in found:
                found.append(image)
        return {"imageDetails": [detail(i) for i in found]}
    images = _filtered(list(repo.images), status)
    pages, next_token = page_lists({"images": images}, limit, token, r=repo.name, k="describe")
    result: dict[str, Any] = {"imageDetails": [detail(i) for i in pages["images"]]}
    if next_token:
        result["nextToken"] = next_token
    return result


def list_images(repo: Repository, limit: int, token: Any, status: str) -> dict[str, Any]:
    ids: list[dict[str, str]] = []
    for image in _filtered(list(repo.images), status):
        if image.image_tags:
            ids += [{"imageDigest": image.image_digest, "imageTag": tag} for tag in image.image_tags]
        else:
            ids.append({"imageDigest": image.image_digest})
    pages, next_token = page_lists({"ids": ids}, limit, token, r=repo.name, k="list")
    result: dict[str, Any] = {"imageIds": pages["ids"]}
    if next_token:
        result["nextToken"] = next_token
    return result


# ----------------------------------------------------------------------
# BatchGetImage
# ----------------------------------------------------------------------
def check_image_ids(image_ids: Any) -> None:
    """BatchGetImage needs at least one imageId (checked before the repository is looked up)."""
    if not image_ids:
        raise InvalidParameterException(
            "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'"
        )


def batch_get_image(repo: Repository, image_ids: list[Any]) -> dict[str, Any]:
    """Each manifest as it was pushed (an image index stays an index), with its media type."""
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
            (i for i in repo.images if (not tag or tag in i.image_tags) and (not digest or i.image_digest == digest)),
            None,
        )
        if image is None:
            if tag and by_digest(repo, digest) is not None:
                failures.append(
                    {
                        "imageId": dict(image_id),
                        "failureCode": "ImageTagDoesNotMatchDigest",
                        "failureReason": "Invalid request parameters: given tag does not match given digest",
                    }
                )
            else:
                failures.append(
                    {
                        "imageId": dict(image_id),
                        "failureCode": "ImageNotFound",
                        "failureReason": "Requested image not found",
                    }
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
    return {"images": images, "failures": failures}


# ----------------------------------------------------------------------
# PutImage
# ----------------------------------------------------------------------
def checked_manifest(repo: Repository, image_manifest: Any, manifest_media_type: str | None, digest: str | None) -> str:
    """The digest of a manifest PutImage may store in the repository, or AWS's error: not
    JSON, an imageDigest that is not the manifest's, an index whose platform manifests are
    not in the repository."""
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
    kind = manifest_media_type or (parsed.get("mediaType") if isinstance(parsed, dict) else None)
    if isinstance(parsed, dict) and (kind in INDEX_MEDIA_TYPES or "manifests" in parsed):
        referenced = [m.get("digest") for m in parsed.get("manifests") or [] if isinstance(m, dict)]
        missing = [d for d in referenced if by_digest(repo, d) is None]
        if missing:
            raise ReferencedImagesNotFoundException(
                "The manifest list is referencing images that do not exist in the repository: " + ", ".join(missing)
            )
    return computed
