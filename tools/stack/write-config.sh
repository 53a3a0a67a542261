# Sourced by stack.sh: writes $conf for the all-in-one deployment from $state, $mode, $api_port, $keystone, $ssh.
write_config() {
  local key ca_pass srv_pass hm_ip
  key="$(cat "$state/heartbeat_key")"
  ca_pass="$(sed -n 's/^ca_private_key_passphrase = //p' "$state/certs-octavia.conf")"
  srv_pass="$(sed -n 's/^server_certs_key_passphrase = //p' "$state/certs-octavia.conf")"
  # The management network's host address (docs/local-drivers.md): 127.64.0.1 is its loopback mapping.
  if [ "$mode" = namespace ]; then hm_ip=198.18.0.1; else hm_ip=127.64.0.1; fi
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
amp_ssh_key_name = $([ "$ssh" = 1 ] && echo octavia_ssh_key)

[haproxy_amphora]
# The controller's view of amphora paths; each local agent moves the stats socket and state file into its
# own base_path on upload (two amphorae of one load balancer share this host's file system).
base_path = $state/run
base_cert_dir = $state/run/certs
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
ca_private_key_passphrase = $ca_pass
server_certs_key_passphrase = $srv_pass
storage_path = $state/tls

[local_compute]
mode = $mode
state_dir = $state/local
ssh_key_dir = $state/ssh
CONF
  if [ -n "${OCTAVIA_STACK_EXTRA_CONF:-}" ]; then
    # Later lines win per option: a test (or an operator) overrides networks, bridges, ports, topology.
    { echo; echo "# From OCTAVIA_STACK_EXTRA_CONF=$OCTAVIA_STACK_EXTRA_CONF"; cat "$OCTAVIA_STACK_EXTRA_CONF"; } >> "$conf"
  fi
  if [ "$keystone" = 1 ]; then
    # setup.sh's [keystone_authtoken] section (its [api_settings] line is already above).
    { echo; sed -n '/^\[keystone_authtoken\]/,$p' "$state/keystone/octavia-keystone.conf"; } >> "$conf"
  fi
  chmod 600 "$conf"
}
