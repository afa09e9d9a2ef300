# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Creates .venv and installs the Python side (emulator + linters) when the
# requirement files changed since the last install; a stamp keeps reruns instant.
ensure_venv() {
  local stamp="$VENV/.greenlight-stamp" want
  want="$(cat "$ROOT/emulator/requirements.txt" "$ROOT/requirements-dev.txt" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required (3.10 or newer)"
  log "installing the emulator and Python tools into .venv (the first time takes a few minutes)"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  # One line per package, so a first run is visibly busy rather than silent for minutes.
  local status=0
  "$VENV/bin/python" -m pip install --progress-bar off -r "$ROOT/requirements-dev.txt" 2>&1 \
    | { grep --line-buffered -E '^(Collecting|Successfully installed|ERROR)' >&2 || true; } \
    || status=$?
  [[ "$status" == 0 ]] || die "installing the Python tools into .venv failed"
  echo "$want" > "$stamp"
}

# Builds the release binary, with cargo's progress shown, and sets `greenlight` to its path
# wherever cargo puts it ($CARGO_TARGET_DIR or a configured target-dir included).
build_release() {
  log "building greenlight (release; the first build takes several minutes)"
  cargo build --release --locked
  local dir
  dir="$(cargo metadata --format-version 1 --no-deps --locked \
    | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  greenlight="$dir/release/greenlight"
  [[ -x "$greenlight" ]] || die "cargo built greenlight, but $greenlight is not there"
}

# Starts the emulator in the background at time scale $1, logging into folder $2; sets
# `emulator_pid` and `endpoint`. Stop it with stop_emulator (the caller's EXIT trap).
start_emulator() {
  local scale="$1" work="$2"
  # In a session of its own: Ctrl-C in the terminal reaches greenlight, which then stops its
  # deployment with rollback against an emulator still there to answer; the EXIT trap stops it.
  GREENLIGHT_EMULATOR_TIME_SCALE="$scale" PYTHONPATH="$ROOT/emulator" \
    setsid "$VENV/bin/python" -m greenlight_emulator --port 0 >"$work/emulator.out" 2>"$work/emulator.err" &
  emulator_pid=$!
  endpoint=""
  for _ in $(seq 1 300); do
    endpoint="$(sed -n 's/^greenlight emulator listening on //p' "$work/emulator.out" | head -n1)"
    [[ -n "$endpoint" ]] && return 0
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.err" >&2; die "the emulator exited"; }
    sleep 0.1
  done
  die "the emulator did not start within 30 s"
}

stop_emulator() {
  if [[ -n "${emulator_pid:-}" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
    kill -TERM "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
    log "emulator stopped"
  fi
}

# Credentials and endpoint for the emulator at $endpoint, and nothing from a real account.
emulator_env() {
  export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="$endpoint"
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# Seeds ECR, cluster demo, the CODE_DEPLOY service web and its CodeDeploy application and
# group into the emulator at $endpoint; prints the seed's JSON.
seed_demo() {
  PYTHONPATH="$ROOT/emulator" "$VENV/bin/python" -m greenlight_emulator.seed \
    --endpoint "$endpoint" --cluster demo --service web --family web --repository web
}

# Field $2 of the JSON file $1.
json_field() { "$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
