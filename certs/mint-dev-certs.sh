#!/usr/bin/env bash
# Mints a development CA and the certificates the demo and the tests use, with the SANs sipedge
# checks (RFC 5922: subjectAltName DNS entries name the SIP domain). Never for production:
# see certs/README.md for real certificates.
# Usage: certs/mint-dev-certs.sh OUT_DIR [DAYS]
set -euo pipefail
out=${1:?usage: mint-dev-certs.sh OUT_DIR [DAYS]}
days=${2:-825}
mkdir -p "$out"
cd "$out"

# name  SANs (edge: the demo's domain acme.example and the tests' acme.test: sipedge refuses a
# certificate that does not cover the domains it serves on an external TLS listener)
leaves=(
  "edge:DNS:acme.example,DNS:acme.test,DNS:edge.acme.example,DNS:localhost,IP:127.0.0.1,IP:::1"
  "partner:DNS:partner.example,DNS:sip.partner.example"
  "other-partner:DNS:other.example"
)

if [ ! -s ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days "$days" -subj "/O=sipedge development/CN=sipedge dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
for entry in "${leaves[@]}"; do
  name=${entry%%:*}
  sans=${entry#*:}
  [ -s "$name.pem" ] && continue
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" \
    -out "$name.csr" -subj "/O=sipedge development/CN=${name}" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$name.pem" \
    -days "$days" -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$sans") \
    2>/dev/null
  rm -f "$name.csr"
done
chmod 600 ./*.key
for entry in "${leaves[@]}"; do
  name=${entry%%:*}
  openssl verify -CAfile ca.pem "$name.pem" >/dev/null
done
echo "dev certificates in $(pwd): ca.pem, $(for e in "${leaves[@]}"; do printf '%s.pem ' "${e%%:*}"; done)"
