#!/usr/bin/env bash
# Stops what stack.sh started and removes the amphorae's processes, network namespaces, veths and
# bridges. Keeps .stack/ (certificates, database) unless --purge is given.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${OCTAVIA_STACK_DIR:-$root/.stack}"
openrc_file="${OCTAVIA_OPENRC:-$root/openrc}"
purge=0
[ "${1:-}" = "--purge" ] && purge=1

stop_pid() { # pidfile
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$1"
}

echo "==> stopping octavia"
stop_pid "$state/octavia.pid"

if [ -f "$state/octavia.conf" ] && [ -x "$root/artifacts/bin/Octavia/release/octavia" ]; then
  echo "==> removing amphorae, namespaces, veths and bridges"
  "$root/bin/octavia" local-cleanup --config-file "$state/octavia.conf" || echo "unstack.sh: local-cleanup reported failures (see above)" >&2
fi

if [ -f "$state/keystone/keystone.pid" ]; then
  echo "==> stopping keystone"
  "$root/tools/keystone/teardown.sh" --state-dir "$state/keystone" >/dev/null || true
fi

if [ "$purge" = 1 ]; then
  rm -rf "$state" "$openrc_file"
  echo "removed $state"
fi
echo "done"
