"""A scalable clock: "AWS time" that can run faster than the wall clock.

The emulator schedules every deployment phase in AWS time (seconds since the
epoch, as if the deployment ran at real speed). With a time scale of 60, one
minute of AWS time passes in one real second. The scale can change while the
server runs, so the clock keeps the history of scale changes as segments and
can map an AWS instant back to the wall-clock instant at which it happened;
timestamps in API responses use that wall-clock instant, so they never lie in
the future of the client's own clock.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_right
from dataclasses import dataclass

ENV_TIME_SCALE = "GREENLIGHT_EMULATOR_TIME_SCALE"


def time_scale_from_env(default: float = 1.0) -> float:
    raw = os.environ.get(ENV_TIME_SCALE, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_TIME_SCALE} must be a number, got {raw!r}") from exc
    if not value > 0:
        raise ValueError(f"{ENV_TIME_SCALE} must be greater than 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class _Segment:
    real_start: float
    aws_start: float
    scale: float


class ScaledClock:
    def __init__(self, scale: float = 1.0, wall=time.time) -> None:
        if not scale > 0:
            raise ValueError("time scale must be greater than 0")
        self._wall = wall
        self._lock = threading.Lock()
        now = wall()
        self._segments = [_Segment(now, now, float(scale))]

    @property
    def scale(self) -> float:
        with self._lock:
            return self._segments[-1].scale

    def now(self) -> float:
        """The current AWS time (epoch seconds)."""
        real = self._wall()
        with self._lock:
            seg = self._segments[-1]
        return seg.aws_start + (real - seg.real_start) * seg.scale

    def set_scale(self, scale: float) -> None:
        if not scale > 0:
            raise ValueError("time scale must be greater than 0")
        with self._lock:
            real = self._wall()
            seg = self._segments[-1]
            aws = seg.aws_start + (real - seg.real_start) * seg.scale
            self._segments.append(_Segment(real, aws, float(scale)))

    def to_wall(self, aws_time: float) -> float:
        """The wall-clock instant at which the given AWS instant happened (or will)."""
        with self._lock:
            segments = list(self._segments)
        starts = [s.aws_start for s in segments]
        index = max(0, bisect_right(starts, aws_time) - 1)
        seg = segments[index]
        return seg.real_start + (aws_time - seg.aws_start) / seg.scale
