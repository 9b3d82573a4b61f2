#!/usr/bin/env bash
# The whole test suite (what `make test` and .ci/run execute). Assumes `make train` ran first.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
step() { printf '\n=== %s ===\n' "$*" >&2; }

mkdir -p var
step "ruff (lint, format)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
step "mypy (types)"
.venv/bin/mypy
step "rasa data validate"
.venv-rasa/bin/rasa data validate --data nlu --domain domain.yml --config config.yml --fail-on-warnings \
  > var/validate.log 2>&1 || { tail -40 var/validate.log; exit 1; }
echo "rasa data validate: clean" >&2
step "services for the distributed integration test (PostgreSQL, Redis, nginx binaries)"
# Installs Debian packages when missing (root/sudo). Outside CI a failure only skips that test.
bash scripts/services.sh || { [ "${CI:-}" = true ] && exit 1; echo "(distributed test will be skipped)" >&2; }
step "pytest (unit, integration with the real engine and action server, conversation tests)"
.venv/bin/python -m pytest "$@"
echo "test time: $((SECONDS - t0)) s" >&2
