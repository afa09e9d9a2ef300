"""Added network latency (--latency-ms, /_greenlight/latency), the call log's `end` and the
round trips it lets one count (/_greenlight/round-trips), against a real emulator started with
--latency-ms 100."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import emulator_helpers as h
import pytest
from conftest import EMULATOR_DIR, start_emulator, stop_emulator
from greenlight_emulator.control import MAX_LATENCY_MS, latency_ms_from_env

LATENCY_MS = 100
ECS = "AmazonEC2ContainerServiceV20141113"


@pytest.fixture(scope="module")
def slow():
    """An emulator of its own (its latency and call log are not shared with other tests)."""
    proc, url = start_emulator("--latency-ms", str(LATENCY_MS))
    yield url
    assert stop_emulator(proc) == 0


@pytest.fixture(autouse=True)
def _fresh_log(slow):
    assert h.control(slow, "POST", "latency", {"latency_ms": LATENCY_MS})[0] == 200
    h.control(slow, "DELETE", "calls")
    h.control(slow, "DELETE", "faults")
    yield


def list_clusters(url: str) -> int:
    status, _body, _headers = h.raw_json_call(url, "ecs", f"{ECS}.ListClusters", {})
    return status


def calls(url: str) -> list[dict]:
    return h.control(url, "GET", "calls")[1]["calls"]


def test_a_call_takes_at_least_the_latency(slow):
    started = time.monotonic()
    assert list_clusters(slow) == 200
    assert time.monotonic() - started >= LATENCY_MS / 1000
    [entry] = calls(slow)
    assert entry["action"] == "ListClusters" and entry["status"] == 200
    # ts is the arrival, before the trip; end is when the answer was ready.
    assert entry["end"] - entry["ts"] >= LATENCY_MS / 1000


def test_concurrent_calls_overlap(slow):
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def one() -> None:
        barrier.wait()
        statuses.append(list_clusters(slow))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert statuses == [200, 200]
    entries = calls(slow)
    assert len(entries) == 2 and all(e["end"] - e["ts"] >= LATENCY_MS / 1000 for e in entries)
    # One after the other they would take 0.2 s; waiting under the emulator's lock would
    # serialise them.
    assert max(e["end"] for e in entries) - min(e["ts"] for e in entries) < 0.19
    assert h.control(slow, "GET", "round-trips")[1] == {"round_trips": 1, "calls": 2}


def test_fault_answers_are_delayed_and_end_too(slow):
    assert h.control(slow, "POST", "faults", {"kind": "throttle", "action": "ListClusters"})[0] == 200
    assert list_clusters(slow) == 400
    [entry] = calls(slow)
    assert entry["status"] == 400 and entry["end"] - entry["ts"] >= LATENCY_MS / 1000


def test_control_endpoints_are_not_delayed(slow):
    started = time.monotonic()
    for _ in range(3):
        assert h.control(slow, "GET", "latency") == (200, {"latency_ms": LATENCY_MS})
    assert time.monotonic() - started < 3 * LATENCY_MS / 1000


def test_latency_endpoint_sets_and_validates(slow):
    assert h.control(slow, "GET", "latency") == (200, {"latency_ms": LATENCY_MS})
    assert h.control(slow, "PUT", "latency", {"latency_ms": 0}) == (200, {"latency_ms": 0})
    started = time.monotonic()
    assert list_clusters(slow) == 200
    assert time.monotonic() - started < LATENCY_MS / 1000
    assert h.control(slow, "POST", "latency", {"latency_ms": MAX_LATENCY_MS}) == (200, {"latency_ms": MAX_LATENCY_MS})
    for bad in (-1, MAX_LATENCY_MS + 1, 1.5, "100", True, None):
        status, body = h.control(slow, "PUT", "latency", {"latency_ms": bad})
        assert status == 400 and "latency_ms" in body["error"], bad
    assert h.control(slow, "POST", "latency", {})[0] == 400
    assert h.control(slow, "POST", "latency", [5])[0] == 400
    assert h.control(slow, "DELETE", "latency")[0] == 405
    assert h.control(slow, "GET", "latency") == (200, {"latency_ms": MAX_LATENCY_MS})
    # Reset puts back the start-up value.
    assert h.control(slow, "POST", "reset")[0] == 200
    assert h.control(slow, "GET", "latency") == (200, {"latency_ms": LATENCY_MS})


def test_round_trips_of_chained_calls(slow):
    targets = ("ListClusters", "DescribeClusters", "ListTaskDefinitions")
    for target in targets:
        status, _body, _headers = h.raw_json_call(slow, "ecs", f"{ECS}.{target}", {})
        assert status == 200
    entries = calls(slow)
    assert [e["action"] for e in entries] == list(targets)
    assert all(e["end"] >= e["ts"] for e in entries)
    assert h.control(slow, "GET", "round-trips") == (200, {"round_trips": 3, "calls": 3})
    assert h.control(slow, "GET", "round-trips?until=DescribeClusters") == (200, {"round_trips": 2, "calls": 2})
    assert h.control(slow, "GET", "round-trips?until=ecs.ListClusters") == (200, {"round_trips": 1, "calls": 1})
    assert h.control(slow, "POST", "round-trips")[0] == 405


def test_latency_from_the_environment(monkeypatch):
    monkeypatch.delenv("GREENLIGHT_EMULATOR_LATENCY_MS", raising=False)
    assert latency_ms_from_env() == 0
    monkeypatch.setenv("GREENLIGHT_EMULATOR_LATENCY_MS", "250")
    assert latency_ms_from_env() == 250
    for bad in ("-1", "60001", "0.5", "slow"):
        monkeypatch.setenv("GREENLIGHT_EMULATOR_LATENCY_MS", bad)
        with pytest.raises(ValueError, match="GREENLIGHT_EMULATOR_LATENCY_MS"):
            latency_ms_from_env()


@pytest.mark.parametrize(
    ("args", "env_value", "message"),
    [
        (["--latency-ms", "-5"], None, "--latency-ms"),
        (["--latency-ms", "60001"], None, "--latency-ms"),
        ([], "soon", "GREENLIGHT_EMULATOR_LATENCY_MS"),
    ],
)
def test_a_bad_latency_stops_the_start_up(args, env_value, message):
    env = {"PYTHONPATH": str(EMULATOR_DIR), "PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["GREENLIGHT_EMULATOR_LATENCY_MS"] = env_value
    result = subprocess.run(
        [sys.executable, "-m", "greenlight_emulator", "--port", "0", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""
