#!/usr/bin/env bash
# Writes api-{1,2}.conf, worker-{1,2}.conf and health-manager-{1,2}.conf into OUT_DIR from octavia.conf.in.
# Usage: tools/multihost/render.sh OUT_DIR
# Shared by every file (environment; defaults in brackets):
#   DB_URL (required)            [database] connection, e.g. postgresql+psycopg2://octavia:PW@db-host/octavia
#   TRANSPORT_URL (required)     rabbit://octavia:PW@mq-host:5672/
#   CERT_DIR (required)          the directory `octavia certs init` wrote (same files on every host)
#   CA_PASSPHRASE, SERVER_CERTS_KEY_PASSPHRASE (required)  as `octavia certs init` printed them
#   HEARTBEAT_KEY (required)     one secret for every health manager and amphora
#   TOPIC [octavia_provisioning_v2]
#   COMPUTE_DRIVER [compute_noop_driver] NETWORK_DRIVER [network_noop_driver] AMPHORA_DRIVER [amphora_noop_driver]
#   FLOW_LEASE_SECONDS [30] NOOP_DRIVER_DELAY [0]
# Per process (as on separate hosts):
#   API1_HOST/API1_PORT [127.0.0.1/9876]  API2_HOST/API2_PORT [127.0.0.2/9876]
#   HM1_IP/HM1_PORT [127.0.0.1/5555]      HM2_IP/HM2_PORT [127.0.0.2/5555]
set -euo pipefail
out=${1:?usage: render.sh OUT_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for v in DB_URL TRANSPORT_URL CERT_DIR CA_PASSPHRASE SERVER_CERTS_KEY_PASSPHRASE HEARTBEAT_KEY; do
  if [ -z "${!v:-}" ]; then echo "render.sh: $v must be set" >&2; exit 2; fi
done
export DB_URL TRANSPORT_URL CERT_DIR CA_PASSPHRASE SERVER_CERTS_KEY_PASSPHRASE HEARTBEAT_KEY
export TOPIC=${TOPIC:-octavia_provisioning_v2}
export COMPUTE_DRIVER=${COMPUTE_DRIVER:-compute_noop_driver}
export NETWORK_DRIVER=${NETWORK_DRIVER:-network_noop_driver}
export AMPHORA_DRIVER=${AMPHORA_DRIVER:-amphora_noop_driver}
export FLOW_LEASE_SECONDS=${FLOW_LEASE_SECONDS:-30}
export NOOP_DRIVER_DELAY=${NOOP_DRIVER_DELAY:-0}
API1_HOST=${API1_HOST:-127.0.0.1}; API1_PORT=${API1_PORT:-9876}
API2_HOST=${API2_HOST:-127.0.0.2}; API2_PORT=${API2_PORT:-9876}
HM1_IP=${HM1_IP:-127.0.0.1}; HM1_PORT=${HM1_PORT:-5555}
HM2_IP=${HM2_IP:-127.0.0.2}; HM2_PORT=${HM2_PORT:-5555}
# Every health manager's address goes to every amphora, which sends each heartbeat to them in turn.
export CONTROLLER_IP_PORT_LIST="$HM1_IP:$HM1_PORT, $HM2_IP:$HM2_PORT"
mkdir -p "$out"
render() { # file host api_host api_port hm_ip hm_port
  HOST=$2 API_BIND_HOST=$3 API_PORT=$4 HM_BIND_IP=$5 HM_PORT=$6 \
    envsubst <"$here/octavia.conf.in" >"$out/$1"
  chmod 600 "$out/$1"
}
render api-1.conf            api-1    "$API1_HOST" "$API1_PORT" "$HM1_IP" "$HM1_PORT"
render api-2.conf            api-2    "$API2_HOST" "$API2_PORT" "$HM2_IP" "$HM2_PORT"
render worker-1.conf         worker-1 "$API1_HOST" "$API1_PORT" "$HM1_IP" "$HM1_PORT"
render worker-2.conf         worker-2 "$API2_HOST" "$API2_PORT" "$HM2_IP" "$HM2_PORT"
render health-manager-1.conf hm-1     "$API1_HOST" "$API1_PORT" "$HM1_IP" "$HM1_PORT"
render health-manager-2.conf hm-2     "$API2_HOST" "$API2_PORT" "$HM2_IP" "$HM2_PORT"
echo "wrote $out/{api,worker,health-manager}-{1,2}.conf"
