#!/usr/bin/env bash
# The newcomer's first command: install, build, and run sipedge on a loopback demo.
#  1. Mints the development CA and certificates (certs/mint-dev-certs.sh) into build/demo-certs.
#  2. Starts `sipedge responder` (the network core: UDP, TCP and mutual-TLS listeners on
#     127.0.0.1, transactions) with the edge certificate.
#  3. Probes it as a partner would: `sipedge probe` over UDP, then over mutual TLS showing the
#     certificate it verified.
#  4. From a terminal it keeps running until Ctrl-C (try the probe commands it prints); from a
#     script it stops after the probes.
# The gateway itself (partners in TOML, policy, identity mapping) comes with issues 4 and 5.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPEDGE_TESTS=OFF
cmake --build build --target sipedge
certs=build/demo-certs
bash certs/mint-dev-certs.sh "$certs" >/dev/null
out=$(mktemp)
./build/sipedge responder --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 \
  --listen tls:127.0.0.1:0 --cert "$certs/edge.pem" --key "$certs/edge.key" --ca "$certs/ca.pem" \
  --client-cert require --workers 2 >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do
  [ "$(grep -c '^listening' "$out")" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || { echo "demo: sipedge responder did not start" >&2; exit 1; }
  sleep 0.1
done
cat "$out"
udp=$(sed -n 's/^listening udp 127\.0\.0\.1://p' "$out")
tls=$(sed -n 's/^listening tls 127\.0\.0\.1://p' "$out")
echo
echo "== sipedge probe sip:demo@127.0.0.1:$udp --count 5 =="
./build/sipedge probe "sip:demo@127.0.0.1:$udp" --count 5 | grep -Ev '^[<>] '
echo
echo "== sipedge probe sips:demo@localhost:$tls (mutual TLS as partner.example) =="
probe_tls=(./build/sipedge probe "sips:demo@localhost:$tls" --ca "$certs/ca.pem"
  --cert "$certs/partner.pem" --key "$certs/partner.key")
"${probe_tls[@]}"
echo
echo "== sipedge parse: a message the gateway would answer with 400 =="
./build/sipedge parse examples/messages/bad-cseq.sip || true
if [ -t 0 ]; then
  echo
  echo "sipedge responder is running (PID $pid). Try: ${probe_tls[*]}"
  echo "Ctrl-C stops it."
  wait "$pid"
fi
