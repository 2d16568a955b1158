#!/usr/bin/env bash
# The newcomer's first command: install, build, and run the sipedge federation edge on loopback
# with policies/example.toml (static directory, development certificates).
#  1. Mints the development CA and certificates (certs/mint-dev-certs.sh) into certs/dev/.
#  2. Starts `sipedge responder` on 127.0.0.1:5080 as the enterprise's internal proxy, and
#     `sipedge run --config policies/example.toml`: partners on 127.0.0.1:5060 (UDP) and :5061
#     (mutual TLS), the inside reached from 127.0.0.1:5070, /metrics on 127.0.0.1:9090.
#  3. Probes it as a partner would: OPTIONS and MESSAGE to jerry@acme.example over UDP, then over
#     mutual TLS with the partner certificate. sipedge maps jerry@acme.example to
#     js@nyc.acme.example and relays to the responder, which answers; then it shows /metrics.
#  4. From a terminal it keeps running until Ctrl-C (try the probe commands it prints); from a
#     script it stops after the probes.
# The ports are fixed (the example configuration's): stop anything else using 5060, 5061, 5070,
# 5080 or 9090 first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPEDGE_TESTS=OFF
cmake --build build --target sipedge
certs=certs/dev
mkdir -p var  # policies/example.toml's decision log: var/decisions.log (git ignores var/)
bash certs/mint-dev-certs.sh "$certs" >/dev/null
inside=$(mktemp)
edge=$(mktemp)
./build/sipedge responder --listen udp:127.0.0.1:5080/internal --workers 1 >"$inside" &
inside_pid=$!
./build/sipedge run --config policies/example.toml >"$edge" 2>&1 &
edge_pid=$!
cleanup() {
  kill "$edge_pid" "$inside_pid" 2>/dev/null || true
  wait "$edge_pid" "$inside_pid" 2>/dev/null || true
  rm -f "$inside" "$edge"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q '^sipedge running' "$edge" && grep -q '^listening' "$inside" && break
  kill -0 "$edge_pid" 2>/dev/null || { cat "$edge" >&2; echo "demo: sipedge run did not start" >&2; exit 1; }
  kill -0 "$inside_pid" 2>/dev/null || { echo "demo: sipedge responder did not start" >&2; exit 1; }
  sleep 0.1
done
cat "$edge"
echo
echo "== sipedge probe sip:jerry@acme.example --proxy 127.0.0.1:5060 --count 5 (a partner, UDP) =="
./build/sipedge probe sip:jerry@acme.example --proxy 127.0.0.1:5060 --from sip:alice@partner.example \
  --count 5 | grep -Ev '^[<>] '
echo
echo "== MESSAGE over mutual TLS as partner.example (the edge's certificate must cover acme.example) =="
probe_tls=(./build/sipedge probe sips:jerry@acme.example --proxy 127.0.0.1:5061 --method MESSAGE
  --body "hello from partner.example" --from sip:alice@partner.example --ca "$certs/ca.pem"
  --cert "$certs/partner.pem" --key "$certs/partner.key")
"${probe_tls[@]}"
echo
echo "== /metrics (excerpt) =="
exec 3<>/dev/tcp/127.0.0.1/9090
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
grep -E '^sipedge_(dialogs|transactions|requests_total|directory_lookups_total|next_hop_up)' <&3 || true
exec 3<&-
if [ -t 0 ]; then
  echo
  echo "sipedge is running (PID $edge_pid; the internal responder is PID $inside_pid)."
  echo "Try: ${probe_tls[*]}"
  echo "Ctrl-C stops both."
  wait "$edge_pid"
fi
