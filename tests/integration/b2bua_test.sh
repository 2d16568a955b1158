#!/usr/bin/env bash
# `sipedge run` as a federation B2BUA between SIPp peers, on loopback:
#
#   partner UA (SIPp, 127.0.0.2) --UDP or TLS--> sipedge external 127.0.0.1
#   sipedge internal 127.0.0.10 --UDP--> internal UA (SIPp, 127.0.0.3) = the next hop
#
# Every scenario pair (sipp/b2b_*.xml, see README) checks on the wire that identities were mapped
# (jerry@acme.test <-> js@nyc.acme.test, {user}@acme.test <-> {user}@nyc.acme.test), that each
# side sees exactly one Via (sipedge's), no Record-Route, sipedge's Contact, and that no message
# one side receives carries the other side's address, tags, branches or Call-ID ("forbidden").
# Inbound (partner -> inside) runs every pair; outbound (inside -> partner, the partner's address
# from [[partners]]) runs the call, CANCEL and MESSAGE pairs; one call also runs over mutual TLS
# (SIPp behind stunnel with the partner certificate). At the end /metrics must show no dialog
# left, and OPTIONS to the domain and a request for an unserved host sipedge's own answers.
#
# Usage: b2bua_test.sh SIPEDGE_BINARY
# Environment: B2B_WORKERS (default 2), CALLS (per pair, default 3), KEEP_TMP=1, ONLY=label.
# Runtime: about 60 s. Loopback only.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: b2bua_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

PARTNER_IP=127.0.0.2
INSIDE_IP=127.0.0.3
EDGE_EXT=127.0.0.1
EDGE_INT=127.0.0.10
CALLS=${CALLS:-3}
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-30}
export SIPP_RATE=${SIPP_RATE:-10}

ext_port=$(free_port)
tls_port=$(free_port)
int_port=$(free_port)
uas_port=$(free_port)      # the internal UA (next hop)
partner_port=$(free_port)  # the partner's UA for outbound calls
admin_port=$(free_port)
dead_port=$(free_port)     # a next hop nobody listens on (failover)
dns_port=$(free_port)      # dnsmasq: _sips._tcp.partner.example
stls_port=$(free_port)     # stunnel server (partner.example's TLS edge) in front of ...
stcp_port=$(free_port)     # ... the partner's SIPp UAS over TCP

certs=$IT_TMP/certs
mkdir -p "$certs"
mint_test_certs "$certs" || { echo "cannot mint certificates" >&2; exit 1; }

# DNS for outbound calls to partner.example (no address configured): RFC 3263 SRV over TLS.
start_dnsmasq "$dns_port" <<EOF
srv-host=_sips._tcp.partner.example,edge.partner.example,$stls_port,10,100
host-record=edge.partner.example,127.0.0.1
EOF
[ $? -eq 0 ] || { echo "dnsmasq did not start" >&2; exit 1; }

edge_config() {  # edge_config EXT_PORT TLS_PORT INT_PORT ADMIN_PORT [B2BUA_LINES]: the config
  cat <<EOF
[server]
domains = ["acme.test"]
workers = ${B2B_WORKERS:-2}

[[listeners]]
transport = "udp"
address = "$EDGE_EXT:$1"
side = "external"

[[listeners]]
transport = "tls"
address = "$EDGE_EXT:$2"
side = "external"
tls = "edge"

[[listeners]]
transport = "udp"
address = "$EDGE_INT:$3"
side = "internal"

[tls.edge]
certificate = "$certs/edge.pem"
key = "$certs/edge.key"
ca = "$certs/ca.pem"
client_certificate = "require"

[directory]
not_found_status = 404

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[directory.static.users]]
external = "jerry@acme.test"
internal = "js@nyc.acme.test"

# The dead hop has the better priority: every new call tries it first and fails over after
# the response timeout (2 s), as the health checks that would mark it down are off here (SIPp
# UASs cannot answer OPTIONS mid-scenario): failover carries every new request.
[[next_hops]]
name = "dead"
address = "$INSIDE_IP:$dead_port"
priority = 1

[[next_hops]]
name = "uas"
address = "$INSIDE_IP:$uas_port"
priority = 2

[next_hop_health]
interval = "0s"
failures = 100

[[partners]]
name = "partner"
domains = ["partner.test"]
address = "$PARTNER_IP:$partner_port"
transport = "udp"
# Plain UDP from loopback (no certificate to identify it by): the source network does.
require_mutual_tls = false
networks = ["127.0.0.0/8"]

# No address: found through DNS (dnsmasq above), reached over TLS.
[[partners]]
name = "partner-dns"
domains = ["partner.example"]

[dns]
servers = ["127.0.0.1:$dns_port"]
timeout = "1s"

[admin]
listen = "127.0.0.1:$4"

[b2bua]
${5:-}
EOF
}
edge_config "$ext_port" "$tls_port" "$int_port" "$admin_port" >"$IT_TMP/edge.toml"
start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.log"

want() { [ -z "${ONLY:-}" ] || [[ "$1" == *$ONLY* ]]; }

# ---- keys: what each side sends and must see ------------------------------------------------------
inbound_keys() {  # the partner calls jerry@acme.test; the inside must see js@nyc.acme.test
  local to_user=${1:-jerry} inside_user=${2:-js} from_domain=${3:-partner.test}
  UAC_KEYS=(-cid_str "pside-%u-%p@%s"
    -key leg pside -key from_uri "sip:alice@$from_domain" -key to_uri "sip:$to_user@acme.test"
    -key forbidden "$INSIDE_IP|$EDGE_INT|nyc.acme.test|iside"
    -key expected_contact_host "$EDGE_EXT" -key expected_via_host "$EDGE_EXT"
    -key refer_to sip:bob@acme.test -key rack_cseq_offset 0)
  UAS_KEYS=(-key leg iside -key forbidden "$PARTNER_IP|pside"
    -key expected_ruri "sip:$inside_user@nyc.acme.test"
    -key expected_from "sip:alice@$from_domain" -key expected_to "sip:$inside_user@nyc.acme.test"
    -key expected_contact_host "$EDGE_INT" -key expected_via_host "$EDGE_INT"
    -key expected_refer_to sip:bob@nyc.acme.test)
}

outbound_keys() {  # js@nyc.acme.test calls alice@partner.test; the partner must see jerry@acme.test
  local to=${1:-sip:alice@partner.test}
  UAC_KEYS=(-cid_str "iside-%u-%p@%s"
    -key leg iside -key from_uri sip:js@nyc.acme.test -key to_uri "$to"
    -key forbidden "$PARTNER_IP|pside"
    -key expected_contact_host "$EDGE_INT" -key expected_via_host "$EDGE_INT"
    -key refer_to sip:bob@partner.test -key rack_cseq_offset 0)
  UAS_KEYS=(-key leg pside -key forbidden "$INSIDE_IP|$EDGE_INT|nyc.acme.test|iside"
    -key expected_ruri "$to"
    -key expected_from sip:jerry@acme.test -key expected_to "$to"
    -key expected_contact_host "$EDGE_EXT" -key expected_via_host "$EDGE_EXT"
    -key expected_refer_to sip:bob@partner.test)
}

UAC_RC=0 UAS_RC=0
run_pair() {  # run_pair UAC UAS CALLER_IP CALLEE_IP CALLEE_PORT EDGE_ADDR TRANSPORT [uac args]
  local uac=$1 uas=$2 caller=$3 callee=$4 callee_port=$5 edge=$6 transport=$7 pid i
  shift 7
  start_sipp_uas "$uas" "$callee_port" "${UAS_TRANSPORT:-udp}" -i "$callee" -m "$CALLS" \
    -timeout 40s -timeout_error \
    "${UAS_KEYS[@]}" || { UAC_RC=98 UAS_RC=98; return; }
  pid=$IT_LAST_PID
  UAS_PREFIX=$SIPP_UAS_LAST
  run_sipp "$uac" "$edge" "$transport" "$CALLS" -i "$caller" "${UAC_KEYS[@]}" "$@"
  UAC_RC=$?
  UAC_PREFIX=$SIPP_LAST
  for ((i = 0; i < 450; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    it_stop "$pid" 2
    UAS_RC=124
  else
    wait "$pid"
    UAS_RC=$?
  fi
}

pair() {  # pair LABEL NAME DIRECTION: both sides of sipp/b2b_NAME_{uac,uas}.xml succeed
  local label=$1 name=$2 direction=$3
  want "$label" || return 0
  if [ "$direction" = inbound ]; then
    inbound_keys
    run_pair "b2b_${name}_uac" "b2b_${name}_uas" "$PARTNER_IP" "$INSIDE_IP" "$uas_port" \
      "$EDGE_EXT:$ext_port" udp
  else
    outbound_keys
    run_pair "b2b_${name}_uac" "b2b_${name}_uas" "$INSIDE_IP" "$PARTNER_IP" "$partner_port" \
      "$EDGE_INT:$int_port" udp
  fi
  assert_eq "$label: caller side ($CALLS calls)" "$UAC_RC" 0 ||
    head -c 1500 "$UAC_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
  assert_eq "$label: callee side ($CALLS calls)" "$UAS_RC" 0 ||
    head -c 1500 "$UAS_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
}

echo "b2bua: sipedge $EDGE_EXT:$ext_port (udp) $EDGE_EXT:$tls_port (tls) / $EDGE_INT:$int_port"

pair "inbound call, caller hangs up" basic inbound
pair "inbound call, callee hangs up" callee_bye inbound
pair "inbound CANCEL" cancel inbound
pair "inbound re-INVITE from the caller" reinvite inbound
pair "inbound re-INVITE from the callee" reinvite_callee inbound
pair "inbound UPDATE" update inbound
pair "inbound PRACK (RAck mapped)" prack inbound
pair "inbound INFO" info inbound
pair "inbound MESSAGE" message inbound
pair "inbound SUBSCRIBE/NOTIFY" subscribe inbound
if want "inbound NOTIFY before 200"; then
  inbound_keys
  run_pair b2b_subscribe_uac b2b_subscribe_notify_first_uas "$PARTNER_IP" "$INSIDE_IP" \
    "$uas_port" "$EDGE_EXT:$ext_port" udp
  assert_eq "inbound NOTIFY before 200: caller side" "$UAC_RC" 0
  assert_eq "inbound NOTIFY before 200: callee side" "$UAS_RC" 0
fi
pair "inbound REFER (Refer-To mapped)" refer inbound
pair "outbound call" basic outbound
pair "outbound CANCEL" cancel outbound
pair "outbound MESSAGE" message outbound
pair "outbound re-INVITE from the partner" reinvite_callee outbound

if want "tls"; then
  # Mutual TLS: SIPp (TCP) -> stunnel (partner certificate, verifies sipedge's) -> sipedge.
  stunnel_port=$(free_port)
  start_stunnel_client "$stunnel_port" "$EDGE_EXT:$tls_port" "$certs/ca.pem" \
    "$certs/partner.pem" "$certs/partner.key" localhost
  inbound_keys jerry js partner.example
  run_pair b2b_basic_uac b2b_basic_uas "$PARTNER_IP" "$INSIDE_IP" "$uas_port" \
    "127.0.0.1:$stunnel_port" tcp
  assert_eq "inbound call over mutual TLS: caller side" "$UAC_RC" 0 ||
    head -c 1500 "$UAC_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
  assert_eq "inbound call over mutual TLS: callee side" "$UAS_RC" 0 ||
    head -c 1500 "$UAS_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
fi

if want "dns"; then
  # Outbound to a partner found through DNS: SRV _sips._tcp.partner.example -> TLS (sipedge's
  # client certificate; the partner's certificate must name partner.example) -> stunnel ->
  # the partner's SIPp UAS over TCP.
  start_stunnel_server "$stls_port" "$stcp_port" "$certs/partner.pem" "$certs/partner.key" \
    "$certs/ca.pem" yes
  outbound_keys sip:alice@partner.example
  UAS_TRANSPORT=tcp run_pair b2b_basic_uac b2b_basic_uas "$INSIDE_IP" 127.0.0.1 "$stcp_port" \
    "$EDGE_INT:$int_port" udp
  assert_eq "outbound call via DNS SRV and TLS: caller side" "$UAC_RC" 0 ||
    head -c 1500 "$UAC_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
  assert_eq "outbound call via DNS SRV and TLS: callee side" "$UAS_RC" 0 ||
    head -c 1500 "$UAS_PREFIX.err.log" 2>/dev/null | sed 's/^/      | /' >&2
  assert_ge "dnsmasq answered the SRV query" \
    "$(grep -c 'query\[SRV\] _sips._tcp.partner.example' "$IT_TMP/dnsmasq.log")" 1
fi

if want "answers"; then
  # sipedge's own answers: OPTIONS to the served domain (no user), and a request for a host it
  # does not serve (sipp/invite_uac.xml addresses sipedge's IP address) from a domain that is no
  # partner (its From host is an IP address): the closed federation refuses it first.
  run_sipp b2b_options_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" -cid_str "pside-%u-%p@%s" \
    -key leg pside -key from_uri sip:alice@partner.test -key to_uri sip:acme.test \
    -key forbidden "$INSIDE_IP|$EDGE_INT|nyc.acme.test|iside" \
    -key expected_contact_host "$EDGE_EXT" -key expected_via_host "$EDGE_EXT"
  assert_eq "OPTIONS sip:acme.test answered by sipedge" "$?" 0
  run_sipp invite_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" -s nobody
  assert_trace_count "INVITE from no partner, to a host sipedge does not serve" '^SIP/2\.0 403 Forbidden' 1
fi

# Every dialog and relay ended (BYE, CANCEL, final failures, subscriptions terminated).
for ((i = 0; i < 50; i++)); do
  [ "$(metric sipedge_dialogs)" = 0 ] && [ "$(metric sipedge_relays_pending)" = 0 ] && break
  sleep 0.2
done
assert_eq "no dialog left (sipedge_dialogs)" "$(metric sipedge_dialogs)" 0
assert_eq "no relay left (sipedge_relays_pending)" "$(metric sipedge_relays_pending)" 0
if [ -z "${ONLY:-}" ]; then
  dialogs=$(metric sipedge_dialogs_created_total)
  assert_ge "dialogs were created" "${dialogs:-0}" 10
  failovers=$(metric sipedge_failovers_total)
  assert_ge "the dead next hop was failed over" "${failovers:-0}" 1
fi

it_stop "$edge_pid" 5

if want "idle"; then
  # The idle check, on a sipedge of its own (an in-dialog OPTIONS would fail the pairs above):
  # a call idle for 1 s gets an OPTIONS on both legs; 200 from both: the call goes on; 481
  # from the callee: sipedge sends BYE to both sides.
  ext_port=$(free_port) tls_port=$(free_port) int_port=$(free_port) admin_port=$(free_port)
  edge_config "$ext_port" "$tls_port" "$int_port" "$admin_port" 'idle_check = "1s"' \
    >"$IT_TMP/idle.toml"
  start_sipedge "$IT_TMP/idle.toml" "$IT_TMP/idle.log"
  pair "inbound idle call, both sides alive" idle_alive inbound
  pair "inbound idle call, callee lost it" idle_gone inbound
  pair "outbound idle call, partner lost it" idle_gone outbound
  for ((i = 0; i < 50; i++)); do
    [ "$(metric sipedge_dialogs)" = 0 ] && break
    sleep 0.2
  done
  assert_eq "idle check: no dialog left" "$(metric sipedge_dialogs)" 0
  assert_eq "idle check: calls ended by it" \
    "$(metric_line 'sipedge_dialogs_ended_total{reason="idle"}')" $((2 * CALLS))
  assert_ge "idle check: OPTIONS sent (two per idle call)" \
    "$(metric sipedge_idle_probes_total)" $((6 * CALLS))
  it_stop "$edge_pid" 5
fi
it_finish
