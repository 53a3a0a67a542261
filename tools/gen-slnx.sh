#!/usr/bin/env bash
# Rewrites Octavia.slnx from the projects on disk (src/, tests/, bench/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{
  echo '<Solution>'
  echo '  <Folder Name="/src/">'
  for p in Core Data Api Drivers Controller Amphora.Agent; do echo "    <Project Path=\"src/Octavia.$p/Octavia.$p.csproj\" />"; done
  echo '    <Project Path="src/Octavia/Octavia.csproj" />'
  echo '  </Folder>'
  for top in tests bench; do
    echo "  <Folder Name=\"/$top/\">"
    for d in "$top"/*/; do
      d=${d%/}; n=$(basename "$d")
      if [ -f "$d/$n.csproj" ]; then echo "    <Project Path=\"$d/$n.csproj\" />"; fi
    done
    echo '  </Folder>'
  done
  echo '</Solution>'
} > Octavia.slnx
