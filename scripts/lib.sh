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
  log "installing the emulator and Python tools into .venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements-dev.txt" >&2
  echo "$want" > "$stamp"
}
