#!/usr/bin/env bash
# Create both runtimes from pinned requirements, each in ONE pip resolve, then `pip check`.
#   .venv       app runtime    (Python >= 3.11): requirements.txt      + requirements.lock
#   .venv-rasa  engine runtime (Python 3.10)   : requirements-rasa.txt + requirements-rasa.lock
# A venv is rebuilt from scratch whenever its requirements change (stamp = hash of the files), so an
# upgrade can never leave a half-resolved environment behind (e.g. a numpy bumped under TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '%s\n' "$*" >&2; }
# This machine's pip config lists local index folders that may not exist; hide that noise only.
quiet_pip() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

is_version() {  # is_version PYTHON MAJOR.MINOR-min MAJOR.MINOR-max
  "$1" -c "import sys; v=sys.version_info[:2]; lo=tuple(map(int,'$2'.split('.'))); hi=tuple(map(int,'$3'.split('.'))); sys.exit(0 if lo<=v<=hi else 1)" 2>/dev/null
}

find_python() {  # find_python MIN MAX NAME...
  local lo=$1 hi=$2; shift 2
  local candidates=("$@")
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | sort -rV); do
      candidates+=("$(pyenv root)/versions/$v/bin/python")
    done
  fi
  for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && is_version "$c" "$lo" "$hi"; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

build_venv() {  # build_venv DIR PYTHON REQ LOCK
  local dir=$1 py=$2 req=$3 lock=$4
  local stamp
  stamp=$( (cat "$req" "$lock"; "$py" -VV) | sha256sum | cut -c1-16)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && "$dir/bin/python" -c '' 2>/dev/null; then
    say "✓ $dir up to date"
    return 0
  fi
  say "· building $dir with $("$py" -V) (one resolve from $req, constraints $lock)…"
  local t0=$SECONDS
  rm -rf "$dir"
  "$py" -m venv "$dir"
  quiet_pip "$dir/bin/python" -m pip install -q --upgrade "pip<26"
  quiet_pip "$dir/bin/python" -m pip install -q -r "$req" -c "$lock"
  "$dir/bin/python" -m pip check
  echo "$stamp" > "$dir/.stamp"
  say "✓ $dir ready in $((SECONDS - t0)) s"
}

APP_PY=$(find_python 3.11 3.13 "${PYTHON_APP:-}" python3.11 python3.12 python3) || {
  say "✗ 需要 Python 3.11+ (app runtime). Install it (e.g. 'pyenv install 3.11') or set PYTHON_APP."; exit 1; }
RASA_PY=$(find_python 3.10 3.10 "${PYTHON310:-}" python3.10) || {
  say "✗ 需要 Python 3.10 for the Rasa engine (Rasa 3.6 supports 3.8-3.10 only)."
  say "  Install it with 'pyenv install 3.10.13' (or your OS package manager) or set PYTHON310=/path/to/python3.10."
  exit 1; }

build_venv .venv "$APP_PY" requirements.txt requirements.lock
build_venv .venv-rasa "$RASA_PY" requirements-rasa.txt requirements-rasa.lock
# Guard the trap in docs/architecture.md §7: TensorFlow 2.12 needs numpy 1.23.x.
.venv-rasa/bin/python -c "import numpy, sys; v=numpy.__version__; sys.exit(0 if v.startswith('1.23.') else f'numpy {v} in .venv-rasa: TensorFlow 2.12 needs 1.23.x')"
