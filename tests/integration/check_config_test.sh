#!/usr/bin/env bash
# `sipedge check-config` as an operator runs it: exit codes (0 ok, 1 errors, 2 warnings with
# --strict), positioned errors and warnings on stderr, the summary on stdout; certificates that
# expire soon (warning) or have expired (error); and the commented example the demo runs.
# Usage: check_config_test.sh SIPEDGE_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

expect_err_match() {  # expect_err_match NAME REGEX
  grep -qE -- "$2" "$tmp/err"
  check "$1: no line matching '$2' in stderr: $(head -c 800 "$tmp/err")" $?
}

expect_empty() {  # expect_empty NAME FILE
  [ ! -s "$2" ]
  check "$1: $2 not empty: $(head -c 600 "$2")" $?
}

# A self-signed certificate for acme.test: mint_cert NAME DAYS
mint_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/$1.key" \
    -out "$tmp/$1.pem" -days "$2" -subj "/CN=$1" -addext "subjectAltName=DNS:acme.test" \
    2>/dev/null
}

# A certificate for acme.test that expired in 2020 (OpenSSL 3.0 has no -not_after: `openssl ca`
# takes explicit dates).
mint_expired() {
  local ca=$tmp/ca
  mkdir -p "$ca/newcerts" && : >"$ca/index.txt" && echo 01 >"$ca/serial"
  cat >"$ca/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
dir = $ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = p
copy_extensions = copy
[p]
commonName = supplied
EOF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/expired.key" \
    -out "$ca/expired.csr" -subj "/CN=expired" -addext "subjectAltName=DNS:acme.test" 2>/dev/null &&
    openssl ca -batch -config "$ca/ca.cnf" -selfsign -keyfile "$tmp/expired.key" \
      -in "$ca/expired.csr" -out "$tmp/expired.pem" -startdate 20200101000000Z \
      -enddate 20200201000000Z -notext >/dev/null 2>&1
}

# A configuration with a mutual-TLS listener using certificate NAME (line 10 names it).
write_tls_config() {  # write_tls_config FILE CERT_NAME
  cat >"$1" <<EOF
[server]
domains = ["acme.test"]

[[listeners]]
transport = "tls"
address = "127.0.0.1:5061"
tls = "edge"

[tls.edge]
certificate = "$2.pem"
key = "$2.key"
client_certificate = "require"

[[partners]]
name = "p"
domains = ["p.test"]
EOF
}

# ---- a valid configuration -----------------------------------------------------------------------
mint_cert good 365 || { echo "FAIL: openssl could not mint a certificate"; exit 1; }
write_tls_config "$tmp/good.toml" good
expect_exit "valid" 0 "$bin" check-config "$tmp/good.toml"
expect_line "valid" "$tmp/good.toml: ok (1 listener, 1 partner, 0 warnings)"
expect_empty "valid: stderr" "$tmp/err"
expect_exit "valid --strict" 0 "$bin" check-config --strict "$tmp/good.toml"
expect_exit "valid --quiet" 0 "$bin" check-config --quiet "$tmp/good.toml"
expect_empty "valid --quiet: stdout" "$tmp/out"

# ---- a parse error: its exact position ------------------------------------------------------------
sed 's/^client_certificate = "require"/client_certificate = "always"/' "$tmp/good.toml" \
  >"$tmp/bad.toml"
expect_exit "error" 1 "$bin" check-config "$tmp/bad.toml"
expect_err "error" \
  "$tmp/bad.toml:12:22: tls.edge.client_certificate: expected \"none\" or \"request\" or \"require\", got \"always\""
expect_line "error" "$tmp/bad.toml: 1 error"
printf '[server]\ndomains = ["acme.test"]\n[[listeners]]\ntransport = "udp"\naddress = "127.0.0.1:5060"\n[[partners]]\nname = "p"\ndomains = ["p.test"]\nmethods = ["INVITE", "invite"]\n' \
  >"$tmp/dup.toml"
expect_exit "duplicate method" 1 "$bin" check-config "$tmp/dup.toml"
expect_err "duplicate method" \
  "$tmp/dup.toml:9:22: partners[0].methods[1]: duplicate method \"INVITE\" (also partners[0].methods[0])"
expect_exit "missing file" 1 "$bin" check-config "$tmp/nope.toml"
expect_err_match "missing file" "^$tmp/nope.toml: cannot read the file: "

# ---- warnings: printed, exit 0, or 2 with --strict ------------------------------------------------
cat "$tmp/good.toml" >"$tmp/warn.toml"
printf '[federation]\nmode = "open"\n' >>"$tmp/warn.toml"
cat >>"$tmp/warn.toml" <<'EOF'
[[partners]]
name = "q"
domains = ["q.test"]
networks = ["10.0.0.0/8", "10.1.0.0/16"]
EOF
expect_exit "warnings" 0 "$bin" check-config "$tmp/warn.toml"
expect_err "warnings: open federation" \
  "$tmp/warn.toml:18:8: warning: federation.mode: open federation with no blocked_domains: any domain whose certificate and DNS check out may send; list the domains to refuse in federation.blocked_domains"
expect_err "warnings: shadowed network" \
  "$tmp/warn.toml:22:27: warning: partners[1].networks[1]: 10.1.0.0/16 is already covered by networks[0] (10.0.0.0/8)"
expect_line "warnings" "$tmp/warn.toml: ok (1 listener, 2 partners, 2 warnings)"
expect_exit "warnings --strict" 2 "$bin" check-config --strict "$tmp/warn.toml"
expect_line "warnings --strict" \
  "$tmp/warn.toml: ok (1 listener, 2 partners, 2 warnings), failing with --strict"
expect_exit "warnings --quiet" 0 "$bin" check-config --quiet "$tmp/warn.toml"
expect_empty "warnings --quiet: stderr" "$tmp/err"
expect_empty "warnings --quiet: stdout" "$tmp/out"
expect_exit "warnings --quiet --strict" 2 "$bin" check-config --quiet --strict "$tmp/warn.toml"
expect_err_match "warnings --quiet --strict" "warning: federation.mode"

# ---- certificates: expiring soon (warning), expired (error), not covering (warning) ---------------
mint_cert soon 10
write_tls_config "$tmp/soon.toml" soon
expect_exit "expiring" 0 "$bin" check-config "$tmp/soon.toml"
expect_err_match "expiring" \
  "^$tmp/soon.toml:10:15: warning: tls.edge.certificate: the certificate in \"$tmp/soon.pem\" expires in (9|10) days, on "
expect_exit "expiring --strict" 2 "$bin" check-config --strict "$tmp/soon.toml"

if mint_expired; then
  write_tls_config "$tmp/expired.toml" expired
  expect_exit "expired" 1 "$bin" check-config "$tmp/expired.toml"
  expect_err "expired" \
    "$tmp/expired.toml:10:15: tls.edge.certificate: the certificate in \"$tmp/expired.pem\" expired on 2020-02-01 00:00:00 UTC"
else
  check "openssl ca could not mint an expired certificate" 1
fi

sed 's/^domains = \["acme.test"\]/domains = ["other.test"]/' "$tmp/good.toml" >"$tmp/cover.toml"
expect_exit "not covered" 0 "$bin" check-config "$tmp/cover.toml"
expect_err "not covered" \
  "$tmp/cover.toml:10:15: warning: tls.edge.certificate: the certificate does not cover the served domain \"other.test\" (it covers: \"acme.test\"); partners will refuse it"

# ---- files the configuration names ---------------------------------------------------------------
cp "$tmp/good.toml" "$tmp/files.toml"
printf '[geoip]\ndatabase = "nope.mmdb"\n[decision_log]\npath = "no-such-dir/decisions.log"\n' \
  >>"$tmp/files.toml"
expect_exit "files" 1 "$bin" check-config "$tmp/files.toml"
expect_err "files: geoip" "$tmp/files.toml:18:12: geoip.database: \"$tmp/nope.mmdb\" does not exist"
expect_err "files: decision log" \
  "$tmp/files.toml:20:8: decision_log.path: the directory \"$tmp/no-such-dir\" does not exist"
sed 's/^key = "good.key"/key = "soon.key"/' "$tmp/good.toml" >"$tmp/key.toml"
expect_exit "key mismatch" 1 "$bin" check-config "$tmp/key.toml"
expect_err_match "key mismatch" "^$tmp/key.toml:11:7: tls.edge.key: private key: "

# ---- the commented example the demo runs ---------------------------------------------------------
# A copy of policies/ and the development certificates (minted by the demo's script when the
# checkout has none), with the var/ directory the demo makes for the decision log.
mkdir -p "$tmp/example/policies" "$tmp/example/certs/dev" "$tmp/example/var"
cp "$src"/policies/*.toml "$tmp/example/policies/"
if [ -s "$src/certs/dev/edge.pem" ] && [ -s "$src/certs/dev/ca.pem" ]; then
  cp "$src"/certs/dev/* "$tmp/example/certs/dev/"
else
  bash "$src/certs/mint-dev-certs.sh" "$tmp/example/certs/dev" >/dev/null
fi
expect_exit "example" 0 "$bin" check-config --strict "$tmp/example/policies/example.toml"
expect_line "example" "$tmp/example/policies/example.toml: ok (3 listeners, 1 partner, 0 warnings)"
expect_empty "example: stderr" "$tmp/err"

cli_finish check-config
