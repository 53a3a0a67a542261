#!/usr/bin/env bash
# The project's test command (README, step 2; .ci/run calls it). Installs and starts what the tests
# need (as root), checks formatting, builds once, runs every test project, and ends with one line:
# "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
log="$root/artifacts/test-output.log"
mkdir -p "$root/artifacts"

if [ "$(id -u)" = "0" ]; then
  if ! env_lines="$(bash .ci/services.sh)"; then
    echo "run_tests: could not start the test services (see above)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  eval "$env_lines"
else
  echo "run_tests: not root: PostgreSQL/MariaDB/RabbitMQ and namespace tests are skipped" >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "${SKIP_FORMAT:-}" != "1" ]; then
  echo "== dotnet format --verify-no-changes"
  if ! dotnet format Octavia.slnx --verify-no-changes -v quiet; then
    echo "run_tests: code is not formatted; run 'dotnet format Octavia.slnx'"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

echo "== build"
if ! dotnet build Octavia.slnx -c Release --nologo -v quiet -clp:ErrorsOnly; then
  echo "run_tests: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
# bin/octavia uses this same Release build; mark it current so tests never rebuild it.
touch "$root/artifacts/.octavia-built"

echo "== tests"
dotnet test --solution Octavia.slnx -c Release --no-build --no-progress 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

total=$(grep -E '^\s+total:' "$log" | tail -1 | grep -oE '[0-9]+')
failed=$(grep -E '^\s+failed:' "$log" | tail -1 | grep -oE '[0-9]+')
passed=$(grep -E '^\s+succeeded:' "$log" | tail -1 | grep -oE '[0-9]+')
skipped=$(grep -E '^\s+skipped:' "$log" | tail -1 | grep -oE '[0-9]+')
if [ -z "$total" ]; then
  echo "run_tests: the test run produced no summary (exit code $rc)"
  echo "0 passed, 1 failed"
  exit 1
fi
# A crashed test host reports fewer results than it should; count a non-zero exit as a failure.
if [ "$rc" != "0" ] && [ "${failed:-0}" = "0" ]; then failed=1; fi
line="${passed:-0} passed, ${failed:-0} failed"
if [ "${skipped:-0}" != "0" ]; then line="$line, $skipped skipped"; fi
echo "$line"
[ "${failed:-0}" = "0" ]
