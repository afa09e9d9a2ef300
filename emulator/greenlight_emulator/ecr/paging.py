"""ECR's paging: maxResults (1-1000) and opaque nextToken values that only page the
listing which issued them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from moto.ecr.exceptions import InvalidParameterException

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000


def max_results(value: Any, default: int = DEFAULT_MAX_RESULTS) -> int:
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


def encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: Any, **expected: Any) -> int:
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


def page_lists(
    lists: dict[str, list[Any]], limit: int, token: Any, **identity: Any
) -> tuple[dict[str, list[Any]], str | None]:
    """One page of every list (same offset for all, as the paginator's shared token expects)."""
    offset = decode_token(token, **identity)
    pages = {name: items[offset : offset + limit] for name, items in lists.items()}
    longest = max((len(items) for items in lists.values()), default=0)
    next_token = encode_token({**identity, "o": offset + limit}) if offset + limit < longest else None
    return pages, next_token
