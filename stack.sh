#!/usr/bin/env bash
# All-in-one Octavia on this machine: installs what is missing, builds, creates certificates, the
# heartbeat key, octavia.conf and the database, the management and tenant networks, and starts the
# API, worker, health manager and housekeeper in the background. Writes ./openrc.
#   sudo ./stack.sh              noauth API (a default project), amphorae in network namespaces
#   sudo ./stack.sh --keystone   a local Keystone on SQLite, real tokens and RBAC
#   ./stack.sh                   without root: loopback mode (amphorae on 127.x addresses)
#   ./stack.sh --no-ssh          no sshd in the amphorae (default: a keypair in .stack/ssh, see docs/operator-guide.md)
# Running it again restarts the services with the same state. ./unstack.sh stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# OCTAVIA_STACK_DIR / OCTAVIA_API_PORT / OCTAVIA_OPENRC let a test run a private deployment;
# OCTAVIA_STACK_EXTRA_CONF names an INI file appended to octavia.conf (its options win).
state="${OCTAVIA_STACK_DIR:-$root/.stack}"
openrc_file="${OCTAVIA_OPENRC:-$root/openrc}"
conf="$state/octavia.conf"
api_port="${OCTAVIA_API_PORT:-9876}"
keystone=0
ssh=1
for arg in "$@"; do
  case "$arg" in
    --keystone) keystone=1 ;;
    --no-ssh) ssh=0 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "stack.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[1;31mstack.sh: %s\033[0m\n' "$*" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  mode=namespace
else
  mode=loopback
  echo "stack.sh: not running as root: LOOPBACK MODE (amphorae run in this host's namespace on 127.x addresses;"
  echo "          no bridges or namespaces are made). Run 'sudo ./stack.sh' for namespaced amphorae."
  [ "$keystone" = 0 ] || fail "--keystone needs root (it installs Debian's keystone package)"
fi

step "Checking packages"
packages=(haproxy keepalived iproute2 socat curl openssl python3-openstackclient python3-octaviaclient)
if [ "$ssh" = 1 ]; then
  if [ "$mode" = namespace ]; then
    packages+=(openssh-server openssh-client)
  elif ! [ -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
    echo "stack.sh: openssh-server is not installed: amphorae get no sshd (install it, or pass --no-ssh to silence this)"
    ssh=0
  fi
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$mode" = namespace ] || fail "missing packages: ${missing[*]} — install them (sudo apt-get install ${missing[*]}) or run with sudo"
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v dotnet >/dev/null || fail "the .NET 10 SDK is required (dotnet not found on PATH)"

step "Building (first time takes a minute or two)"
"$root/bin/octavia" --help >/dev/null || fail "build failed; run 'dotnet build src/Octavia' to see why"
octavia="$root/bin/octavia"

# A second run restarts what the first started, keeping certificates, keys and the database.
if [ -f "$state/octavia.pid" ] && kill -0 "$(cat "$state/octavia.pid")" 2>/dev/null; then
  step "Stopping the running services (stack.sh was run before)"
  kill "$(cat "$state/octavia.pid")"
  for _ in $(seq 1 50); do kill -0 "$(cat "$state/octavia.pid")" 2>/dev/null || break; sleep 0.2; done
fi
mkdir -p "$state/logs" "$state/keystone" "$state/run"
chmod 700 "$state"

step "Certificates"
if [ ! -f "$state/certs/client.cert-and-key.pem" ] || [ ! -f "$state/certs-octavia.conf" ]; then
  # certs init prints the octavia.conf lines, including the generated key passphrases: keep them.
  "$octavia" certs init --force --dir "$state/certs" > "$state/certs-octavia.conf.new"
  chmod 600 "$state/certs-octavia.conf.new"
  mv "$state/certs-octavia.conf.new" "$state/certs-octavia.conf"
  echo "created the server CA, the client CA and the controller's client certificate in $state/certs"
else
  echo "reusing $state/certs"
fi
[ -f "$state/heartbeat_key" ] || (umask 077; openssl rand -hex 16 > "$state/heartbeat_key")
ssh_key="$state/ssh/octavia_ssh_key"
if [ "$ssh" = 1 ] && [ ! -f "$ssh_key.pub" ]; then
  # Our stand-in for a Nova keypair: [local_compute] ssh_key_dir/<amp_ssh_key_name>.pub.
  mkdir -p "$state/ssh" && chmod 700 "$state/ssh"
  ssh-keygen -q -t ed25519 -N '' -C octavia-stack -f "$ssh_key"
  echo "created the amphora SSH keypair $ssh_key"
fi

if [ "$keystone" = 1 ]; then
  step "Keystone (first time takes a minute)"
  "$root/tools/keystone/setup.sh" --port "${KEYSTONE_PORT:-5000}" --state-dir "$state/keystone" \
    --octavia-url "http://127.0.0.1:$api_port/" > "$state/keystone/setup.out" 2>>"$state/logs/keystone-setup.log" \
    || { tail -20 "$state/logs/keystone-setup.log" >&2; fail "keystone set-up failed; see $state/logs/keystone-setup.log"; }
  tail -1 "$state/logs/keystone-setup.log"
fi

step "Writing $conf"
. "$root/tools/stack/write-config.sh"
write_config

step "Database"
"$octavia" db-manage --config-file "$conf" upgrade head

step "Starting API, worker, health manager and housekeeper"
setsid "$octavia" all-in-one --config-file "$conf" >>"$state/logs/octavia.log" 2>&1 < /dev/null &
echo $! > "$state/octavia.pid"
for i in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$api_port/" >/dev/null 2>&1; then break; fi
  kill -0 "$(cat "$state/octavia.pid")" 2>/dev/null || fail "octavia exited during start-up; see $state/logs/octavia.log"
  [ "$i" = 120 ] && fail "the API did not answer on port $api_port within 60 s; see $state/logs/octavia.log"
  sleep 0.5
done
echo "running (pid $(cat "$state/octavia.pid")); log: $state/logs/octavia.log"

. "$root/tools/stack/write-openrc.sh"
write_openrc

# Loopback amphorae are unprivileged processes: they cannot bind a port below this (sysctl net.ipv4.ip_unprivileged_port_start).
listener_port=80
gw=198.19.0.1
[ "$mode" = namespace ] || gw=127.65.0.1 # the tenant subnet's loopback mapping (docs/local-drivers.md)
if [ "$mode" = loopback ] && [ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)" -gt 80 ]; then
  listener_port=8080
fi
cat <<TXT

Octavia is up ($mode mode). Try:

  source $openrc_file
  openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait
  openstack loadbalancer show lb1
  openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port $listener_port --wait lb1
  curl http://\$(openstack loadbalancer show lb1 -f value -c vip_address):$listener_port/      # 503: no members yet

Add backends (servers on the host, bound to the tenant gateway $gw):
  python3 -m http.server --bind $gw 8081 &   python3 -m http.server --bind $gw 8082 &
  openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait
  openstack loadbalancer member create --address $gw --protocol-port 8081 --subnet-id private-subnet --wait pool1
  openstack loadbalancer member create --address $gw --protocol-port 8082 --subnet-id private-subnet --wait pool1

TXT
if [ "$ssh" = 1 ]; then
  if [ "$mode" = namespace ]; then ssh_port=22; ssh_user=root; else ssh_port=2222; ssh_user="$(id -un)"; fi
  cat <<TXT
SSH into an amphora (its lb_network_ip, from 'openstack loadbalancer amphora list'):
  ssh -i $ssh_key -p $ssh_port $ssh_user@<lb_network_ip>
TXT
fi
cat <<TXT

Stop everything with ./unstack.sh
TXT
