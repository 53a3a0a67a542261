#!/usr/bin/env bash
# Installs Octavia system-wide as a self-contained binary, with upstream's command names:
#   /usr/local/lib/octavia/octavia            the executable (dotnet publish, self-contained)
#   /usr/local/bin/octavia-api|-worker|-health-manager|-housekeeping|-db-manage, amphora-agent, octavia
#   /etc/octavia/octavia.conf                 (a commented sample if none exists)
#   /etc/systemd/system/octavia-*.service     (not enabled; see docs/operator-guide.md)
# Usage: sudo tools/install.sh [--prefix /usr/local] [--no-systemd]
#        tools/install.sh --root DIR   everything under DIR (DIR/usr/local, DIR/etc/octavia, DIR/etc/systemd/system,
#                                      DIR/var/lib/octavia), runnable from there; no system user, no daemon-reload
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=
destroot=
systemd=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --root) destroot="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "install: unknown argument $1" >&2; exit 2 ;;
  esac
done
prefix="${prefix:-$destroot/usr/local}"
confdir="$destroot/etc/octavia"
unitdir="$destroot/etc/systemd/system"
statedir="$destroot/var/lib/octavia"
[ -n "$destroot" ] || [ "$(id -u)" = 0 ] || { echo "install: run as root (sudo $0), or give --root DIR" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "install: the .NET 10 SDK is required (dotnet not found on PATH)" >&2; exit 1; }

echo "install: publishing a self-contained binary (this takes a minute)..."
# Its own artifacts directory: a RID-specific restore would otherwise rewrite the checkout's
# project.assets.json under builds and tests running from it at the same time.
build_dir="$(mktemp -d "${TMPDIR:-/tmp}/octavia-install.XXXXXX")"
trap 'rm -rf "$build_dir"' EXIT
dotnet publish "$root/src/Octavia/Octavia.csproj" -c Release -r linux-x64 --self-contained \
  --artifacts-path "$build_dir" -o "$prefix/lib/octavia" --nologo -v quiet -clp:ErrorsOnly

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

mkdir -p "$confdir"
chmod 750 "$confdir"
if [ ! -f "$confdir/octavia.conf" ]; then
  "$prefix/lib/octavia/octavia" config sample > "$confdir/octavia.conf"
  echo "install: wrote a commented sample to $confdir/octavia.conf"
fi
mkdir -p "$statedir"
if [ -z "$destroot" ]; then
  getent group octavia >/dev/null || groupadd --system octavia
  getent passwd octavia >/dev/null || useradd --system --gid octavia --home-dir /var/lib/octavia --shell /usr/sbin/nologin octavia
  chown octavia:octavia "$statedir"
  chgrp octavia "$confdir"
fi

if [ "$systemd" = 1 ] && { [ -n "$destroot" ] || [ -d /etc/systemd/system ]; }; then
  mkdir -p "$unitdir"
  for unit in "$root"/etc/systemd/*.service; do
    sed -e "s#/usr/local/bin/#$prefix/bin/#g" -e "s#/etc/octavia/#$confdir/#g" "$unit" > "$unitdir/$(basename "$unit")"
  done
  if [ -z "$destroot" ]; then
    command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true
  fi
  echo "install: systemd units in $unitdir (enable with: systemctl enable --now octavia-api octavia-worker octavia-health-manager octavia-housekeeping)"
fi
echo "install: done. Next: edit $confdir/octavia.conf, then $prefix/bin/octavia-db-manage --config-file $confdir/octavia.conf upgrade head"
