#!/usr/bin/env bash
# The newcomer's first command: install, build, and run sipedge on the bundled demo.
# Today sipedge's operator tool `sipedge parse` checks the example captures in examples/;
# the gateway itself comes with the network-core and B2BUA work.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPEDGE_TESTS=OFF
cmake --build build --target sipedge
echo
echo "== sipedge parse: one INVITE, typed view =="
./build/sipedge parse examples/messages/invite.sip
echo
echo "== sipedge parse --stream: a TLS stream capture with a keep-alive =="
./build/sipedge parse --stream --summary examples/messages/tls-stream.cap
echo
echo "== sipedge parse: a message the gateway would answer with 400 =="
./build/sipedge parse examples/messages/bad-cseq.sip || true
