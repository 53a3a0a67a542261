#!/usr/bin/env bash
# Installs Octavia system-wide as a self-contained binary, with upstream's command names:
#   /usr/local/lib/octavia/octavia            the executable (dotnet publish, self-contained)
#   /usr/local/bin/octavia-api|-worker|-health-manager|-housekeeping|-db-manage, amphora-agent, octavia
#   /etc/octavia/octavia.conf                 (a commented sample if none exists)
#   /etc/systemd/system/octavia-*.service     (not enabled; see docs/operator-guide.md)
# Usage: sudo tools/install.sh [--prefix /usr/local] [--no-systemd]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
systemd=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "install: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install: run as root (sudo $0)" >&2; exit 1; }

echo "install: publishing a self-contained binary (this takes a minute)..."
dotnet publish "$root/src/Octavia/Octavia.csproj" -c Release -r linux-x64 --self-contained \
  -o "$prefix/lib/octavia" --nologo -v quiet -clp:ErrorsOnly

mkdir -p "$prefix/bin"
ln -sf "$prefix/lib/octavia/octavia" "$prefix/bin/octavia"
write_wrapper() { # name subcommand
  cat > "$prefix/bin/$1" <<WRAP
#!/bin/sh
exec "$prefix/lib/octavia/octavia" $2 "\$@"
WRAP
  chmod 755 "$prefix/bin/$1"
}
write_wrapper octavia-api api
write_wrapper octavia-worker worker
write_wrapper octavia-health-manager health-manager
write_wrapper octavia-housekeeping housekeeping
write_wrapper octavia-db-manage db-manage
write_wrapper amphora-agent amphora-agent

mkdir -p /etc/octavia
chmod 750 /etc/octavia
if [ ! -f /etc/octavia/octavia.conf ]; then
  "$prefix/lib/octavia/octavia" config sample > /etc/octavia/octavia.conf
  echo "install: wrote a commented sample to /etc/octavia/octavia.conf"
fi
getent group octavia >/dev/null || groupadd --system octavia
getent passwd octavia >/dev/null || useradd --system --gid octavia --home-dir /var/lib/octavia --shell /usr/sbin/nologin octavia
mkdir -p /var/lib/octavia && chown octavia:octavia /var/lib/octavia
chgrp octavia /etc/octavia

if [ "$systemd" = 1 ] && [ -d /etc/systemd/system ]; then
  for unit in "$root"/etc/systemd/*.service; do
    sed "s#/usr/local/bin#$prefix/bin#g" "$unit" > "/etc/systemd/system/$(basename "$unit")"
  done
  command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
  echo "install: systemd units installed (enable with: systemctl enable --now octavia-api octavia-worker octavia-health-manager octavia-housekeeping)"
fi
echo "install: done. Next: edit /etc/octavia/octavia.conf, then $prefix/bin/octavia-db-manage upgrade head"
