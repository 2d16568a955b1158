#!/usr/bin/env bash
# Federation policy end to end (issue 5): `sipedge run` with partners, blocked domains, GeoIP and
# rate limits, partners reaching it over mutual TLS (SIPp behind stunnel) and plain UDP, the
# inside played by `sipedge responder`:
#
#   SIPp -> stunnel (partner.pem: partner.example) --TLS--> sipedge 127.0.0.1 (external)
#   sipedge probe --UDP--> sipedge 127.0.0.1 (external)
#   sipedge internal 127.0.0.10 --UDP--> sipedge responder 127.0.0.3 (the next hop)
#
# The test GeoIP database (tests/data/geo/make-test-db.pl) puts 127.0.0.0/25 in US and
# 127.0.0.128/25 in DE; stunnel connects from 127.0.0.200 (STUNNEL_LOCAL) for the DE case.
# Each case asserts the response on the wire and exactly the expected decision-log line(s),
# found with `sipedge decisions`:
#   - globex (partner.example, mutual TLS, US): calls pass; allow lines with the mapped identity;
#   - blocked.example: 403, rule federation.blocked_domains;
#   - a MESSAGE, which globex may not send: 403, rule partners[globex].methods;
#   - From other.example (initech) over globex's certificate: 403, partners[initech].identity;
#   - globex from DE: 403, partners[globex].deny_countries;
#   - lab (partner.test, UDP, source network) over its per-source rate: 503 + Retry-After: 7,
#     verdict throttle, rule partners[lab].rate_limits.source_requests;
#   - mute (deny_action = "drop"): no answer at all, a deny line with status 0;
#   - the inside calling an unlisted domain (closed federation): 403, outbound federation.closed;
#   - a BYE for globex's call sent over initech's TLS connection (dialog_spoof.py): 403, rule
#     dialog.identity; globex's own BYE then ends the call;
#   - `sipedge decisions --summary` counts them;
#   - then the configuration switches to open federation by SIGHUP (a policy reload): a domain
#     no partner lists (wrong.example, its certificate covering it) whose
#     _sipfederationtls._tcp SRV (dnsmasq) points at the connecting address is admitted under
#     [federation.default]; the same domain from another address gets 403,
#     federation.open.srv.
#
# Usage: policy_test.sh SIPEDGE_BINARY
# Runtime: about 30 s. Loopback only.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: policy_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-20}
export SIPP_RATE=${SIPP_RATE:-10}

certs=$IT_TMP/certs
mkdir -p "$certs"
mint_test_certs "$certs" || { echo "cannot mint certificates" >&2; exit 1; }
if ! perl "$IT_REPO_DIR/tests/data/geo/make-test-db.pl" "$IT_TMP/geo.mmdb" \
    127.0.0.0/25=US 127.0.0.128/25=DE; then
  echo "cannot write the GeoIP database" >&2
  exit 1
fi

dns_port=$(free_port)
start_dnsmasq "$dns_port" <<CONF
srv-host=_sipfederationtls._tcp.wrong.example,edge.wrong.example,5061,10,100
host-record=edge.wrong.example,127.0.0.1
CONF
[ $? -eq 0 ] || { echo "dnsmasq did not start" >&2; exit 1; }

ext_port=$(free_port)
tls_port=$(free_port)
int_port=$(free_port)
uas_port=$(free_port)
admin_port=$(free_port)
log=$IT_TMP/decisions.log

cat >"$IT_TMP/edge.toml" <<TOML
[server]
domains = ["acme.test"]
# One worker: the spoofed in-dialog request below must reach the worker that owns the dialog
# (TCP/TLS requests are not handed over between workers yet; docs/NOTES.md).
workers = 1

[[listeners]]
transport = "udp"
address = "127.0.0.1:$ext_port"
side = "external"

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
certificate = "$certs/edge.pem"
key = "$certs/edge.key"
ca = "$certs/ca.pem"
client_certificate = "request"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[next_hops]]
address = "127.0.0.3:$uas_port"

[next_hop_health]
interval = "0s"

[dns]
servers = ["127.0.0.1:$dns_port"]
timeout = "1s"

[geoip]
database = "$IT_TMP/geo.mmdb"

[admin]
listen = "127.0.0.1:$admin_port"

[decision_log]
path = "$log"
flush_interval = "100ms"

[federation]
mode = "closed"
blocked_domains = ["blocked.example"]

[[partners]]
name = "globex"
domains = ["partner.example"]
methods = ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"]
deny_countries = ["DE"]

[[partners]]
name = "initech"
domains = ["other.example"]

[[partners]]
name = "lab"
domains = ["partner.test"]
require_mutual_tls = false
networks = ["127.0.0.0/8"]
throttle_retry_after = "7s"
[partners.rate_limits]
source_requests = { per_second = 0.2, burst = 2 }

[[partners]]
name = "mute"
domains = ["mute.test"]
require_mutual_tls = false
networks = ["127.0.0.0/8"]
methods = ["OPTIONS"]
deny_action = "drop"
TOML

"$SIPEDGE" responder --listen "udp:127.0.0.3:$uas_port" >"$IT_TMP/responder.log" 2>&1 &
it_track $!
wait_for_port "$uas_port" udp 10 || { echo "responder did not start" >&2; exit 1; }

start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.log"

# decisions_count WANT ARGS...: waits (bounded) until `sipedge decisions LOG ARGS` prints WANT
# lines, then prints the count it saw last (the writer flushes every 100 ms).
decisions_count() {
  local want=$1 n=0 i
  shift
  for ((i = 0; i < 30; i++)); do
    n=$("$SIPEDGE" decisions "$log" --json "$@" 2>/dev/null | wc -l)
    [ "$n" -ge "$want" ] && break
    sleep 0.1
  done
  sleep 0.2  # and no more than WANT after a further flush
  "$SIPEDGE" decisions "$log" --json "$@" 2>/dev/null | wc -l
}
# decision_field KEY ARGS...: KEY's raw JSON value in the (first) matching line.
decision_field() {
  local key=$1
  shift
  "$SIPEDGE" decisions "$log" --json "$@" | head -1 |
    python3 -c 'import json,sys; v=json.loads(sys.stdin.read())[sys.argv[1]]; print(v if not isinstance(v,list) else ",".join(v))' "$key"
}

stunnel_us=$(free_port)
start_stunnel_client "$stunnel_us" "127.0.0.1:$tls_port" "$certs/ca.pem" \
  "$certs/partner.pem" "$certs/partner.key" localhost
stunnel_de=$(free_port)
STUNNEL_LOCAL=127.0.0.200 start_stunnel_client "$stunnel_de" "127.0.0.1:$tls_port" \
  "$certs/ca.pem" "$certs/partner.pem" "$certs/partner.key" localhost

reject_call() {  # reject_call LABEL STUNNEL_PORT FROM_URI STATUS: one INVITE refused with STATUS
  run_sipp b2b_reject_uac "127.0.0.1:$2" tcp 1 -key leg pside -key from_uri "$3" \
    -key to_uri sip:jerry@acme.test -key forbidden "nyc.acme.test|127.0.0.3" \
    -key expected_status "$4"
  assert_eq "$1: $4 on the wire" "$?" 0 || _sipp_evidence
}

# ---- allowed: globex's calls pass, each an allow line with the mapped identity --------------------
run_sipp policy_call_uac "127.0.0.1:$stunnel_us" tcp 3 -s jerry -key from_uri sip:alice@partner.example
assert_sipp_ok "globex calls over mutual TLS" $? 3
assert_eq "allow lines for globex's INVITEs" \
  "$(decisions_count 3 --partner globex --verdict allow --method INVITE)" 3
assert_eq "allow line: rule" "$(decision_field rule --partner globex --verdict allow)" "partners[globex]"
assert_eq "allow line: mapped identity" "$(decision_field mapped --partner globex --verdict allow)" \
  "jerry@nyc.acme.test"
assert_eq "allow line: country" "$(decision_field country --partner globex --verdict allow)" "US"
assert_eq "allow line: transport" "$(decision_field transport --partner globex --verdict allow)" "tls"
check "allow line: certificate SANs" \
  "$([[ "$(decision_field cert_sans --partner globex --verdict allow)" == *DNS:partner.example* ]]; echo $?)"

# ---- denials over mutual TLS --------------------------------------------------------------------
reject_call "blocked domain" "$stunnel_us" sip:mallory@blocked.example 403
assert_eq "blocked domain: one decision line" \
  "$(decisions_count 1 --rule federation.blocked_domains)" 1
assert_eq "blocked domain: verdict" "$(decision_field verdict --rule federation.blocked_domains)" deny
assert_eq "blocked domain: status" "$(decision_field status --rule federation.blocked_domains)" 403

reject_call "From not covered by the certificate" "$stunnel_us" sip:peter@other.example 403
assert_eq "identity: one decision line" "$(decisions_count 1 --rule 'partners[initech].identity')" 1
assert_eq "identity: partner" "$(decision_field partner --rule 'partners[initech].identity')" initech

reject_call "country denied" "$stunnel_de" sip:alice@partner.example 403
assert_eq "country: one decision line" \
  "$(decisions_count 1 --rule 'partners[globex].deny_countries')" 1
assert_eq "country: evidence" "$(decision_field country --rule 'partners[globex].deny_countries')" DE
assert_eq "country: source" \
  "$(decision_field src --rule 'partners[globex].deny_countries' | cut -d: -f1)" 127.0.0.200

sed 's/EXPECTED_STATUS/403/' "$here/sipp/policy_message_uac.xml" >"$IT_TMP/message_403_uac.xml"
run_sipp "$IT_TMP/message_403_uac.xml" "127.0.0.1:$stunnel_us" tcp 1 -s jerry \
  -key from_uri sip:alice@partner.example
assert_eq "method not allowed: 403 on the wire" "$?" 0 || _sipp_evidence
assert_eq "method: one decision line" "$(decisions_count 1 --rule 'partners[globex].methods')" 1
assert_eq "method: the method" "$(decision_field method --rule 'partners[globex].methods')" MESSAGE

# ---- in a dialog, only its partner: a BYE over another partner's connection is refused --------
python3 "$here/dialog_spoof.py" 127.0.0.1 "$tls_port" "$certs/ca.pem" "$certs/partner.pem" \
  "$certs/partner.key" "$certs/other-partner.pem" "$certs/other-partner.key" \
  sip:alice@partner.example sip:jerry@acme.test >"$IT_TMP/spoof.out" 2>&1
spoof_rc=$?
assert_eq "spoofed BYE: 403, then the partner's own BYE: 200" "$spoof_rc" 0 ||
  sed 's/^/      | /' "$IT_TMP/spoof.out" >&2
assert_eq "spoofed BYE: one decision line" "$(decisions_count 1 --rule dialog.identity)" 1
assert_eq "spoofed BYE: the method" "$(decision_field method --rule dialog.identity)" BYE
check "spoofed BYE: the spoofer's certificate in the evidence" \
  "$([[ "$(decision_field cert_sans --rule dialog.identity)" == *DNS:other.example* ]]; echo $?)"

# ---- plain UDP partners: rate limit, drop ----------------------------------------------------------
"$SIPEDGE" probe sip:jerry@acme.test --proxy "127.0.0.1:$ext_port" --transport udp \
  --method MESSAGE --from sip:bob@partner.test --count 5 --interval 50 --timeout 2000 \
  >"$IT_TMP/probe-rate.out" 2>&1
# The probe prints the first response whole and one line per further response.
assert_eq "rate limit: 2 answered 200" \
  "$(grep -cE '^< (SIP/2.0 )?200 OK' "$IT_TMP/probe-rate.out")" 2
assert_eq "rate limit: 3 answered 503" \
  "$(grep -cE '^< (SIP/2.0 )?503 Service Unavailable' "$IT_TMP/probe-rate.out")" 3
"$SIPEDGE" probe sip:jerry@acme.test --proxy "127.0.0.1:$ext_port" --transport udp \
  --method MESSAGE --from sip:bob@partner.test --timeout 2000 >"$IT_TMP/probe-rate2.out" 2>&1
assert_eq "rate limit: still throttled, with Retry-After" \
  "$(grep -m1 '^< Retry-After' "$IT_TMP/probe-rate2.out" | tr -d '\r')" "< Retry-After: 7"
assert_eq "rate limit: throttle lines" \
  "$(decisions_count 4 --partner lab --verdict throttle)" 4
assert_eq "rate limit: rule" "$(decision_field rule --partner lab --verdict throttle)" \
  "partners[lab].rate_limits.source_requests"
assert_eq "rate limit: allow lines" "$(decisions_count 2 --partner lab --verdict allow)" 2

"$SIPEDGE" probe sip:jerry@acme.test --proxy "127.0.0.1:$ext_port" --transport udp \
  --method MESSAGE --from sip:eve@mute.test --timeout 1500 >"$IT_TMP/probe-mute.out" 2>&1
mute_rc=$?
check "drop: no answer (probe fails)" "$([ "$mute_rc" -ne 0 ]; echo $?)"
assert_eq "drop: nothing received" "$(grep -c '^< SIP/2.0' "$IT_TMP/probe-mute.out")" 0
assert_ge "drop: deny lines (one per retransmission)" "$(decisions_count 1 --partner mute)" 1
assert_eq "drop: status 0" "$(decision_field status --partner mute)" 0

# ---- outbound: the inside may reach listed partners only ------------------------------------------
"$SIPEDGE" probe sip:bob@unlisted.test --proxy "127.0.0.10:$int_port" --transport udp \
  --method MESSAGE --from sip:js@nyc.acme.test --timeout 2000 >"$IT_TMP/probe-out.out" 2>&1
assert_eq "outbound to an unlisted domain: 403" \
  "$(grep -c '^< SIP/2.0 403' "$IT_TMP/probe-out.out")" 1
assert_eq "outbound: decision line" "$(decisions_count 1 --rule federation.closed --verdict deny)" 1
assert_eq "outbound: direction" "$(decision_field direction --rule federation.closed)" outbound

# ---- the summary -----------------------------------------------------------------------------------
"$SIPEDGE" decisions "$log" --summary >"$IT_TMP/summary.out" 2>&1
check "summary: runs" $?
check "summary: names the throttled partner" "$(grep -q 'lab' "$IT_TMP/summary.out"; echo $?)"
check "summary: names the blocked-domain rule" \
  "$(grep -q 'federation.blocked_domains' "$IT_TMP/summary.out"; echo $?)"

# ---- open federation, by a reload ------------------------------------------------------------------
sed -i 's/^mode = "closed"$/mode = "open"/' "$IT_TMP/edge.toml"
kill -HUP "$edge_pid"
if ! wait_for_line "$IT_TMP/edge.log" 'reloaded' 1 10 "$edge_pid"; then
  echo "FAIL: sipedge did not reload" >&2
  tail -5 "$IT_TMP/edge.log" >&2
fi
stunnel_open=$(free_port)
start_stunnel_client "$stunnel_open" "127.0.0.1:$tls_port" "$certs/ca.pem" \
  "$certs/wrong-host.pem" "$certs/wrong-host.key" localhost
run_sipp policy_call_uac "127.0.0.1:$stunnel_open" tcp 2 -s jerry -key from_uri sip:w@wrong.example
assert_sipp_ok "open federation: SRV points at the caller, calls pass" $? 2
assert_eq "open federation: allow lines" \
  "$(decisions_count 2 --partner federation.default --verdict allow --method INVITE)" 2
assert_ge "open federation: dnsmasq answered the SRV query" \
  "$(grep -c 'query\[SRV\] _sipfederationtls._tcp.wrong.example' "$IT_TMP/dnsmasq.log")" 1
stunnel_far=$(free_port)
STUNNEL_LOCAL=127.0.0.201 start_stunnel_client "$stunnel_far" "127.0.0.1:$tls_port" \
  "$certs/ca.pem" "$certs/wrong-host.pem" "$certs/wrong-host.key" localhost
reject_call "open federation: SRV points elsewhere" "$stunnel_far" sip:w@wrong.example 403
assert_eq "open federation: srv decision line" "$(decisions_count 1 --rule federation.open.srv)" 1

# ---- /metrics ---------------------------------------------------------------------------------------
assert_ge "metrics: throttled decisions" \
  "$(metric_line 'sipedge_policy_decisions_total{verdict="throttle"}')" 4
assert_ge "metrics: denied decisions" "$(metric_line 'sipedge_policy_decisions_total{verdict="deny"}')" 5
assert_ge "metrics: dropped" "$(metric sipedge_policy_dropped_total)" 1
assert_ge "metrics: decision log lines written" \
  "$(metric_line 'sipedge_decision_log_records_total{result="written"}')" 15
assert_eq "metrics: none dropped" \
  "$(metric_line 'sipedge_decision_log_records_total{result="dropped"}')" 0
assert_eq "metrics: no write error" "$(metric sipedge_decision_log_write_errors_total)" 0

check "sipedge still running" "$(kill -0 "$edge_pid" 2>/dev/null; echo $?)"
it_finish
