#!/usr/bin/env bash
# `sipedge policy test`: the decision live traffic would get, from the command line (issue 5).
# One configuration (closed federation, a blocked domain, partners with methods, countries and a
# UDP partner by network), the dev certificates and a test GeoIP database; each case checks the
# exit code (0 allowed, 3 refused, 1 bad input, 2 usage) and the printed verdict, response and
# rule; --json prints a decision-log line; then open federation with --srv-matches.
# Usage: policy_cli_test.sh SIPEDGE_BINARY
# Runtime: about 2 s. No network.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: policy_cli_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

certs=$IT_TMP/certs
mkdir -p "$certs"
mint_test_certs "$certs" || { echo "cannot mint certificates" >&2; exit 1; }
perl "$IT_REPO_DIR/tests/data/geo/make-test-db.pl" "$IT_TMP/geo.mmdb" \
  127.0.0.0/25=US 127.0.0.128/25=DE || { echo "cannot write the GeoIP database" >&2; exit 1; }

write_config() {  # write_config MODE
  cat >"$IT_TMP/edge.toml" <<TOML
[server]
domains = ["acme.test"]

[[listeners]]
transport = "tls"
address = "127.0.0.1:5061"
tls = "edge"

[tls.edge]
certificate = "$certs/edge.pem"
key = "$certs/edge.key"
ca = "$certs/ca.pem"

[geoip]
database = "$IT_TMP/geo.mmdb"

[federation]
mode = "$1"
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
networks = ["10.0.0.0/8"]
direction = "inbound"
TOML
}
write_config closed

# decide NAME WANT_EXIT ARGS...: runs `policy test` on the configuration; output in $IT_TMP/out
decide() {
  local name=$1 want=$2 got
  shift 2
  "$SIPEDGE" policy test --config "$IT_TMP/edge.toml" "$@" >"$IT_TMP/out" 2>"$IT_TMP/err"
  got=$?
  assert_eq "$name: exit code" "$got" "$want" || sed 's/^/      | /' "$IT_TMP/out" "$IT_TMP/err" >&2
}
field() {  # field NAME: the value printed after "NAME:" in the summary
  sed -n "s/^$1: *//p" "$IT_TMP/out"
}
partner_cert=(--cert "$certs/partner.pem")

decide "globex's call" 0 --method INVITE --from sip:alice@partner.example \
  --to sip:bob@acme.test --src 127.0.0.1 "${partner_cert[@]}"
assert_eq "globex's call: verdict" "$(field verdict)" allow
assert_eq "globex's call: rule" "$(field rule)" "partners[globex]"
check "globex's call: evidence names the country and the verified certificate" \
  "$(grep -q 'country US, certificate partner.example, sip.partner.example (verified)' "$IT_TMP/out"; echo $?)"

decide "a method globex may not use" 3 --method MESSAGE --from sip:alice@partner.example \
  --to sip:bob@acme.test --src 127.0.0.1 "${partner_cert[@]}"
assert_eq "method: response" "$(field response)" "403 Forbidden"
assert_eq "method: rule" "$(field rule)" "partners[globex].methods"

decide "another partner's domain over globex's certificate" 3 --method INVITE \
  --from sip:peter@other.example --to sip:bob@acme.test --src 127.0.0.1 "${partner_cert[@]}"
assert_eq "identity: rule" "$(field rule)" "partners[initech].identity"

decide "globex from DE" 3 --method INVITE --from sip:alice@partner.example \
  --to sip:bob@acme.test --src 127.0.0.200 "${partner_cert[@]}"
assert_eq "country: rule" "$(field rule)" "partners[globex].deny_countries"

decide "a blocked domain" 3 --method INVITE --from sip:m@blocked.example --to sip:bob@acme.test \
  --src 127.0.0.1 "${partner_cert[@]}"
assert_eq "blocked: rule" "$(field rule)" "federation.blocked_domains"

decide "lab over UDP from its network" 0 --method MESSAGE --from sip:bob@partner.test \
  --to sip:jerry@acme.test --src 10.1.2.3
assert_eq "lab: rule" "$(field rule)" "partners[lab]"
decide "lab from elsewhere" 3 --method MESSAGE --from sip:bob@partner.test \
  --to sip:jerry@acme.test --src 192.0.2.9
assert_eq "lab elsewhere: rule" "$(field rule)" "partners[lab].identity"
decide "outbound to lab (inbound only)" 3 --direction outbound --method INVITE \
  --from sip:js@acme.test --to sip:bob@partner.test
assert_eq "lab outbound: rule" "$(field rule)" "partners[lab].direction"
decide "outbound to an unlisted domain" 3 --direction outbound --method INVITE \
  --from sip:js@acme.test --to sip:bob@unlisted.example
assert_eq "outbound unlisted: rule" "$(field rule)" "federation.closed"

decide "--json" 3 --method MESSAGE --from sip:alice@partner.example --to sip:bob@acme.test \
  --src 127.0.0.1 "${partner_cert[@]}" --json
json_ok=$(python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
ok = (r["verdict"] == "deny" and r["status"] == 403 and r["rule"] == "partners[globex].methods"
      and "DNS:partner.example" in r["cert_sans"] and r["country"] == "US"
      and r["direction"] == "inbound" and r["transport"] == "tls")
print("yes" if ok else r)' "$IT_TMP/out")
assert_eq "--json: a decision-log line with the evidence" "$json_ok" yes

# ---- open federation --------------------------------------------------------------------------
write_config open
decide "open: SRV not looked up" 3 --method INVITE --from sip:w@wrong.example \
  --to sip:bob@acme.test --src 127.0.0.1 --cert "$certs/wrong-host.pem"
assert_eq "open, no SRV answer: rule" "$(field rule)" "federation.open.srv"
decide "open: SRV points at the source" 0 --method INVITE --from sip:w@wrong.example \
  --to sip:bob@acme.test --src 127.0.0.1 --cert "$certs/wrong-host.pem" --srv-matches yes
assert_eq "open: partner" "$(field partner)" "federation.default"
decide "open: a certificate that does not cover the domain" 3 --method INVITE \
  --from sip:w@elsewhere.example --to sip:bob@acme.test --src 127.0.0.1 \
  --cert "$certs/wrong-host.pem" --srv-matches yes
assert_eq "open, other domain: rule" "$(field rule)" "federation.open.certificate"

# ---- bad input ---------------------------------------------------------------------------------
decide "a bad source address" 1 --method INVITE --from sip:a@partner.example \
  --to sip:b@acme.test --src 300.1.1.1
check "bad source: says what was expected" \
  "$(grep -q -- "--src: expected an IPv4 or IPv6 address, got '300.1.1.1'" "$IT_TMP/err"; echo $?)"
decide "a From that is no SIP URI" 1 --method INVITE --from mailto:a@partner.example \
  --to sip:b@acme.test --src 127.0.0.1
decide "no method" 2 --from sip:a@partner.example --to sip:b@acme.test --src 127.0.0.1
printf '[server]\ndomains = [\n' >"$IT_TMP/broken.toml"
"$SIPEDGE" policy test --config "$IT_TMP/broken.toml" --method INVITE --from sip:a@b.example \
  --to sip:c@acme.test --src 127.0.0.1 >/dev/null 2>"$IT_TMP/err"
assert_eq "a broken configuration: exit code" "$?" 1
check "a broken configuration: file:line:col" \
  "$(grep -qE "broken.toml:[0-9]+:[0-9]+" "$IT_TMP/err"; echo $?)"

it_finish
