"""Benchmarks greenlight against the bundled emulator and prints the figures.

Run through ./scripts/bench, which installs the emulator and builds the release binary first.

What it measures, per scenario (a CodeDeploy canary, an ECS rolling update, an ECS-native
canary), with greenlight's production poll intervals and the emulator's clock running
`--time-scale` times faster than real time:

* detection latency: from the moment the emulator made a state change visible (its
  /_greenlight/transitions log, wall clock) to the moment greenlight printed the matching log
  line (read from its stdout as it came, wall clock);
* AWS calls per minute while waiting: every call the emulator received between the start of the
  deployment and its end, per minute of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
BINARY = ROOT / "target" / "release" / "greenlight"


class Emulator:
    def __init__(self, time_scale: float) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "emulator"), GREENLIGHT_EMULATOR_TIME_SCALE=str(time_scale))
        self.proc = subprocess.Popen(
            [str(PYTHON), "-m", "greenlight_emulator", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("greenlight emulator listening on "):
                self.endpoint = line.split(" on ", 1)[1].strip()
                break
        else:
            raise SystemExit("the emulator exited before it was ready")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout or []], daemon=True).start()

    def get(self, path: str) -> object:
        with urllib.request.urlopen(self.endpoint + path) as resp:
            return json.load(resp)

    def post(self, path: str, body: object) -> object:
        req = urllib.request.Request(
            self.endpoint + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)

    def seed(self, *args: str) -> dict:
        out = subprocess.run(
            [str(PYTHON), "-m", "greenlight_emulator.seed", "--endpoint", self.endpoint, *args],
            env=dict(os.environ, PYTHONPATH=str(ROOT / "emulator")),
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Run:
    lines: list[tuple[float, str]] = field(default_factory=list)
    exit_code: int = -1
    started: float = 0.0
    ended: float = 0.0


def run_greenlight(endpoint: str, args: list[str], env_extra: dict[str, str]) -> Run:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
        **env_extra,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    run = Run(started=time.time())
    proc = subprocess.Popen([str(BINARY), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        run.lines.append((time.time(), line.rstrip("\n")))
    run.exit_code = proc.wait()
    run.ended = time.time()
    return run


# How a transition in the emulator's log shows in greenlight's log.
MATCHERS: list[tuple[re.Pattern[str], callable]] = [
    (re.compile(r"^status=(\w+)$"), lambda m: f"deployment status: {m.group(1)}"),
    (re.compile(r"^lifecycleEvent (\w+)=(\w+)$"), lambda m: f"  {m.group(1)}: {m.group(2)}"),
    (re.compile(r"^trafficWeight=(\d+(?:\.\d+)?)$"), lambda m: f"traffic: green {float(m.group(1)):.0f}%"),
    (re.compile(r"^rolloutState=(\w+)$"), lambda m: f"deployment status: {m.group(1)}"),
    (re.compile(r"^lifecycleStage=(\w+)$"), lambda m: f"  {m.group(1)}: InProgress"),
]


def latencies(transitions: list[dict], run: Run) -> list[tuple[str, float]]:
    """(transition, seconds from the change to greenlight's line) for every change it logged."""
    out = []
    used: set[int] = set()
    for t in transitions:
        at = float(t["at"])
        if at < run.started:
            continue
        for pattern, expected in MATCHERS:
            m = pattern.match(t.get("what", ""))
            if not m:
                continue
            want = expected(m)
            for i, (seen, line) in enumerate(run.lines):
                if i not in used and seen >= at - 0.05 and want in line:
                    used.add(i)
                    out.append((t["what"], max(0.0, seen - at)))
                    break
            break
    return out


def calls_per_minute(calls: list[dict], start: float, end: float) -> float:
    n = sum(1 for c in calls if start <= float(c.get("ts", 0)) <= end)
    return n / max((end - start) / 60.0, 1e-9)


def scenario(name: str, seed_args: list[str], deploy_args: list[str], scale: float, env_extra: dict[str, str]) -> dict:
    emu = Emulator(scale)
    try:
        seed = emu.seed("--cluster", "bench", "--service", "web", "--family", "web", "--repository", "web", *seed_args)
        with tempfile.TemporaryDirectory() as tmp:
            td = Path(tmp) / "taskdef.json"
            td.write_text((ROOT / "tests" / "fixtures" / "taskdef.json").read_text())
            run = run_greenlight(
                emu.endpoint,
                ["deploy", "--cluster", "bench", "--service", "web", "--task-definition", str(td),
                 "--container-name", "web", "--image", seed["image"], "--scan-gate", "false", *deploy_args],
                env_extra,
            )
        transitions = emu.get("/_greenlight/transitions")
        if isinstance(transitions, dict):
            transitions = transitions.get("transitions", [])
        calls = emu.get("/_greenlight/calls")
        calls = calls.get("calls", []) if isinstance(calls, dict) else calls
    finally:
        emu.stop()
    if run.exit_code != 0:
        print("\n".join(line for _, line in run.lines), file=sys.stderr)
        raise SystemExit(f"{name}: greenlight exited {run.exit_code}")
    # Waiting starts once the deployment exists: the first line after "created deployment".
    waiting_from = next((t for t, l in run.lines if "created deployment" in l), run.started)
    lat = latencies(transitions, run)
    values = [s for _, s in lat]
    return {
        "scenario": name,
        "wall_s": round(run.ended - run.started, 2),
        "changes_matched": len(values),
        "latency_median_s": round(statistics.median(values), 2) if values else None,
        "latency_max_s": round(max(values), 2) if values else None,
        "calls_per_min_waiting": round(calls_per_minute(calls, waiting_from, run.ended), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=10.0, help="emulator clock speed (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    # Production poll intervals unless overridden: the figures describe what users get.
    env_extra = {k: v for k, v in os.environ.items() if k.startswith("GREENLIGHT_POLL_")}
    results = [
        scenario(
            "CodeDeploy canary 10% / 5 min",
            [],
            ["--codedeploy-deployment-config", "CodeDeployDefault.ECSCanary10Percent5Minutes"],
            args.time_scale,
            env_extra,
        ),
        scenario("ECS rolling update", ["--controller", "ECS"], [], args.time_scale, env_extra),
        scenario(
            "ECS-native canary",
            ["--controller", "ECS", "--strategy", "CANARY", "--canary-percent", "10", "--canary-bake-minutes", "2"],
            [],
            args.time_scale,
            env_extra,
        ),
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"time scale {args.time_scale:g}x, poll interval {env_extra or 'production (2 s after a change, backing off to 15 s)'}")
    print(f"{'scenario':34} {'wall':>7} {'changes':>8} {'latency p50':>12} {'latency max':>12} {'calls/min':>10}")
    for r in results:
        print(
            f"{r['scenario']:34} {r['wall_s']:>6}s {r['changes_matched']:>8} "
            f"{str(r['latency_median_s']) + ' s':>12} {str(r['latency_max_s']) + ' s':>12} {r['calls_per_min_waiting']:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
