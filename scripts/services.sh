#!/usr/bin/env bash
# Ensure the server binaries the distributed integration test needs are installed (Debian packages):
#   PostgreSQL (initdb, pg_ctl, postgres), Redis (redis-server) and nginx (the load balancer in front of the
#   webhook gateways and the engine replicas).
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something is missing.
# The test itself starts throwaway instances on free ports (tests/integration/services.py).
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }

have_pg() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_redis() { command -v redis-server >/dev/null 2>&1; }
# /usr/sbin is not on every user's PATH; the test looks there too (tests/integration/services.py).
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

missing=()
have_pg || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_nginx || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then
  say "✓ services: PostgreSQL, Redis and nginx binaries present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    say "✗ 需要安装 ${missing[*]}（分布式集成测试用），但当前不是 root 且没有 sudo。"
    say "  Install them yourself: apt-get install ${missing[*]}"
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "✗ 需要 ${missing[*]}，但本机没有 apt-get；请用系统的包管理器安装。"
  exit 1
fi
say "· installing ${missing[*]} (Debian packages) for the distributed integration test…"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# The packages' own init scripts may try to start a system-wide server; we never use it (the test starts
# its own throwaway instances), and in a container without an init system that attempt just fails quietly.
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
have_pg || { say "✗ PostgreSQL binaries still missing after install"; exit 1; }
have_redis || { say "✗ redis-server still missing after install"; exit 1; }
have_nginx || { say "✗ nginx still missing after install"; exit 1; }
say "✓ services installed in $((SECONDS - t0)) s"
