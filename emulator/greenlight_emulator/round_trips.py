"""How many round trips a client made one after another, read from the call log: a client
that waits for each answer before its next request pays the network latency once per call,
one that sends calls concurrently pays it once for all of them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def _matches(call: Mapping[str, Any], until: str) -> bool:
    return call.get("action") == until or f"{call.get('service')}.{call.get('action')}" == until


def calls_until(calls: Iterable[Mapping[str, Any]], until: str | None = None) -> list[Mapping[str, Any]]:
    """The calls in order of arrival (`ts`), up to and including the first whose action or
    "service.action" is until; all of them when until is None or no call matches."""
    ordered = sorted(calls, key=lambda c: c["ts"])
    if until is None:
        return ordered
    for index, call in enumerate(ordered):
        if _matches(call, until):
            return ordered[: index + 1]
    return ordered


def sequential_round_trips(calls: Iterable[Mapping[str, Any]], until: str | None = None) -> int:
    """The length of the longest chain of calls in which each call arrived (`ts`) after the
    previous one had its answer (`end`), among the calls up to until (see calls_until).
    Calls that overlap count once: they are one level of the chain. A call without `end`
    (not answered yet) can end a chain but not continue one."""
    considered = calls_until(calls, until)
    # depth[i]: the longest chain ending with call i. Calls are taken in order of arrival;
    # every call that ended before call i arrived also arrived before it, so its depth is known.
    by_end = sorted(
        range(len(considered)),
        key=lambda i: considered[i].get("end") if considered[i].get("end") is not None else math.inf,
    )
    depth = [0] * len(considered)
    deepest_ended = 0  # the longest chain among the calls that ended before the current arrival
    next_ended = 0
    for i, call in enumerate(considered):
        while next_ended < len(by_end):
            j = by_end[next_ended]
            end = considered[j].get("end")
            if end is None or not end < call["ts"]:
                break
            deepest_ended = max(deepest_ended, depth[j])
            next_ended += 1
        depth[i] = deepest_ended + 1
    return max(depth, default=0)
