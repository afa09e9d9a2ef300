"""Benchmarks greenlight against the bundled emulator and prints the figures.

Run through ./scripts/bench, which installs the emulator and builds the release binary first.

Speed and size (median of --runs runs each):

* start-up: `greenlight --version`, process start to exit;
* start → CreateDeployment: process start to the moment the emulator received CreateDeployment
  (its call log), for a deploy with the gate off (`scan-gate: false`, `wait-until: none`);
* a full CodeDeploy canary (10%, then the rest after 5 AWS minutes) at time scale 30, with the
  demo's poll interval (250 ms after a change, backing off to 1 s);
* peak memory (max RSS of the whole process, from wait4) during that canary;
* the same canary for 1 and for 10 services in one run (`config`).

Watching (one run per scenario: a CodeDeploy canary, an ECS rolling update, an ECS-native
canary), with greenlight's production poll intervals and the emulator's clock running
`--time-scale` times faster than real time:

* detection latency: from the moment the emulator made a state change visible (its
  /_greenlight/transitions log, wall clock) to the moment greenlight printed the matching log
  line (read from its stdout as it came, wall clock);
* AWS calls per minute while waiting: every call the emulator received between the start of the
  deployment and its end, per minute of wall time.
Adversity (`--suite adversity`; one run each, real time, with production poll intervals):

* a frozen endpoint (every CodeDeploy request accepted and never answered) during the watch with
  `wait-for-minutes: 1`: process start to exit, and the exit code; also with only the reads
  frozen, so the stop is answered;
* a dead endpoint (connection refused): start to exit;
* SIGTERM in each phase (a hanging read before any write, the scan wait, after StartImageScan,
  while registering, while traffic shifts): signal to exit;
* a GitHub that hangs, rate-limits (429, `retry-after: 60`), fails (502) or resets connections:
  the step's wall time minus that of a healthy GitHub, with the default reporting budget;
* the secret corpus size (tests/fixtures/secrets.txt, not-secrets.txt).

Round trips (`--suite roundtrips`; the emulator's clock at time scale 600, each AWS request
delayed by the emulator's `--latency-ms`, so every call made after the previous one's answer
costs that latency once):

* for 0, 50 and 150 ms per request (median of --runs runs; --slow-runs at 150 ms), a deploy with
  `wait-until: none` of a CodeDeploy blue/green service with the gate off, the same with the gate
  on and a completed scan with nothing above the threshold, and an ECS rolling service with the
  gate off: process start to the emulator's arrival of CreateDeployment (or UpdateService), the
  sequential round trips up to and including it (/_greenlight/round-trips), the AWS calls after
  it until the process exited, and the process wall time;
* `plan` as the action on a pull request (one run, latency 0, the gate on), against a local
  GitHub that answers the reporter's requests: the wall time, and each GitHub request with its
  arrival after the start;
* peak memory (max RSS) of the CodeDeploy deploy with the gate off at latency 0;
* 10 services in one run (`config`) against one, gate off, `wait-until: none`, latency 50 ms:
  the wall-time ratio.
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
# The binary measured unless --binary says otherwise: $GREENLIGHT_BENCH_BINARY, else the release build.
BINARY = Path(os.environ.get("GREENLIGHT_BENCH_BINARY") or ROOT / "target" / "release" / "greenlight")


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


DEMO_POLL = {"GREENLIGHT_POLL_MIN_MS": "250", "GREENLIGHT_POLL_MAX_MS": "1000"}


def aws_env(endpoint: str) -> dict[str, str]:
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=endpoint,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    return env


def timed(args: list[str], env: dict[str, str], rss: bool = True) -> tuple[float, float, int, str]:
    """(wall seconds, start time, peak RSS in KiB, stdout) of one greenlight run.

    The peak RSS comes from GNU time's %M: a child's ru_maxrss as Python's wait4 sees it also
    counts the moments before exec, when the child is still a copy of this Python process.
    """
    with tempfile.NamedTemporaryFile("r") as rss_file:
        wrapper = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] if rss and Path("/usr/bin/time").exists() else []
        start = time.time()
        proc = subprocess.run([*wrapper, str(BINARY), *args], env=env, capture_output=True)
        wall = time.time() - start
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"greenlight {' '.join(args[:1])} exited {proc.returncode}:\n{out}")
        text = rss_file.read().strip().splitlines()
        peak = int(text[-1]) if wrapper and text and text[-1].isdigit() else -1
    return wall, start, peak, out


def wait_idle(emu: Emulator, timeout: float = 30.0) -> None:
    """Until no CodeDeploy deployment is in flight, so the next run is not refused."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        deployments = emu.get("/_greenlight/deployments")
        items = deployments.get("deployments", []) if isinstance(deployments, dict) else deployments
        if all(d.get("status") in ("Succeeded", "Failed", "Stopped") for d in items):
            return
        time.sleep(0.1)
    raise SystemExit("a deployment did not end in time")


def service_taskdef(tmp: Path, td: Path, service: str, container: str) -> Path:
    """td with the service's family and container name (the seeded load balancer's)."""
    doc = json.loads(td.read_text())
    doc["family"] = service
    doc["containerDefinitions"][0]["name"] = container
    # The log group the seed creates for the family: verify checks that it exists.
    doc["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] = f"/ecs/{service}"
    own = tmp / f"{service}.json"
    own.write_text(json.dumps(doc))
    return own


def fleet_config(emu: Emulator, tmp: Path, td: Path, names: list[str]) -> Path:
    """Seeds a CodeDeploy service per name in cluster bench and writes a `config` file that
    deploys them all, each with its own task definition made from td."""
    entries = []
    for name in names:
        seed = emu.seed("--cluster", "bench", "--service", name, "--family", name, "--repository", name)
        own = service_taskdef(tmp, td, name, seed["containerName"])
        entries.append(
            f"  - service: {name}\n    task-definition: {own}\n"
            f"    container-name: {seed['containerName']}\n    image: {seed['image']}\n"
        )
    config = tmp / f"services-{len(names)}.yml"
    config.write_text("services:\n" + "".join(entries))
    return config


def speed(runs: int) -> dict:
    figures: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        starts = []
        for _ in range(runs):
            t0 = time.time()
            subprocess.run([str(BINARY), "--version"], check=True, capture_output=True)
            starts.append(time.time() - t0)
        figures["version_ms"] = round(statistics.median(starts) * 1000, 1)
        figures["binary_bytes"] = BINARY.stat().st_size

        td = Path(tmp) / "taskdef.json"
        td.write_text((ROOT / "tests" / "fixtures" / "taskdef.json").read_text())

        # start → CreateDeployment, all-at-once so each deployment ends before the next run.
        emu = Emulator(600.0)
        try:
            seed = emu.seed("--cluster", "bench", "--service", "web", "--family", "web", "--repository", "web")
            env = aws_env(emu.endpoint)
            to_create = []
            for _ in range(runs):
                wait_idle(emu)
                urllib.request.urlopen(urllib.request.Request(emu.endpoint + "/_greenlight/calls", method="DELETE"))
                _, started, _, _ = timed(
                    ["deploy", "--cluster", "bench", "--service", "web", "--task-definition", str(td),
                     "--container-name", "web", "--image", seed["image"], "--scan-gate", "false",
                     "--wait-until", "none", "--force-new-deployment", "true",
                     "--codedeploy-deployment-config", "CodeDeployDefault.ECSAllAtOnce"],
                    env,
                    rss=False,
                )
                calls = emu.get("/_greenlight/calls")["calls"]
                created = next(float(c["ts"]) for c in calls if c.get("action") == "CreateDeployment")
                to_create.append(created - started)
            figures["start_to_create_ms"] = round(statistics.median(to_create) * 1000, 1)
        finally:
            emu.stop()

        # A full canary at time scale 30, one service and ten, with the demo's poll interval.
        env_poll = DEMO_POLL
        for count in (1, 10):
            walls, rss = [], []
            for _ in range(runs if count == 1 else max(2, runs // 2)):
                emu = Emulator(30.0)
                try:
                    config = fleet_config(emu, Path(tmp), td, [f"svc{i}" for i in range(count)])
                    env = dict(aws_env(emu.endpoint), **env_poll)
                    wall, _, peak, _ = timed(
                        ["deploy", "--cluster", "bench", "--config", str(config), "--scan-gate", "false",
                         "--codedeploy-deployment-config", "CodeDeployDefault.ECSCanary10Percent5Minutes"],
                        env,
                    )
                    walls.append(wall)
                    rss.append(peak)
                finally:
                    emu.stop()
            figures[f"canary_{count}_s"] = round(statistics.median(walls), 2)
            figures[f"canary_{count}_rss_kib"] = int(statistics.median(rss))
    figures["ten_vs_one"] = round(figures["canary_10_s"] / figures["canary_1_s"], 2)
    return figures


def fault(emu: Emulator, body: dict) -> None:
    emu.post("/_greenlight/faults", body)


def clear_faults(emu: Emulator) -> None:
    urllib.request.urlopen(urllib.request.Request(emu.endpoint + "/_greenlight/faults", method="DELETE"))


def calls_seen(emu: Emulator) -> list[str]:
    return [f"{c.get('service')}:{c.get('action')}" for c in emu.get("/_greenlight/calls")["calls"]]


class Background:
    """greenlight running with its stdout read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.started = time.time()
        self.proc = subprocess.Popen(
            [str(BINARY), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pred, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while not pred():
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("bench: the awaited moment never came:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.01)

    def wait_for_line(self, text: str, timeout: float = 120.0) -> None:
        self.wait_for(lambda: any(text in line for line in self.lines), timeout)

    def finish(self, timeout: float = 600.0) -> tuple[int, float]:
        code = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code, time.time()


def deploy_args(seed: dict, td: Path, *extra: str) -> list[str]:
    return ["deploy", "--cluster", "bench", "--service", "web", "--task-definition", str(td),
            "--container-name", "web", "--image", seed["image"], *extra]


class FakeGitHub:
    """A GitHub API that answers every request in one bad way (or well, for the baseline)."""

    def __init__(self, mode: str) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                if mode == "hang":
                    time.sleep(600)
                    return
                if mode == "reset":
                    self.connection.shutdown(2)
                    self.close_connection = True
                    return
                status, headers, body = {
                    "healthy": (200, {}, b'{"id": 1, "number": 5, "html_url": "https://github.test/c/1"}'),
                    "rate-limited": (429, {"retry-after": "60"}, b'{"message": "slow down"}'),
                    "failing": (502, {}, b"bad gateway"),
                }[mode]
                if mode == "healthy" and self.command == "GET":
                    body = b"[]"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def adversity() -> dict:
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        td = Path(tmp) / "taskdef.json"
        td.write_text((ROOT / "tests" / "fixtures" / "taskdef.json").read_text())

        def fresh(scale: float = 60.0, *seed_args: str) -> tuple[Emulator, dict, dict[str, str]]:
            emu = Emulator(scale)
            seed = emu.seed("--cluster", "bench", "--service", "web", "--family", "web", "--repository", "web",
                            *seed_args)
            urllib.request.urlopen(urllib.request.Request(emu.endpoint + "/_greenlight/calls", method="DELETE"))
            return emu, seed, aws_env(emu.endpoint)

        # Frozen endpoint during the watch, wait-for-minutes 1: everything frozen, then reads only.
        for name, actions in (("frozen_all", ["*"]),
                              ("frozen_reads", ["GetDeployment", "BatchGetDeploymentTargets", "ListDeploymentTargets"])):
            emu, seed, env = fresh(60.0)
            try:
                fault(emu, {"kind": "never_ready"})
                run = Background(deploy_args(seed, td, "--scan-gate", "false", "--wait-for-minutes", "1"), env)
                run.wait_for_line("created deployment")
                for action in actions:
                    fault(emu, {"kind": "hang", "action": action, "service": "codedeploy"})
                if name == "frozen_reads":
                    run.wait_for(lambda: "codedeploy:StopDeployment" in calls_seen(emu), 120)
                    clear_faults(emu)
                code, ended = run.finish()
                figures[f"{name}_s"] = round(ended - run.started, 1)
                figures[f"{name}_exit"] = code
            finally:
                emu.stop()

        # A dead endpoint: nothing listens.
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = aws_env(f"http://127.0.0.1:{port}")
        start = time.time()
        code = subprocess.run([str(BINARY), *deploy_args({"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"}, td)],
                              env=env, capture_output=True).returncode
        figures["dead_endpoint_s"] = round(time.time() - start, 1)
        figures["dead_endpoint_exit"] = code

        # SIGTERM in each phase: the moment is a call reaching the emulator or a log line.
        phases = [
            ("a read hangs", [], {"kind": "hang", "action": "DescribeServices", "service": "ecs"}, None, "ecs:DescribeServices", []),
            ("scan wait", ["--scan", "in-progress"], None, None, "ecr:DescribeImageScanFindings", []),
            ("scan started", ["--scan", "none"], None, {"scan_seconds": 100000}, "ecr:StartImageScan", []),
            ("registering", [], {"kind": "hang", "action": "RegisterTaskDefinition", "seconds": 1.0}, None,
             "ecs:RegisterTaskDefinition", []),
            ("traffic shifting", [], None, None, "line:traffic: green 10%",
             ["--codedeploy-deployment-config", "CodeDeployDefault.ECSCanary10Percent5Minutes"]),
        ]
        sigterm: dict[str, dict] = {}
        for label, seed_args, flt, ecr_config, moment, extra in phases:
            emu, seed, env = fresh(10.0, *seed_args)
            try:
                if flt:
                    fault(emu, flt)
                if ecr_config:
                    emu.post("/_greenlight/ecr/config", ecr_config)
                run = Background(deploy_args(seed, td, *extra), env)
                if moment.startswith("line:"):
                    run.wait_for_line(moment[5:])
                else:
                    run.wait_for(lambda: moment in calls_seen(emu), 60)
                at = time.time()
                run.proc.terminate()
                code, ended = run.finish(timeout=300)
                sigterm[label] = {"exit": code, "s": round(ended - at, 2)}
            finally:
                emu.stop()
        figures["sigterm"] = sigterm

        # GitHub failure modes, as a workflow on a pull request with the default budget.
        event = Path(tmp) / "event.json"
        event.write_text(json.dumps({"pull_request": {"number": 5, "head": {"sha": "abc", "repo": {
            "full_name": "acme/shop", "fork": False}}}}))
        github: dict[str, float] = {}
        for mode in ("healthy", "hang", "rate-limited", "failing", "reset"):
            emu, seed, env = fresh(60.0)
            gh = FakeGitHub(mode)
            try:
                env = dict(env, GITHUB_ACTIONS="true", GITHUB_WORKSPACE=tmp, GITHUB_STEP_SUMMARY=str(Path(tmp) / "summary.md"),
                           GITHUB_OUTPUT=str(Path(tmp) / "out"), GITHUB_EVENT_PATH=str(event),
                           GITHUB_REPOSITORY="acme/shop", GITHUB_SHA="abc", GITHUB_API_URL=gh.url,
                           **{"INPUT_CLUSTER": "bench", "INPUT_SERVICE": "web", "INPUT_TASK-DEFINITION": str(td),
                              "INPUT_CONTAINER-NAME": "web", "INPUT_IMAGE": seed["image"],
                              "INPUT_GITHUB-TOKEN": "ghs_bench", "INPUT_SCAN-GATE": "false"},
                           **DEMO_POLL)
                start = time.time()
                proc = subprocess.run([str(BINARY)], env=env, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f"github {mode}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
                github[mode] = time.time() - start
            finally:
                gh.stop()
                emu.stop()
        figures["github_extra_s"] = {m: round(t - github["healthy"], 1) for m, t in github.items() if m != "healthy"}
        figures["github_healthy_s"] = round(github["healthy"], 1)

    fixtures = ROOT / "tests" / "fixtures"
    for name in ("secrets", "not-secrets"):
        path = fixtures / f"{name}.txt"
        if path.exists():
            figures[f"corpus_{name}"] = sum(1 for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return figures


def print_adversity(a: dict) -> None:
    print("adversity (real time, production poll intervals)")
    print(f"  frozen endpoint, wait-for-minutes 1   {a['frozen_all_s']} s to exit {a['frozen_all_exit']}")
    print(f"  frozen reads, stop answered           {a['frozen_reads_s']} s to exit {a['frozen_reads_exit']}")
    print(f"  dead endpoint                         {a['dead_endpoint_s']} s to exit {a['dead_endpoint_exit']}")
    for label, r in a["sigterm"].items():
        print(f"  SIGTERM, {label:28} {r['s']} s to exit {r['exit']}")
    print(f"  GitHub healthy: step took {a['github_healthy_s']} s; extra for")
    for mode, extra in a["github_extra_s"].items():
        print(f"    {mode:34} {extra:+} s")
    for key in ("corpus_secrets", "corpus_not-secrets"):
        if key in a:
            print(f"  {key.replace('corpus_', 'corpus, '):37} {a[key]} lines")


# --suite roundtrips: sequential round trips to AWS and GitHub.

ROUNDTRIP_LATENCIES_MS = (0, 50, 150)
IMAGE_CLEAN_SCAN = "clean"  # the seed's default scan: MEDIUM and LOW findings only, so the gate passes


@dataclass(frozen=True)
class Case:
    """One deploy measured up to the call that starts the deployment (`until`)."""

    name: str
    service: str
    until: str
    extra: tuple[str, ...]


ROUNDTRIP_CASES = (
    Case("CodeDeploy, gate off", "web", "codedeploy.CreateDeployment",
         ("--scan-gate", "false", "--codedeploy-deployment-config", "CodeDeployDefault.ECSAllAtOnce")),
    Case("CodeDeploy, gate on (scan clean)", "web", "codedeploy.CreateDeployment",
         ("--scan-gate", "true", "--codedeploy-deployment-config", "CodeDeployDefault.ECSAllAtOnce")),
    Case("ECS rolling, gate off", "roll", "ecs.UpdateService", ("--scan-gate", "false")),
)


def clear_calls(emu: Emulator) -> None:
    urllib.request.urlopen(urllib.request.Request(emu.endpoint + "/_greenlight/calls", method="DELETE"))


def set_latency(emu: Emulator, ms: int) -> None:
    emu.post("/_greenlight/latency", {"latency_ms": ms})


def seed_roundtrip_services(emu: Emulator, tmp: Path, td: Path) -> dict[str, tuple[dict, Path]]:
    """The CodeDeploy service `web` (scan clean) and the ECS rolling service `roll`, each with
    its seed and its task definition file."""
    seeds = {
        "web": emu.seed("--cluster", "bench", "--service", "web", "--family", "web", "--repository", "web",
                        "--scan", IMAGE_CLEAN_SCAN),
        "roll": emu.seed("--cluster", "bench", "--service", "roll", "--family", "roll", "--repository", "roll",
                         "--controller", "ECS", "--strategy", "ROLLING"),
    }
    return {name: (seed, service_taskdef(tmp, td, name, seed["containerName"])) for name, seed in seeds.items()}


def settle(emu: Emulator, case: Case) -> None:
    """Until the previous run's deployment has ended, so the next one is neither refused nor
    slowed by it."""
    if case.until.startswith("codedeploy."):
        wait_idle(emu)
    else:
        # A rolling update takes 34 AWS seconds: 0.06 s of wall time at time scale 600.
        time.sleep(0.2)


def case_args(case: Case, seed: dict, taskdef: Path) -> list[str]:
    """The deploy of a case: wait-until none, and a new deployment even if nothing changed."""
    return ["deploy", "--cluster", "bench", "--service", case.service, "--task-definition", str(taskdef),
            "--container-name", seed["containerName"], "--image", seed["image"], "--wait-until", "none",
            "--force-new-deployment", "true", *case.extra]


def measure_once(emu: Emulator, case: Case, seed: dict, taskdef: Path) -> dict:
    """One deploy with wait-until none: start → the call that starts the deployment, the
    sequential round trips up to it, the calls after it, and the wall time."""
    settle(emu, case)
    clear_calls(emu)
    wall, started, _, _ = timed(case_args(case, seed, taskdef), aws_env(emu.endpoint), rss=False)
    ended = started + wall
    trips = emu.get(f"/_greenlight/round-trips?until={case.until}")
    calls = sorted(emu.get("/_greenlight/calls")["calls"], key=lambda c: float(c["ts"]))
    service, action = case.until.split(".")
    at = next(float(c["ts"]) for c in calls if (c.get("service"), c.get("action")) == (service, action))
    return {
        "to_call_ms": (at - started) * 1000,
        "round_trips": trips["round_trips"],
        "calls_before": trips["calls"],
        "calls_after": sum(1 for c in calls if at < float(c["ts"]) <= ended),
        "wall_ms": wall * 1000,
    }


def median_of(samples: list[dict]) -> dict:
    """The median of each figure over the runs."""
    return {key: round(statistics.median(s[key] for s in samples), 1) for key in samples[0]}


def latency_table(emu: Emulator, services: dict[str, tuple[dict, Path]], runs: int, slow_runs: int) -> list[dict]:
    """Every case at every latency, the median of its runs (slow_runs at the highest latency)."""
    # One unmeasured run of each case first: moto loads a service's backend on its first request.
    set_latency(emu, 0)
    for case in ROUNDTRIP_CASES:
        measure_once(emu, case, *services[case.service])
    rows = []
    for ms in ROUNDTRIP_LATENCIES_MS:
        set_latency(emu, ms)
        count = slow_runs if ms == max(ROUNDTRIP_LATENCIES_MS) else runs
        for case in ROUNDTRIP_CASES:
            seed, taskdef = services[case.service]
            samples = [measure_once(emu, case, seed, taskdef) for _ in range(count)]
            rows.append({"case": case.name, "latency_ms": ms, "until": case.until, "runs": count,
                         **median_of(samples)})
    set_latency(emu, 0)
    return rows


def peak_rss(emu: Emulator, services: dict[str, tuple[dict, Path]]) -> int:
    """Max RSS (KiB) of the first case (CodeDeploy, gate off) at latency 0; -1 without GNU time."""
    case = ROUNDTRIP_CASES[0]
    seed, taskdef = services[case.service]
    set_latency(emu, 0)
    settle(emu, case)
    _, _, peak, _ = timed(case_args(case, seed, taskdef), aws_env(emu.endpoint))
    return peak


FLEET_LATENCY_MS = 50
FLEET_SIZE = 10


def fleet_ratio(tmp: Path, td: Path, runs: int) -> dict:
    """One service and FLEET_SIZE services in one run (`config`), gate off, wait-until none,
    at FLEET_LATENCY_MS: the median wall times and their ratio."""
    emu = Emulator(600.0)
    try:
        names = [f"svc{i}" for i in range(FLEET_SIZE)]
        configs = {1: fleet_config(emu, tmp, td, names[:1]), FLEET_SIZE: fleet_config(emu, tmp, td, names)}
        set_latency(emu, FLEET_LATENCY_MS)
        walls = {}
        for count, config in configs.items():
            samples = []
            for _ in range(runs):
                wait_idle(emu)
                wall, _, _, _ = timed(
                    ["deploy", "--cluster", "bench", "--config", str(config), "--scan-gate", "false",
                     "--wait-until", "none", "--force-new-deployment", "true",
                     "--codedeploy-deployment-config", "CodeDeployDefault.ECSAllAtOnce"],
                    aws_env(emu.endpoint),
                    rss=False,
                )
                samples.append(wall)
            walls[count] = statistics.median(samples)
    finally:
        emu.stop()
    return {"latency_ms": FLEET_LATENCY_MS, "services": FLEET_SIZE, "one_s": round(walls[1], 2),
            "many_s": round(walls[FLEET_SIZE], 2), "ratio": round(walls[FLEET_SIZE] / walls[1], 2)}


PR_NUMBER = 5
PR_HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"


class GitHubMock:
    """A GitHub API answering what greenlight's reporter calls (src/report/github.rs) with
    minimal valid JSON, and logging each request's method, path and arrival time."""

    COMMENT = {"id": 1, "html_url": f"https://github.test/o/r/pull/{PR_NUMBER}#issuecomment-1", "body": ""}

    def __init__(self) -> None:
        import http.server

        self.requests: list[tuple[float, str, str]] = []
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self) -> None:
                mock.requests.append((time.time(), self.command, self.path))
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                status, body = mock.answer(self.command, self.path.split("?", 1)[0])
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @classmethod
    def answer(cls, method: str, path: str) -> tuple[int, object]:
        """(status, body) for one request; paths are /repos/{owner}/{repo}/…"""
        parts = path.strip("/").split("/")[3:]
        match method, parts:
            case "GET", ["issues", _, "comments"]:
                return 200, []
            case "POST", ["issues", _, "comments"]:
                return 201, cls.COMMENT
            case "PATCH", ["issues", "comments", _]:
                return 200, cls.COMMENT
            case "POST", ["statuses", _]:
                return 201, {"id": 1, "state": "pending"}
            case "GET", ["commits", _, "pulls"]:
                return 200, [{"number": PR_NUMBER, "state": "open"}]
            case "POST", ["deployments"]:
                return 201, {"id": 1}
            case "POST", ["deployments", _, "statuses"]:
                return 201, {"id": 1}
        return 404, {"message": "Not Found"}

    def stop(self) -> None:
        self.server.shutdown()


def runner_env(workspace: Path, github_url: str, inputs: dict[str, str]) -> dict[str, str]:
    """What a runner sets for a step of this action on a pull request (src/gha, Target::from_env):
    the event, the repository and commit, the token, the output files and the inputs as INPUT_*."""
    event = workspace / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "number": PR_NUMBER,
        "head": {"sha": PR_HEAD_SHA, "repo": {"full_name": "o/r", "fork": False}},
        "base": {"sha": "f" * 40, "repo": {"full_name": "o/r", "fork": False}},
    }}))
    return {
        "GITHUB_ACTIONS": "true", "GITHUB_API_URL": github_url, "GITHUB_REPOSITORY": "o/r",
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "e" * 40,
        "GITHUB_TOKEN": "ghs_bench", "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(workspace / "output"), "GITHUB_STEP_SUMMARY": str(workspace / "summary.md"),
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    }


def plan_on_pull_request(tmp: Path, td: Path) -> dict:
    """`plan` run once as the action on a pull request, latency 0, the gate on (scan clean), the
    sticky comment and the commit status on: its wall time and the GitHub requests, with their
    arrival after the start."""
    workspace = tmp / "workspace"
    workspace.mkdir()
    emu = Emulator(600.0)
    github = GitHubMock()
    try:
        seed = emu.seed("--cluster", "bench", "--service", "web", "--family", "web", "--repository", "web")
        taskdef = service_taskdef(workspace, td, "web", seed["containerName"])
        inputs = {"command": "plan", "cluster": "bench", "service": "web", "task-definition": taskdef.name,
                  "container-name": seed["containerName"], "image": seed["image"], "github-token": "ghs_bench",
                  "pr-comment": "true", "commit-status": "true"}
        env = dict(aws_env(emu.endpoint), **runner_env(workspace, github.url, inputs))
        start = time.time()
        proc = subprocess.run([str(BINARY)], env=env, cwd=workspace, capture_output=True, text=True)
        wall = time.time() - start
    finally:
        github.stop()
        emu.stop()
    if proc.returncode != 0:
        raise SystemExit(f"plan on a pull request: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return {
        "wall_s": round(wall, 2),
        "requests": [{"at_ms": round((t - start) * 1000), "method": m, "path": p} for t, m, p in github.requests],
    }


def roundtrips(runs: int, slow_runs: int) -> dict:
    """The figures of --suite roundtrips (see the docstring at the top)."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        td = tmp / "taskdef.json"
        td.write_text((ROOT / "tests" / "fixtures" / "taskdef.json").read_text())
        emu = Emulator(600.0)
        try:
            services = seed_roundtrip_services(emu, tmp, td)
            table = latency_table(emu, services, runs, slow_runs)
            rss_kib = peak_rss(emu, services)
        finally:
            emu.stop()
        plan = plan_on_pull_request(tmp, td)
        fleet = fleet_ratio(tmp, td, runs)
    return {"latency": table, "peak_rss_kib": rss_kib, "plan_pull_request": plan, "fleet": fleet}


def print_roundtrips(r: dict) -> None:
    print("round trips (emulator time scale 600; latency added to every AWS request)")
    print(f"  {'case':34} {'latency':>8} {'to call':>10} {'round trips':>12} {'calls':>6} {'after':>6} {'wall':>9}")
    for row in r["latency"]:
        print(f"  {row['case']:34} {row['latency_ms']:>5} ms {row['to_call_ms']:>7.0f} ms {row['round_trips']:>12g}"
              f" {row['calls_before']:>6g} {row['calls_after']:>6g} {row['wall_ms']:>6.0f} ms")
    print("  (to call: process start to CreateDeployment / UpdateService arriving; round trips: sequential,")
    print("   up to and including it; calls: before it, itself included; after: AWS calls after it; median)")
    rss = r["peak_rss_kib"]
    print(f"  peak RSS, CodeDeploy gate off, latency 0   {rss / 1024:.1f} MiB" if rss >= 0
          else "  peak RSS: n/a (needs /usr/bin/time)")
    f = r["fleet"]
    print(f"  {f['services']} services in one run vs one, latency {f['latency_ms']} ms   "
          f"{f['many_s']} s vs {f['one_s']} s ({f['ratio']}x)")
    plan = r["plan_pull_request"]
    print(f"  plan on a pull request (comment and commit status), latency 0: {plan['wall_s']} s; GitHub saw")
    for req in plan["requests"]:
        print(f"    {req['at_ms']:>6} ms  {req['method']:6} {req['path']}")


def main() -> int:
    global BINARY
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=10.0, help="emulator clock speed (default 10)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--runs", type=int, default=5, help="runs per speed figure (median; default 5)")
    parser.add_argument(
        "--slow-runs", type=int, default=None,
        help="runs per round-trip figure at the highest latency (default: --runs)",
    )
    parser.add_argument(
        "--binary", type=Path, default=BINARY,
        help="the greenlight binary to measure (default: $GREENLIGHT_BENCH_BINARY, else the release build)",
    )
    parser.add_argument(
        "--suite", choices=("all", "speed", "adversity", "roundtrips"), default="all",
        help="speed: start-up, canaries and watching; adversity: bad days (about 4 minutes); "
        "roundtrips: sequential round trips to AWS and GitHub; default all",
    )
    args = parser.parse_args()
    BINARY = args.binary.resolve()
    slow_runs = args.slow_runs if args.slow_runs is not None else args.runs
    if args.suite == "adversity":
        figures = adversity()
        print(json.dumps(figures, indent=2)) if args.json else print_adversity(figures)
        return 0
    if args.suite == "roundtrips":
        figures = roundtrips(args.runs, slow_runs)
        print(json.dumps(figures, indent=2)) if args.json else print_roundtrips(figures)
        return 0
    fast = speed(args.runs)
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
    hard = adversity() if args.suite == "all" else None
    trips = roundtrips(args.runs, slow_runs) if args.suite == "all" else None
    if args.json:
        print(json.dumps({"speed": fast, "watching": results, "adversity": hard, "roundtrips": trips}, indent=2))
        return 0
    print(f"{BINARY}: median of {args.runs} runs; {os.cpu_count()} CPUs")
    print(f"  binary size                          {fast['binary_bytes'] / 1e6:.1f} MB")
    print(f"  greenlight --version                 {fast['version_ms']} ms")
    print(f"  start -> CreateDeployment            {fast['start_to_create_ms']} ms")
    rss = lambda kib: f"{kib / 1024:.1f} MiB" if kib >= 0 else "n/a (needs /usr/bin/time)"  # noqa: E731
    print(f"  canary, 1 service (time scale 30)    {fast['canary_1_s']} s, peak RSS {rss(fast['canary_1_rss_kib'])}")
    print(f"  canary, 10 services in one run       {fast['canary_10_s']} s, peak RSS {rss(fast['canary_10_rss_kib'])}"
          f"  ({fast['ten_vs_one']}x one)")
    print()
    print(f"time scale {args.time_scale:g}x, poll interval {env_extra or 'production (2 s after a change, backing off to 15 s)'}")
    print(f"{'scenario':34} {'wall':>7} {'changes':>8} {'latency p50':>12} {'latency max':>12} {'calls/min':>10}")
    for r in results:
        print(
            f"{r['scenario']:34} {r['wall_s']:>6}s {r['changes_matched']:>8} "
            f"{str(r['latency_median_s']) + ' s':>12} {str(r['latency_max_s']) + ' s':>12} {r['calls_per_min_waiting']:>10}"
        )
    if hard is not None:
        print()
        print_adversity(hard)
    if trips is not None:
        print()
        print_roundtrips(trips)
    return 0


if __name__ == "__main__":
    sys.exit(main())
