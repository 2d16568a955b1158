#!/usr/bin/env bash
# `sipedge run` as a federation B2BUA whose directory is a real OpenLDAP slapd, on loopback:
#
#   partner UA (SIPp, 127.0.0.2) --UDP--> sipedge external 127.0.0.1
#   sipedge internal 127.0.0.10 --UDP--> internal UA (SIPp, 127.0.0.3) = the next hop
#   sipedge --LDAP (bind cn=edge,ou=services,dc=example,dc=test)--> slapd 127.0.0.1:free port
#
# slapd (lib.sh start_slapd) serves tests/data/ldap/directory.ldif with the test schema
# tests/data/ldap/sipedge.schema, the data the C++ LDAP tests use (domain acme.com). Checked on
# the wire with the scenario pairs of b2bua_test.sh (keys as its inbound_keys):
#   - jerry@acme.com (entry without targets) reaches sip:js@nyc.acme.com (Request-URI and To);
#   - elaine@acme.com (three sipTarget values with q 0.5, 0.9, 0.1) reaches Request-URI
#     sip:eb@mobile.nyc.acme.com (the q=0.9 one), To sip:eb@nyc.acme.com;
#   - nobody@acme.com (no entry) gets not_found_status 404 and the internal UA sees nothing
#     (sipp/b2b_reject_uac.xml);
#   - slapd stopped (by PID): after positive_ttl, a call to jerry gets 503 with Retry-After: 7
#     (unavailable_retry_after), the internal UA sees nothing, sipedge_directory_unavailable_total
#     grows; slapd restarted on the same port: calls succeed again within a bounded poll, sipedge
#     untouched (it reconnects every reconnect_interval);
#   - at the end /metrics shows sipedge_dialogs 0 and sipedge_relays_pending 0.
#
# Usage: b2bua_ldap_test.sh SIPEDGE_BINARY
# Environment: B2B_WORKERS (default 2), CALLS (per check, default 2), KEEP_TMP=1.
# Runtime: about 20 s. Loopback only.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: b2bua_ldap_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

PARTNER_IP=127.0.0.2
INSIDE_IP=127.0.0.3
EDGE_EXT=127.0.0.1
EDGE_INT=127.0.0.10
CALLS=${CALLS:-2}
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-30}
export SIPP_RATE=${SIPP_RATE:-10}
RECOVERY_S=10  # how long calls may keep failing after slapd is back

if ! start_slapd slapd "$IT_REPO_DIR/tests/data/ldap/directory.ldif"; then
  echo "cannot start slapd" >&2
  exit 1
fi
ldap_port=$SLAPD_PORT
printf 'edge-secret\n' >"$IT_TMP/ldap-password"
chmod 600 "$IT_TMP/ldap-password"

ext_port=$(free_port)
int_port=$(free_port)
uas_port=$(free_port)      # the internal UA (next hop)
partner_port=$(free_port)  # the partner's UA (unused: inbound calls only)
admin_port=$(free_port)

cat >"$IT_TMP/edge.toml" <<EOF
[server]
domains = ["acme.com"]
workers = ${B2B_WORKERS:-2}

[[listeners]]
transport = "udp"
address = "$EDGE_EXT:$ext_port"
side = "external"

[[listeners]]
transport = "udp"
address = "$EDGE_INT:$int_port"
side = "internal"

[directory]
backend = "ldap"
not_found_status = 404
unavailable_retry_after = "7s"

[directory.ldap]
uri = "$SLAPD_URI"
bind_dn = "cn=edge,ou=services,dc=example,dc=test"
password_file = "$IT_TMP/ldap-password"
base = "ou=people,dc=example,dc=test"
external_attribute = "sipExternalAddress"
internal_attribute = "sipInternalAddress"
target_attribute = "sipTarget"
ha1_attribute = "sipHA1"
timeout = "1s"
reconnect_interval = "500ms"

# Digest credentials for REGISTER come from the same entries (sipHA1; jerry's password is
# "secret" in realm acme.com).
[registrar.auth]

[directory.cache]
positive_ttl = "1s"
negative_ttl = "1s"

[[next_hops]]
name = "uas"
address = "$INSIDE_IP:$uas_port"

[next_hop_health]
interval = "0s"

[[partners]]
name = "partner"
domains = ["partner.test"]
address = "$PARTNER_IP:$partner_port"
transport = "udp"
# Plain UDP from loopback (no certificate to identify it by): the source network does.
require_mutual_tls = false
networks = ["127.0.0.0/8"]

[admin]
listen = "127.0.0.1:$admin_port"
EOF

start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.log"

# ---- keys (as b2bua_test.sh's inbound_keys, domain acme.com) -------------------------------------
FORBIDDEN_OUTSIDE="$INSIDE_IP|$EDGE_INT|nyc.acme.com|iside"
inbound_keys() {  # inbound_keys USER INTERNAL_RURI INTERNAL_TO: alice@partner.test calls USER@acme.com
  local to_user=$1 ruri=$2 to=$3
  UAC_KEYS=(-cid_str "pside-%u-%p@%s"
    -key leg pside -key from_uri sip:alice@partner.test -key to_uri "sip:$to_user@acme.com"
    -key forbidden "$FORBIDDEN_OUTSIDE"
    -key expected_contact_host "$EDGE_EXT" -key expected_via_host "$EDGE_EXT"
    -key refer_to sip:bob@acme.com -key rack_cseq_offset 0)
  UAS_KEYS=(-key leg iside -key forbidden "$PARTNER_IP|pside"
    -key expected_ruri "$ruri" -key expected_from sip:alice@partner.test -key expected_to "$to"
    -key expected_contact_host "$EDGE_INT" -key expected_via_host "$EDGE_INT"
    -key expected_refer_to sip:bob@nyc.acme.com)
}
jerry_keys() { inbound_keys jerry sip:js@nyc.acme.com sip:js@nyc.acme.com; }

UAS_PID=""
start_uas() {  # start_uas N: the internal UA (b2b_basic_uas, $UAS_KEYS) for N calls
  start_sipp_uas b2b_basic_uas "$uas_port" udp -i "$INSIDE_IP" -m "$1" -timeout 40s \
    -timeout_error "${UAS_KEYS[@]}" || return 1
  UAS_PID=$IT_LAST_PID
  UAS_PREFIX=$SIPP_UAS_LAST
}

UAS_RC=0
wait_uas() {  # wait_uas: until the internal UA has played its calls (bounded: 30 s); $UAS_RC
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$UAS_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$UAS_PID" 2>/dev/null; then
    it_stop "$UAS_PID" 2
    UAS_RC=124
  else
    wait "$UAS_PID"
    UAS_RC=$?
  fi
  UAS_PID=""
}

uas_received() {  # uas_received: messages the running internal UA has received so far
  grep -c 'message received' "$UAS_PREFIX.msg.log" 2>/dev/null || true
}

show() {  # show FILE: the head of a SIPp error log, indented
  head -c 1500 "$1" 2>/dev/null | sed 's/^/      | /' >&2
}

call_pair() {  # call_pair LABEL N: N calls of the basic pair with the current keys both succeed
  local label=$1 n=$2 rc
  start_uas "$n" || { check "$label: internal UA started" 1; return; }
  run_sipp b2b_basic_uac "$EDGE_EXT:$ext_port" udp "$n" -i "$PARTNER_IP" "${UAC_KEYS[@]}"
  rc=$?
  wait_uas
  assert_eq "$label: caller side ($n calls)" "$rc" 0 || show "$SIPP_LAST.err.log"
  assert_eq "$label: callee side ($n calls)" "$UAS_RC" 0 || show "$UAS_PREFIX.err.log"
}

reject() {  # reject USER STATUS N: N calls to USER@acme.com, each answered STATUS by sipedge
  run_sipp b2b_reject_uac "$EDGE_EXT:$ext_port" udp "$3" -i "$PARTNER_IP" -cid_str "pside-%u-%p@%s" \
    -key leg pside -key from_uri sip:alice@partner.test -key to_uri "sip:$1@acme.com" \
    -key forbidden "$FORBIDDEN_OUTSIDE" -key expected_status "$2"
}

echo "b2bua ldap: sipedge $EDGE_EXT:$ext_port / $EDGE_INT:$int_port, slapd $SLAPD_URI"

# ---- users in the directory -----------------------------------------------------------------------
jerry_keys
call_pair "jerry@acme.com -> sip:js@nyc.acme.com (LDAP entry, no targets)" "$CALLS"
inbound_keys elaine sip:eb@mobile.nyc.acme.com sip:eb@nyc.acme.com
call_pair "elaine@acme.com -> sip:eb@mobile.nyc.acme.com (highest q of 3 targets)" "$CALLS"

# ---- a user the directory does not know: 404, nothing inside ------------------------------------
jerry_keys
start_uas 1 || check "internal UA started" 1
reject nobody 404 "$CALLS"
rc=$?
assert_eq "nobody@acme.com (no entry): $CALLS calls answered 404" "$rc" 0 || show "$SIPP_LAST.err.log"
assert_ge "nobody@acme.com: 404 responses" "$(trace_count '^SIP/2\.0 404 ')" "$CALLS"
sleep 0.3
assert_eq "nobody@acme.com: messages the internal UA received" "$(uas_received)" 0
# The same internal UA then takes a call that is in the directory (it was listening all along).
run_sipp b2b_basic_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" "${UAC_KEYS[@]}"
rc=$?
wait_uas
assert_eq "jerry@acme.com after the 404s: caller side" "$rc" 0 || show "$SIPP_LAST.err.log"
assert_eq "jerry@acme.com after the 404s: callee side" "$UAS_RC" 0 || show "$UAS_PREFIX.err.log"

# ---- REGISTER authenticated with the credentials from the directory (waits for LDAP) ----------
sleep 1.2  # jerry's cached answer (positive_ttl 1 s) expires: the REGISTER waits for a search
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$INSIDE_IP" \
  --aor sip:jerry@acme.com --contact "sip:jerry@$INSIDE_IP:9" --password secret --algorithm SHA-256 --expect 200 2>&1)
check "REGISTER jerry@acme.com with sipHA1 from LDAP (SHA-256): 200 ($out)" $?
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$INSIDE_IP" \
  --aor sip:jerry@acme.com --contact "sip:jerry@$INSIDE_IP:9" --password secret --algorithm MD5 --expect 200 2>&1)
check "REGISTER jerry@acme.com with sipHA1 from LDAP (MD5): 200 ($out)" $?
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$INSIDE_IP" \
  --aor sip:elaine@acme.com --password secret --algorithm SHA-256 --expect 403 2>&1)
check "REGISTER elaine@acme.com (no sipHA1): 403 ($out)" $?
# Removed again (Expires: 0): a registered contact would take jerry's calls from the next hop.
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$INSIDE_IP" \
  --aor sip:jerry@acme.com --contact "sip:jerry@$INSIDE_IP:9" --password secret --algorithm SHA-256 --expires 0 --expect 200 2>&1)
check "REGISTER jerry@acme.com with Expires: 0: 200 ($out)" $?
assert_eq "no binding left" "$(metric sipedge_location_bindings)" 0

# ---- the directory down: 503 + Retry-After, then back without restarting sipedge ----------------
unavailable_before=$(metric sipedge_directory_unavailable_total)
stop_slapd
check "slapd stopped (pid $SLAPD_PID, port $ldap_port)" $?
sleep 1.3  # jerry's cached answer (positive_ttl 1s) expires
start_uas 1 || check "internal UA started" 1
reject jerry 503 "$CALLS"
rc=$?
assert_eq "directory down: $CALLS calls to jerry@acme.com answered 503" "$rc" 0 ||
  show "$SIPP_LAST.err.log"
assert_ge "directory down: 503 status lines" "$(trace_count '^SIP/2\.0 503 ')" "$CALLS"
retry_after=$(trace_headers 503/INVITE Retry-After | tr -d ' \t' | sort | uniq -c | awk '{ print $1 "x" $2 }')
assert_eq "directory down: Retry-After of every 503 (count x header)" "$retry_after" \
  "$(trace_count '^SIP/2\.0 503 ')xRetry-After:7"
sleep 0.3
assert_eq "directory down: messages the internal UA received" "$(uas_received)" 0
unavailable_after=$(metric sipedge_directory_unavailable_total)
assert_ge "directory down: sipedge_directory_unavailable_total grew (before ${unavailable_before:-?})" \
  "${unavailable_after:-0}" $((${unavailable_before:-0} + CALLS))

# The outage is in sipedge's log, once per worker however many reconnects failed meanwhile.
outage_lines=$(grep -c "warning identity: worker-[0-9]*: LDAP directory $SLAPD_URI unavailable: .*; requests that need it get 503" "$IT_TMP/edge.log")
assert_ge "directory down: logged" "$outage_lines" 1
assert_le "directory down: logged once per worker (${B2B_WORKERS:-2})" "$outage_lines" "${B2B_WORKERS:-2}"

restart_slapd
check "slapd restarted on port $ldap_port (pid $SLAPD_PID)" $?
[ "$SLAPD_PORT" = "$ldap_port" ]
check "slapd restarted on the same port" $?
# Poll (bounded): one call per attempt; the internal UA started above takes the first attempt.
recovered=0 attempts=0 t0=$SECONDS restarted_at=$EPOCHREALTIME went_through=""
while [ $((SECONDS - t0)) -lt "$RECOVERY_S" ]; do
  attempts=$((attempts + 1))
  [ -n "$UAS_PID" ] || start_uas 1 || break
  went_through=$EPOCHREALTIME
  SIPP_TIMEOUT=10 run_sipp b2b_basic_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" \
    "${UAC_KEYS[@]}"
  rc=$?
  if [ "$rc" = 0 ]; then
    wait_uas
    assert_eq "after slapd restart: callee side of the first call that went through" "$UAS_RC" 0 ||
      show "$UAS_PREFIX.err.log"
    recovered=1
    break
  fi
  # A 503 never reached the internal UA: keep it for the next attempt; otherwise a fresh one.
  if ! kill -0 "$UAS_PID" 2>/dev/null || [ "$(uas_received)" != 0 ]; then
    it_stop "$UAS_PID" 2
    UAS_PID=""
  fi
  sleep 0.3
done
[ "$recovered" = 1 ] &&
  echo "  calls went through again: attempt $attempts, started $(awk -v a="$restarted_at" \
    -v b="$went_through" 'BEGIN { printf "%.1f", b - a }') s after slapd accepted again"
assert_eq "after slapd restart: a call succeeds within ${RECOVERY_S}s, sipedge not restarted" \
  "$recovered" 1 || show "$SIPP_LAST.err.log"
kill -0 "$edge_pid" 2>/dev/null
check "sipedge still the same process (pid $edge_pid)" $?
assert_ge "directory back: logged" \
  "$(grep -c "info identity: worker-[0-9]*: LDAP directory $SLAPD_URI is back" "$IT_TMP/edge.log")" 1
call_pair "after slapd restart: jerry@acme.com" "$CALLS"
inbound_keys elaine sip:eb@mobile.nyc.acme.com sip:eb@nyc.acme.com
call_pair "after slapd restart: elaine@acme.com" "$CALLS"

# ---- every dialog and relay ended ----------------------------------------------------------------
for ((i = 0; i < 50; i++)); do
  [ "$(metric sipedge_dialogs)" = 0 ] && [ "$(metric sipedge_relays_pending)" = 0 ] && break
  sleep 0.2
done
assert_eq "no dialog left (sipedge_dialogs)" "$(metric sipedge_dialogs)" 0
assert_eq "no relay left (sipedge_relays_pending)" "$(metric sipedge_relays_pending)" 0
assert_ge "dialogs were created" "$(metric sipedge_dialogs_created_total)" $((4 * CALLS + 2))
assert_ge "directory lookups" "$(metric sipedge_directory_lookups_total)" 1

it_stop "$edge_pid" 5
it_finish
