"""Starts one emulator (a subprocess on a free port, time scale 600: ten AWS
minutes pass in a real second) for the whole test session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

EMULATOR_DIR = Path(__file__).resolve().parents[1]
if str(EMULATOR_DIR) not in sys.path:
    sys.path.insert(0, str(EMULATOR_DIR))

# boto3 needs credentials; the emulator accepts any.
for _key, _value in (
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
):
    os.environ[_key] = _value
for _key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_key, None)

import emulator_helpers as h  # noqa: E402

TIME_SCALE = 600


def start_emulator(*extra: str, scale: float = TIME_SCALE) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EMULATOR_DIR), env.get("PYTHONPATH")]))
    env["GREENLIGHT_EMULATOR_TIME_SCALE"] = str(scale)
    proc = subprocess.Popen(
        [sys.executable, "-m", "greenlight_emulator", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if not line or "listening on" not in line[0]:
        proc.kill()
        raise RuntimeError(f"emulator did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}")
    assert line[0].startswith("greenlight emulator listening on http://127.0.0.1:")
    return proc, line[0].strip().rsplit(" ", 1)[-1]


def stop_emulator(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="session")
def emulator():
    proc, url = start_emulator()
    yield url
    assert stop_emulator(proc) == 0


@pytest.fixture(autouse=True)
def _clean_state(emulator):
    h.control(emulator, "DELETE", "faults")
    h.control(emulator, "POST", "config", {"time_scale": TIME_SCALE})
    yield
    h.control(emulator, "DELETE", "faults")


@pytest.fixture
def aws(emulator):
    return h.Clients(emulator)


@pytest.fixture
def seeded(emulator, request):
    """A factory seeding a fresh cluster/service (unique per call) into the emulator."""
    counter = iter(range(1000))

    def make(**options):
        name = h.unique_name(request.node.name, next(counter))
        return h.seed(emulator, cluster=f"c-{name}", service=f"s-{name}", **options)

    return make
