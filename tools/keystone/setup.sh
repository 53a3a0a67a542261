#!/usr/bin/env bash
# Licensed under the Apache License, Version 2.0.
#
# Runs a real Keystone (Debian's python3-keystone) on loopback for tests and `stack.sh --keystone`:
# SQLite database, fernet tokens, a threaded wsgiref server (no uwsgi, no apache), started in the
# background and stopped by PID with teardown.sh. Idempotent: a second run reuses the state
# directory and the running server, and re-applies the provisioning.
#
# Usage: setup.sh [--port N] [--state-dir DIR] [--octavia-url URL] [--network-url URL]
#                 [--admin-password P] [--service-password P] [--demo-password P]
# Prints shell `export` lines (OS_* for the admin, OCTAVIA_KEYSTONE_*); writes DIR/admin-openrc,
# DIR/demo-openrc and DIR/octavia-keystone.conf (a [keystone_authtoken] section for octavia.conf).
set -euo pipefail

port=5000
state_dir=/var/lib/octavia-keystone
octavia_url=http://127.0.0.1:9876/
network_url=
admin_password=admin
service_password=octavia
demo_password=demo
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --state-dir) state_dir=$2; shift 2 ;;
    --octavia-url) octavia_url=$2; shift 2 ;;
    --network-url) network_url=$2; shift 2 ;;
    --admin-password) admin_password=$2; shift 2 ;;
    --service-password) service_password=$2; shift 2 ;;
    --demo-password) demo_password=$2; shift 2 ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
network_url=${network_url:-$octavia_url}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3 # Debian's interpreter: the keystone modules live in its dist-packages
started=$(date +%s.%N)

if ! [ -x /usr/bin/keystone-manage ]; then
  [ "$(id -u)" = 0 ] || { echo "keystone: python3-keystone is not installed and installing it needs root" >&2; exit 3; }
  echo "keystone: installing python3-keystone" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends python3-keystone >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends python3-keystone >&2; }
fi

mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
conf=$state_dir/keystone.conf
auth_url=http://127.0.0.1:$port/v3
cat > "$conf.new" <<CONF
[DEFAULT]
log_file = $state_dir/keystone.log
[database]
connection = sqlite:///$state_dir/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $state_dir/fernet-keys
[fernet_receipts]
key_repository = $state_dir/fernet-keys
[credential]
key_repository = $state_dir/credential-keys
[cache]
# One process, so an in-memory cache is coherent; without it every request makes ~100 SQLite round trips.
enabled = true
backend = dogpile.cache.memory
[identity]
# Test/dev deployment: cheap bcrypt keeps password logins (and start-up provisioning) fast.
password_hash_rounds = 4
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
CONF
mv "$conf.new" "$conf"
export OS_KEYSTONE_CONFIG_FILES=$conf

manage() { # config-file, args...
  local c=$1; shift
  keystone-manage --config-file "$c" "$@" >>"$(dirname "$c")/manage.log" 2>&1
}

# db_sync runs ~100 migrations (20-30 s here), so a bootstrapped database is made once per admin
# password into a seed directory and copied into each new state directory; provision.py then points
# the identity endpoints at this instance's port.
if [ "$(id -u)" = 0 ]; then default_seed_root=/var/cache/octavia-keystone; else default_seed_root=${XDG_CACHE_HOME:-$HOME/.cache}/octavia-keystone; fi
seed_root=${OCTAVIA_KEYSTONE_SEED_DIR:-$default_seed_root}
seed=$seed_root/seed-$(printf '%s' "$admin_password" | sha256sum | cut -c1-12)
if ! [ -f "$state_dir/bootstrapped" ]; then
  mkdir -p "$seed_root"
  (
    flock 9
    if ! [ -f "$seed/bootstrapped" ]; then
      rm -rf "$seed.tmp" && mkdir -p "$seed.tmp"
      sed -e "s#$state_dir#$seed.tmp#g" "$conf" > "$seed.tmp/keystone.conf"
      manage "$seed.tmp/keystone.conf" db_sync
      # oslo.db opens an explicit transaction even for reads on SQLite; in the default rollback-journal
      # mode such a reader blocks Keystone's own writers ("database is locked"). WAL lets them coexist.
      "$py" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$seed.tmp/keystone.db"
      manage "$seed.tmp/keystone.conf" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
      manage "$seed.tmp/keystone.conf" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
      manage "$seed.tmp/keystone.conf" bootstrap --bootstrap-password "$admin_password" \
        --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$auth_url" --bootstrap-internal-url "$auth_url" --bootstrap-public-url "$auth_url"
      touch "$seed.tmp/bootstrapped"
      rm -rf "$seed" && mv "$seed.tmp" "$seed"
    fi
  ) 9>"$seed_root/.lock"
  cp -a "$seed"/keystone.db* "$seed/fernet-keys" "$seed/credential-keys" "$state_dir/"
  touch "$state_dir/bootstrapped"
fi

pidfile=$state_dir/keystone.pid
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
if ! running; then
  setsid "$py" "$here/serve.py" --port "$port" >>"$state_dir/server.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
fi
for _ in $(seq 1 300); do
  if curl -fs -o /dev/null "$auth_url"; then break; fi
  running || { echo "keystone: server exited, see $state_dir/server.log" >&2; tail -20 "$state_dir/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS -o /dev/null "$auth_url" || { echo "keystone: not answering on $auth_url" >&2; exit 1; }
serving=$(date +%s.%N)

ids=$("$py" "$here/provision.py" --auth-url "$auth_url" --identity-url "$auth_url" --admin-password "$admin_password" \
  --service-password "$service_password" --demo-password "$demo_password" \
  --octavia-url "$octavia_url" --network-url "$network_url")

openrc() { # user password project
  cat <<RC
export OS_AUTH_TYPE=password
export OS_AUTH_URL=$auth_url
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=$1
export OS_PASSWORD=$2
export OS_PROJECT_NAME=$3
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
RC
}
openrc admin "$admin_password" admin > "$state_dir/admin-openrc"
openrc demo "$demo_password" demo > "$state_dir/demo-openrc"
cat > "$state_dir/octavia-keystone.conf" <<CONF
[api_settings]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = $auth_url
auth_url = $auth_url
auth_type = password
username = octavia
password = $service_password
project_name = service
user_domain_name = Default
project_domain_name = Default
CONF

done_at=$(date +%s.%N)
echo "keystone: serving $auth_url (pid $(cat "$pidfile")); ready in $(awk "BEGIN{printf \"%.1f\", $serving - $started}") s, provisioned in $(awk "BEGIN{printf \"%.1f\", $done_at - $serving}") s" >&2
cat "$state_dir/admin-openrc"
echo "export OCTAVIA_KEYSTONE_URL=$auth_url"
echo "export OCTAVIA_KEYSTONE_PID=$(cat "$pidfile")"
echo "export OCTAVIA_KEYSTONE_STATE_DIR=$state_dir"
echo "$ids"
