# Sourced by stack.sh: writes $conf for the all-in-one deployment from $state, $mode, $api_port, $keystone.
write_config() {
  local key passphrase hm_ip
  key="$(cat "$state/heartbeat_key")"
  passphrase="$(cat "$state/certs/ca_passphrase" 2>/dev/null || true)"
  if [ "$mode" = namespace ]; then hm_ip=198.18.0.1; else hm_ip=127.0.0.1; fi
  cat > "$conf" <<CONF
# Written by stack.sh; rewritten on every run (edit stack.sh's tools/stack/write-config.sh instead).
[DEFAULT]
state_path = $state
# No transport_url: the all-in-one process uses its in-process message bus.

[database]
connection = sqlite:///$state/octavia.db

[api_settings]
bind_host = 127.0.0.1
bind_port = $api_port
auth_strategy = $([ "$keystone" = 1 ] && echo keystone || echo noauth)
# Ours, not upstream's: the project used when a noauth request names none.
noauth_default_project_id = $([ "$keystone" = 1 ] && echo "" || echo demo)
enabled_provider_drivers = amphora:The Octavia Amphora driver.,octavia:Deprecated alias of the Octavia Amphora driver.,noop_driver:The no-op driver.
default_provider_driver = amphora
healthcheck_enabled = true

[controller_worker]
compute_driver = compute_local_driver
network_driver = network_local_driver
amphora_driver = amphora_haproxy_rest_driver
loadbalancer_topology = SINGLE
client_ca = $state/certs/client_ca.cert.pem
amp_image_tag = amphora
amp_active_retries = 60
amp_active_wait_sec = 1

[haproxy_amphora]
client_cert = $state/certs/client.cert-and-key.pem
server_ca = $state/certs/server_ca.cert.pem
connection_max_retries = 120
connection_retry_interval = 1
build_active_retries = 120
build_retry_interval = 1

[health_manager]
bind_ip = $hm_ip
bind_port = 5555
controller_ip_port_list = $hm_ip:5555
heartbeat_key = $key
heartbeat_interval = 3
heartbeat_timeout = 30
health_check_interval = 3

[house_keeping]
spare_amphora_pool_size = 0
load_balancer_expiry_age = 3600
amphora_expiry_age = 3600

[certificates]
cert_generator = local_cert_generator
cert_manager = local_cert_manager
ca_certificate = $state/certs/server_ca.cert.pem
ca_private_key = $state/certs/server_ca.key.pem
ca_private_key_passphrase = $passphrase
storage_path = $state/tls

[local_compute]
mode = $mode
state_dir = $state/local
CONF
  if [ "$keystone" = 1 ]; then
    cat >> "$conf" <<CONF

[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:${KEYSTONE_PORT:-5000}/v3
auth_url = http://127.0.0.1:${KEYSTONE_PORT:-5000}/v3
username = octavia
password = $(cat "$state/keystone/octavia_password" 2>/dev/null || echo octavia)
project_name = service
user_domain_name = Default
project_domain_name = Default
CONF
  fi
  chmod 600 "$conf"
}
