#!/usr/bin/env bash
# Fails when a module includes a module it may not use (STYLE S1, DESIGN.md's module table).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [base]=""
  [sip]="base"
  [config]="base sip"
  [geo]="base"
  [policy]="base sip config geo"
  [identity]="base sip config loop"
  [location]="base"
  [auth]="base sip"
  [loop]="base"
  [dns]="base config loop"
  [transport]="base sip config loop"
  [txn]="base sip transport"
  [b2bua]="base sip config txn policy identity dns transport location auth"
  [ops]="base config policy loop"
  [app]="base sip config geo policy identity loop dns transport txn b2bua ops location auth"
)
status=0
for dir in src/* include/sipedge/*; do
  [ -d "$dir" ] || continue
  module=$(basename "$dir")
  if [ -z "${allowed[$module]+x}" ]; then
    echo "check-layering: unknown module '$module' ($dir): add it to tools/check-layering.sh" >&2
    status=1
    continue
  fi
  while IFS=: read -r file line text; do
    used=$(sed -E 's|.*"sipedge/([a-z0-9_]+)/.*|\1|' <<<"$text")
    [ "$used" = "$module" ] && continue
    if ! grep -qw -- "$used" <<<"${allowed[$module]}"; then
      echo "$file:$line: module '$module' may not include '$used' ($text)" >&2
      status=1
    fi
  done < <(grep -rn '#include "sipedge/' "$dir" || true)
done
# b2bua reaches the network only through txn: of transport it may use the Sender seam's value
# types (sipedge_transport_api), never sockets, TLS or the event loop.
if grep -rnE '#include "sipedge/transport/' src/b2bua include/sipedge/b2bua |
    grep -vE 'sipedge/transport/(sender|endpoint|peer_identity|received)\.h"'; then
  echo "check-layering: b2bua may include only transport's API headers (sender, endpoint, peer_identity, received)" >&2
  status=1
fi
# The pure core never includes an event loop, TLS, DNS or GeoIP library.
if grep -rnE '#include <(event2|openssl|ares|maxminddb|ldap)' src/base src/sip include/sipedge/base include/sipedge/sip; then
  echo "check-layering: the pure core includes an I/O library" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-layering: ok"
exit $status
