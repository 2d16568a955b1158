#!/usr/bin/env bash
# `sipedge probe` against real peers on loopback: dnsmasq serves NAPTR/SRV/A for the test
# domains, a SIPp UAS behind stunnel (Debian's SIPp has no TLS) is the partner's TLS edge, and
# `sipedge responder` a second one. Covered: the RFC 3263 walk shown step by step, the peer
# certificate and its verification, mutual TLS, failover to the next SRV target, --count
# latency, MESSAGE, and the failures an operator must be told about in one line: a certificate
# that does not cover the domain, an untrusted CA, nobody listening, a domain that does not exist.
#
# Usage: probe_test.sh SIPEDGE_BINARY
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
SIPEDGE=${1:?usage: probe_test.sh SIPEDGE_BINARY}

it_init
mint_test_certs "$IT_TMP/certs" || { echo "FAIL: cannot mint certificates"; exit 1; }
certs=$IT_TMP/certs

# ---- the partner's TLS edge: SIPp UAS (TCP) behind stunnel (TLS, mutual, the dev CA) ----------
uas_port=$(free_port)
tls_port=$(free_port)
start_sipp_uas uas_basic "$uas_port" t1 -d 1000 || { echo "FAIL: SIPp UAS"; exit 1; }
# edge.pem names acme.example: the probe must see a certificate that covers it.
start_stunnel_server "$tls_port" "$uas_port" "$certs/edge.pem" "$certs/edge.key" "$certs/ca.pem" yes \
  || { echo "FAIL: stunnel"; exit 1; }

# ---- a second edge: sipedge responder with the wrong-host certificate --------------------------
"$SIPEDGE" responder --listen tls:127.0.0.1:0 --listen udp:127.0.0.1:0 --cert "$certs/wrong-host.pem" \
  --key "$certs/wrong-host.key" --ca "$certs/ca.pem" --client-cert request --workers 1 \
  >"$IT_TMP/responder.out" 2>"$IT_TMP/responder.err" &
responder_pid=$!
it_track "$responder_pid"
wait_for_line "$IT_TMP/responder.out" '^listening ' 2 10 "$responder_pid" || { echo "FAIL: responder"; exit 1; }
wrong_tls=$(sed -n 's/^listening tls 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$IT_TMP/responder.out")
resp_udp=$(sed -n 's/^listening udp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$IT_TMP/responder.out")
dead_port=$(free_port)  # nobody listens there

# ---- DNS: dnsmasq on loopback with the records RFC 3263 walks ----------------------------------
dns_port=$(free_port)
start_dnsmasq "$dns_port" <<CONF
# acme.example: NAPTR prefers TLS; two SRV targets, the first (priority 10) dead, then the edge.
naptr-record=acme.example,10,50,"s","SIPS+D2T","",_sips._tcp.acme.example
naptr-record=acme.example,20,50,"s","SIP+D2U","",_sip._udp.acme.example
srv-host=_sips._tcp.acme.example,dead.acme.example,$dead_port,10,100
srv-host=_sips._tcp.acme.example,edge.acme.example,$tls_port,20,100
host-record=dead.acme.example,127.0.0.1
host-record=edge.acme.example,127.0.0.1
# wrong.example's SRV points at acme.example's edge, whose certificate does not name wrong.example.
srv-host=_sips._tcp.wrong.example,edge.acme.example,$tls_port,10,100
# plain.example: UDP only, to the responder.
srv-host=_sip._udp.plain.example,edge.plain.example,$resp_udp,10,100
host-record=edge.plain.example,127.0.0.1
# other.example: the responder whose certificate names wrong.example only.
srv-host=_sips._tcp.other.example,edge.other.example,$wrong_tls,10,100
host-record=edge.other.example,127.0.0.1
CONF
[ $? -eq 0 ] || { echo "dnsmasq did not start" >&2; exit 1; }

probe() {  # probe NAME ARGS...: runs sipedge probe (bounded), output in $IT_TMP/NAME.{out,err}
  local name=$1
  shift
  timeout 60 "$SIPEDGE" probe --dns-server "127.0.0.1:$dns_port" --timeout 3000 "$@" \
    >"$IT_TMP/$name.out" 2>"$IT_TMP/$name.err"
  echo $?
}
has() {  # has NAME FILE PATTERN: the file has a line matching the (extended) regex
  grep -qE -- "$3" "$2"
  local rc=$?
  check "$1: '$3' in $(basename "$2")" $rc
  [ $rc -eq 0 ] || sed 's/^/    | /' "$2" | head -40
}

# 1. Mutual TLS through NAPTR -> SRV (dead target, then the edge) -> A, with failover.
rc=$(probe tls-ok sips:bob@acme.example --ca "$certs/ca.pem" --cert "$certs/partner.pem" --key "$certs/partner.key")
assert_eq "tls-ok exit" "$rc" 0
out=$IT_TMP/tls-ok.out
has tls-ok "$out" '^dns:   NAPTR acme\.example: .*SIPS\+D2T.*_sips\._tcp\.acme\.example'
has tls-ok "$out" "^dns:   SRV _sips\._tcp\.acme\.example: .*$tls_port edge\.acme\.example"
has tls-ok "$out" '^dns:   A edge\.acme\.example: 127\.0\.0\.1'
has tls-ok "$out" "^dns:   1\. TLS 127\.0\.0\.1:$dead_port"
has tls-ok "$out" "^dns:   2\. TLS 127\.0\.0\.1:$tls_port"
has tls-ok "$out" '^! connection refused'
has tls-ok "$out" '^failover: trying the next target'
has tls-ok "$out" "^target: TLS 127\.0\.0\.1:$tls_port .*must cover 'acme\.example'"
has tls-ok "$out" '^tls: peer certificate subject: CN=edge'
has tls-ok "$out" '^tls:   subjectAltName: DNS:acme\.example'
has tls-ok "$out" '^tls:   issuer: CN=sipedge dev CA'
has tls-ok "$out" '^tls:   verification: ok .*covers .acme\.example.'
has tls-ok "$out" '^> OPTIONS sips:bob@acme\.example SIP/2\.0'
has tls-ok "$out" '^< SIP/2\.0 200 OK'
has tls-ok "$out" '^< Server: sipedge-it-uas'
has tls-ok "$out" '^probe: ok'
# What crossed the wire at the far end: the UAS got our OPTIONS over the TLS tunnel.
has tls-ok "$SIPP_UAS_LAST.msg.log" 'OPTIONS sips:bob@acme\.example SIP/2\.0'

# 2. --count: latency statistics over repeated probes (the connection is reused).
rc=$(probe count sips:bob@acme.example --ca "$certs/ca.pem" --cert "$certs/partner.pem" --key "$certs/partner.key" --count 5 --interval 10)
assert_eq "count exit" "$rc" 0
has count "$IT_TMP/count.out" '^latency: min [0-9.]+ ms, median [0-9.]+ ms, max [0-9.]+ ms over 5 answered probes'

# 3. MESSAGE with a body.
rc=$(probe message sips:bob@acme.example --method MESSAGE --body "hello partner" --ca "$certs/ca.pem" --cert "$certs/partner.pem" --key "$certs/partner.key")
assert_eq "message exit" "$rc" 0
has message "$SIPP_UAS_LAST.msg.log" 'hello partner'

# 4. The certificate does not cover the domain: exit 1, one clear line on stderr.
rc=$(probe mismatch sips:bob@wrong.example --ca "$certs/ca.pem" --cert "$certs/partner.pem" --key "$certs/partner.key")
assert_eq "mismatch exit" "$rc" 1
has mismatch "$IT_TMP/mismatch.err" "does not cover 'wrong\.example' \(it names: acme\.example"
assert_eq "mismatch: one stderr line" "$(wc -l <"$IT_TMP/mismatch.err")" 1
rc=$(probe mismatch2 sips:bob@other.example --ca "$certs/ca.pem")
assert_eq "mismatch2 exit" "$rc" 1
has mismatch2 "$IT_TMP/mismatch2.err" "does not cover 'other\.example' \(it names: wrong\.example\)"

# 5. A CA the probe does not trust.
rc=$(probe untrusted sips:bob@acme.example --ca "$certs/rogue-ca.pem" --cert "$certs/partner.pem" --key "$certs/partner.key")
assert_eq "untrusted exit" "$rc" 1
has untrusted "$IT_TMP/untrusted.err" 'TLS handshake failed: .*certificate verif'

# 6. Nobody listening.
rc=$(probe refused "sip:bob@127.0.0.1:$dead_port;transport=tcp")
assert_eq "refused exit" "$rc" 1
has refused "$IT_TMP/refused.err" 'connection refused'

# 7. A domain that does not exist.
rc=$(probe nxdomain sips:bob@nowhere.example)
assert_eq "nxdomain exit" "$rc" 1
has nxdomain "$IT_TMP/nxdomain.err" 'cannot resolve sips:bob@nowhere\.example: .*NXDOMAIN'

# 8. UDP through SRV to sipedge responder (no TLS).
rc=$(probe udp "sip:bob@plain.example;transport=udp")
assert_eq "udp exit" "$rc" 0
has udp "$IT_TMP/udp.out" "^target: UDP 127\.0\.0\.1:$resp_udp"
has udp "$IT_TMP/udp.out" '^< Via: .*;rport=[0-9]+;received=127\.0\.0\.1'

# 9. Usage errors exit 2.
rc=$(probe usage mailto:bob@acme.example)
assert_eq "usage exit" "$rc" 2

it_finish
