#!/usr/bin/env bash
# Installs and starts, on loopback only, what the test suite needs: HAProxy, keepalived, the stock
# OpenStack CLI, PostgreSQL, MariaDB and RabbitMQ. Idempotent. Prints the environment variables the
# tests read (source its output or let run_tests.sh do it).
set -euo pipefail

packages=(haproxy keepalived socat curl iproute2 procps psmisc openssl wrk
  python3-openstackclient python3-octaviaclient
  postgresql mariadb-server rabbitmq-server)
packages+=(python3-keystone) # tools/keystone/setup.sh (auth tests, stack.sh --keystone)
packages+=(openssh-server openssh-client) # sshd in local amphorae ([controller_worker] amp_ssh_key_name), stack.sh, its test
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d may forbid starting daemons at install time; we start them ourselves below.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

wait_for() { # name, command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "services: $1 did not start" >&2
  return 1
}

# PostgreSQL: the Debian cluster, on 127.0.0.1:5432.
pgver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$pgver main"; then
  pg_createcluster "$pgver" main >&2
fi
pg_ctlcluster "$pgver" main start >&2 2>/dev/null || true
wait_for postgresql "su postgres -c 'psql -h 127.0.0.1 -c \"select 1\"' || su postgres -c 'psql -c \"select 1\"'"
su postgres -c "psql -v ON_ERROR_STOP=0 -c \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='octavia') THEN CREATE ROLE octavia LOGIN SUPERUSER PASSWORD 'octavia'; END IF; END\\\$\\\$;\"" >&2

# MariaDB on 127.0.0.1:3306.
if ! mysqladmin ping >/dev/null 2>&1; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  (setsid mysqld_safe --bind-address=127.0.0.1 >/dev/null 2>&1 &)
fi
wait_for mariadb "mysqladmin ping"
mysql -e "CREATE USER IF NOT EXISTS 'octavia'@'127.0.0.1' IDENTIFIED BY 'octavia'; CREATE USER IF NOT EXISTS 'octavia'@'localhost' IDENTIFIED BY 'octavia'; GRANT ALL ON *.* TO 'octavia'@'127.0.0.1' WITH GRANT OPTION; GRANT ALL ON *.* TO 'octavia'@'localhost' WITH GRANT OPTION; FLUSH PRIVILEGES;" >&2

# RabbitMQ on 127.0.0.1:5672.
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  mkdir -p /etc/rabbitmq
  echo "NODE_IP_ADDRESS=127.0.0.1" > /etc/rabbitmq/rabbitmq-env.conf
  (HOME=/var/lib/rabbitmq setsid rabbitmq-server >/var/log/rabbitmq-ci.log 2>&1 &)
fi
wait_for rabbitmq "rabbitmqctl -q await_startup"
rabbitmqctl -q add_user octavia octavia >/dev/null 2>&1 || true
rabbitmqctl -q set_permissions -p / octavia ".*" ".*" ".*" >&2

echo "export OCTAVIA_TEST_POSTGRES='postgresql://octavia:octavia@127.0.0.1:5432/postgres'"
echo "export OCTAVIA_TEST_MYSQL='mysql+pymysql://octavia:octavia@127.0.0.1:3306/mysql'"
echo "export OCTAVIA_TEST_RABBIT='rabbit://octavia:octavia@127.0.0.1:5672/'"
