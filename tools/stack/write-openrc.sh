# Sourced by stack.sh: writes $openrc_file so that `source openrc` points the stock openstack CLI here.
write_openrc() {
  if [ "$keystone" = 1 ]; then
    # The local Keystone's demo user (load-balancer_member on project demo); admin-openrc is beside it.
    cp "$state/keystone/demo-openrc" "$openrc_file"
  else
    cat > "$openrc_file" <<RC
# Written by stack.sh. No Keystone: the API runs with auth_strategy = noauth.
unset OS_CLOUD OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME OS_TOKEN
export OS_AUTH_TYPE=none
export OS_ENDPOINT=http://127.0.0.1:$api_port
RC
  fi
  echo "wrote $openrc_file"
}
