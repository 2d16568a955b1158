#!/usr/bin/env bash
# Certificate rotation and configuration reload of `sipedge run` under load, on loopback:
#
#   partner SIPp (TCP, a connection per call) -> stunnel (mutual TLS, verifies sipedge)
#     -> sipedge TLS 127.0.0.1 (external) ... sipedge UDP 127.0.0.10 (internal) -> SIPp UAS
#
# 1. Start-up: the certificate's days until expiry are logged (a warning: under 30 days) and
#    /metrics shows sipedge_certificate_expiry_seconds.
# 2. While SIPp makes calls over TLS (each call a new handshake), the certificate and key files
#    are replaced by rename with a new pair (same CA, new serial) and sipedge gets SIGHUP: no call
#    fails, and `openssl s_client` then sees the new serial.
# 3. A broken pair (the key does not match) + SIGHUP: the second certificate keeps serving, the
#    log says why, sipedge_config_reloads_total{result="error"} counts it.
# 4. Rotation without SIGHUP: a new pair renamed into place is served within the poll interval
#    (2 s).
# 5. A configuration with a syntax error + SIGHUP: logged with file:line:col; sipedge keeps
#    serving calls with the certificate in service.
#
# Usage: tls_rotation_test.sh SIPEDGE_BINARY
# Environment: ROTATION_CALLS (default 400), ROTATION_RATE (calls/s, default 20), KEEP_TMP=1.
# Runtime: about 40 s. Loopback only; every process is stopped by PID.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: tls_rotation_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

calls=${ROTATION_CALLS:-400}
rate=${ROTATION_RATE:-20}
tls_port=$(free_port)
int_port=$(free_port)
uas_port=$(free_port)
admin_port=$(free_port)
stunnel_port=$(free_port)

# ---- certificates: the dev CA, then our own leaves under it ---------------------------------------
certs=$IT_TMP/certs
live=$IT_TMP/live  # the files sipedge is configured with
mkdir -p "$certs" "$live"
mint_test_certs "$certs" || { echo "cannot mint certificates" >&2; exit 1; }
mint_leaf() {  # mint_leaf NAME SERIAL DAYS SANS: a leaf under the dev CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/$1.key" \
    -out "$certs/$1.csr" -subj "/O=sipedge tests/CN=$1" 2>/dev/null &&
    openssl x509 -req -in "$certs/$1.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
      -set_serial "$2" -days "$3" -out "$certs/$1.pem" \
      -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$4") \
      2>/dev/null
}
# sipedge's certificates cover the served domain (acme.test) and localhost (stunnel checks it).
edge_sans=DNS:acme.test,DNS:localhost,IP:127.0.0.1
if ! { mint_leaf edge1 0x5A01 20 "$edge_sans" && mint_leaf edge2 0x5A02 400 "$edge_sans" &&
  mint_leaf edge3 0x5A03 400 "$edge_sans" && mint_leaf edge4 0x5A04 400 "$edge_sans" &&
  mint_leaf partner-test 0x5A10 30 DNS:partner.test; }; then
  echo "cannot mint leaves" >&2
  exit 1
fi
cp "$certs/edge1.pem" "$live/edge.pem"
cp "$certs/edge1.key" "$live/edge.key"

install_pair() {  # install_pair CERT KEY: copies, renamed into place (certificate first)
  cp "$1" "$live/edge.pem.tmp" && cp "$2" "$live/edge.key.tmp" &&
    mv "$live/edge.pem.tmp" "$live/edge.pem" && mv "$live/edge.key.tmp" "$live/edge.key"
}

served_serial() {  # served_serial: the serial of the certificate sipedge presents to a new handshake
  timeout 5 openssl s_client -connect "127.0.0.1:$tls_port" -servername localhost \
    -cert "$certs/partner-test.pem" -key "$certs/partner-test.key" -CAfile "$certs/ca.pem" \
    </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}

wait_serial() {  # wait_serial SERIAL TIMEOUT_S: until new handshakes see SERIAL
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    [ "$(served_serial)" = "$1" ] && return 0
    sleep 0.2
  done
  return 1
}

log_count() { grep -cE -- "$1" "$IT_TMP/edge.log"; }

# ---- sipedge --------------------------------------------------------------------------------------
write_config() {
  cat >"$IT_TMP/edge.toml" <<EOF
[server]
domains = ["acme.test"]
workers = 2

[[listeners]]
transport = "tls"
address = "127.0.0.1:$tls_port"
side = "external"
tls = "edge"

[[listeners]]
transport = "udp"
address = "127.0.0.10:$int_port"
side = "internal"

[tls.edge]
certificate = "$live/edge.pem"
key = "$live/edge.key"
ca = "$certs/ca.pem"
client_certificate = "require"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[partners]]
name = "partner"
domains = ["partner.test"]

[[next_hops]]
name = "uas"
address = "127.0.0.3:$uas_port"

[next_hop_health]
interval = "0s"

[admin]
listen = "127.0.0.1:$admin_port"
EOF
}
write_config

start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.log"
echo "tls rotation: sipedge (pid $edge_pid) TLS 127.0.0.1:$tls_port, $calls calls at $rate/s"

# ---- 1. start-up ----------------------------------------------------------------------------------
assert_eq "start: the first certificate is served" "$(served_serial)" 5A01
assert_eq "start: days until expiry logged, a warning under 30 days" \
  "$(log_count "warning tls: profile edge: $live/edge.pem: .*serial 5A01: expires in (19|20) days")" 1
expiry=$(metric_line "sipedge_certificate_expiry_seconds{profile=\"edge\",file=\"$live/edge.pem\"}")
check "start: /metrics shows the expiry (${expiry:-none} s, want 19-20 days)" \
  "$([ -n "$expiry" ] && [ "$expiry" -gt $((19 * 86400)) ] && [ "$expiry" -le $((20 * 86400)) ] &&
    echo 0 || echo 1)"

# ---- 2. rotation under load (SIGHUP) --------------------------------------------------------------
export SIPP_TRACE_MSG=0 SIPP_RATE=$rate SIPP_TIMEOUT=$((calls / rate + 30))
start_sipp_uas load_call_uas "$uas_port" udp -i 127.0.0.3 -aa || exit 1
start_stunnel_client "$stunnel_port" "127.0.0.1:$tls_port" "$certs/ca.pem" \
  "$certs/partner-test.pem" "$certs/partner-test.key" localhost || exit 1
(
  sleep $((calls / rate / 3))
  install_pair "$certs/edge2.pem" "$certs/edge2.key"
  kill -HUP "$edge_pid"
  sleep 2
  served_serial >"$IT_TMP/serial-during-load"
) &
rotator=$!
# tn: a TCP connection per call, so stunnel makes a new TLS handshake for every call, before, across
# and after the rotation.
run_sipp load_call_uac "127.0.0.1:$stunnel_port" tn "$calls" -i 127.0.0.2 -s jerry
rc=$?
wait "$rotator"
assert_sipp_ok "calls over TLS across the rotation" "$rc" "$calls" 0
assert_eq "rotation: new handshakes during the load see the new certificate" \
  "$(cat "$IT_TMP/serial-during-load")" 5A02
assert_eq "rotation: new handshakes see the new certificate" "$(served_serial)" 5A02
assert_ge "rotation: the reload is logged" "$(log_count 'info config: reloaded ')" 1
assert_eq "rotation: sipedge_config_reloads_total{result=\"ok\"}" \
  "$(metric_line 'sipedge_config_reloads_total{result="ok"}')" 1
expiry=$(metric_line "sipedge_certificate_expiry_seconds{profile=\"edge\",file=\"$live/edge.pem\"}")
check "rotation: /metrics shows the new certificate's expiry (${expiry:-none} s)" \
  "$([ -n "$expiry" ] && [ "$expiry" -gt $((399 * 86400)) ] && echo 0 || echo 1)"

# ---- 3. a broken certificate is refused -----------------------------------------------------------
before=$(log_count 'certificates in service are kept: .*does not match')
install_pair "$certs/edge3.pem" "$certs/edge2.key"
kill -HUP "$edge_pid"
wait_for_line "$IT_TMP/edge.log" 'certificates in service are kept: .*does not match' \
  $((before + 1)) 10 "$edge_pid"
check "broken: the log says why ($(grep 'does not match' "$IT_TMP/edge.log" | tail -n 1))" $?
assert_eq "broken: the second certificate keeps serving" "$(served_serial)" 5A02
assert_eq "broken: sipedge_config_reloads_total{result=\"error\"}" \
  "$(metric_line 'sipedge_config_reloads_total{result="error"}')" 1

# ---- 4. rotation by a file change alone -----------------------------------------------------------
install_pair "$certs/edge4.pem" "$certs/edge4.key"
wait_serial 5A04 6
check "file change: the new certificate is served within the poll interval (got $(served_serial))" $?
assert_ge "file change: logged" "$(log_count 'info tls: certificate files changed: new TLS')" 1
assert_ge "file change: sipedge_certificate_reloads_total{result=\"ok\"}" \
  "$(metric_line 'sipedge_certificate_reloads_total{result="ok"}')" 1

# ---- 5. a configuration with a syntax error -------------------------------------------------------
bad_line=$(($(wc -l <"$IT_TMP/edge.toml") + 1))
echo 'limits = [' >>"$IT_TMP/edge.toml"
kill -HUP "$edge_pid"
wait_for_line "$IT_TMP/edge.log" "error config: reload failed.*edge\.toml:$bad_line:[0-9]+: " 1 10 \
  "$edge_pid"
check "syntax error: logged with file:line:col ($(grep 'reload failed.*edge\.toml:' "$IT_TMP/edge.log" | tail -n 1))" $?
assert_eq "syntax error: the certificate in service stays" "$(served_serial)" 5A04
run_sipp load_call_uac "127.0.0.1:$stunnel_port" tn 10 -i 127.0.0.2 -s jerry
assert_sipp_ok "syntax error: calls still go through" $? 10 0
write_config
kill -HUP "$edge_pid"
wait_for_line "$IT_TMP/edge.log" 'info config: reloaded ' 2 10 "$edge_pid"
check "the repaired configuration reloads" $?
assert_eq "sipedge_config_reloads_total{result=\"error\"} after all" \
  "$(metric_line 'sipedge_config_reloads_total{result="error"}')" 2

kill -0 "$edge_pid" 2>/dev/null
check "sipedge is still running" $?
it_stop "$edge_pid" 5
it_finish
