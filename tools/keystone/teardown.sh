#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0.
# Stops the Keystone started by setup.sh (by its PID file) and, with --purge, removes its state.
# Usage: teardown.sh [--state-dir DIR] [--purge]
set -euo pipefail
state_dir=/var/lib/octavia-keystone
purge=false
while [ $# -gt 0 ]; do
  case "$1" in
    --state-dir) state_dir=$2; shift 2 ;;
    --purge) purge=true; shift ;;
    *) echo "teardown.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
pidfile=$state_dir/keystone.pid
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
fi
if $purge; then
  # Only a directory setup.sh made: it has keystone.conf in it.
  [ -f "$state_dir/keystone.conf" ] && rm -rf "$state_dir"
fi
exit 0
