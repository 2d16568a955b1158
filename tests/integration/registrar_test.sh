#!/usr/bin/env bash
# `sipedge run` as registrar, location service, redirect server and forking B2BUA (issue 6),
# against SIPp peers on loopback:
#
#   devices (SIPp, 127.0.0.3) --REGISTER, UDP--> sipedge internal 127.0.0.10
#   partner caller (SIPp, 127.0.0.2) --INVITE, UDP--> sipedge external 127.0.0.1
#   sipedge --INVITE--> the devices' registered contacts (127.0.0.3:PORT), forked
#
# Phase A (parallel forking, no authentication):
#   registration, refresh, a second device, out-of-order CSeq (500), 423 with Min-Expires,
#   removing one binding (expires=0) and all (Contact: *), a Request-URI with a user part (400),
#   third-party registration allowed and refused, a partner's REGISTER refused by policy (and
#   logged), `sipedge bindings`; parallel forking: the second device answers while the first
#   rings (CANCELed), one 486 and one 200, two 200 (the later one ACKed and BYEd), three devices,
#   all busy (486 back); redirect mode: 302 with the registered contacts, the caller reaches the
#   device directly, a redirect decision logged.
# Phase B (sipedge restarted on the same database: sequential forking, digest authentication):
#   the bindings survived (`sipedge bindings` and calls to them); sequential forking with the
#   first device silent (branch timeout, then the second) and ringing (CANCELed, then the
#   second); digest with MD5 (SIPp) and SHA-256 (sip_digest_register.py), a wrong password
#   (403), a replayed nonce count (401 stale); a short registration purged on expiry.
# Phase C (restarted again): digest credentials from the directory (a static user's `ha1`):
#   MD5 (SIPp) and SHA-256 accepted, a wrong password and a user without credentials refused.
# Every device and caller scenario asserts what crossed the wire (sipp/fork_*.xml, reg_*.xml).
#
# Usage: registrar_test.sh SIPEDGE_BINARY
# Environment: KEEP_TMP=1 keeps the traces. Runtime: about 60 s. Loopback only.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: registrar_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

PARTNER_IP=127.0.0.2
DEVICE_IP=127.0.0.3
EDGE_EXT=127.0.0.1
EDGE_INT=127.0.0.10
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-30}
export SIPP_RATE=${SIPP_RATE:-10}

ext_port=$(free_port)
int_port=$(free_port)
admin_port=$(free_port)
db=$IT_TMP/location.sqlite
decisions=$IT_TMP/decisions.log

# The HA1 file of phase B: alice's password is "secret" (MD5 and SHA-256 lines, realm acme.test).
ha1_md5=$(printf '%s' 'alice:acme.test:secret' | md5sum | cut -d' ' -f1)
ha1_sha=$(printf '%s' 'alice:acme.test:secret' | sha256sum | cut -d' ' -f1)
printf 'alice:acme.test:%s\nalice:acme.test:%s\n' "$ha1_md5" "$ha1_sha" >"$IT_TMP/ha1.txt"
# Phase C's credentials come from the directory: zoe's (password "zebra") in her static entry.
zoe_md5=$(printf '%s' 'zoe:acme.test:zebra' | md5sum | cut -d' ' -f1)
zoe_sha=$(printf '%s' 'zoe:acme.test:zebra' | sha256sum | cut -d' ' -f1)

write_config() {  # write_config FORK AUTH (0: none, 1: the HA1 file, dir: the directory's)
  cat >"$IT_TMP/edge.toml" <<EOF
[server]
domains = ["acme.test", "redir.test"]
workers = 2

[[listeners]]
transport = "udp"
address = "$EDGE_EXT:$ext_port"
side = "external"

[[listeners]]
transport = "udp"
address = "$EDGE_INT:$int_port"
side = "internal"

[admin]
listen = "127.0.0.1:$admin_port"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@acme.test" },
         { external = "{user}@redir.test", internal = "{user}@redir.test" }]

[[directory.static.users]]
external = "zoe@acme.test"
internal = "zoe@acme.test"
ha1 = ["$zoe_md5", "$zoe_sha"]

[registrar]
database = "$db"
min_expires = 2
purge_interval = "1s"
third_party = [{ registrant = "admin@acme.test", aors = ["*@acme.test"] }]

[routing]
fork = "$1"
branch_timeout = "2s"
domains = [{ domain = "redir.test", mode = "redirect" }]

[[partners]]
name = "partner"
domains = ["partner.test"]
require_mutual_tls = false
networks = ["$PARTNER_IP/32"]

[decision_log]
path = "$decisions"
flush_interval = "50ms"
EOF
  if [ "$2" != 0 ]; then
    cat >>"$IT_TMP/edge.toml" <<EOF

[registrar.auth]
algorithms = ["MD5", "SHA-256"]  # SIPp answers only the first challenge, and does MD5 only
EOF
    [ "$2" = 1 ] && echo "ha1_file = \"$IT_TMP/ha1.txt\"" >>"$IT_TMP/edge.toml"
  fi
}

edge_pid=
start_edge() {
  it_next edge
  start_sipedge "$IT_TMP/edge.toml" "$IT_NEXT.out"
}

bindings() {  # bindings [AOR]: `sipedge bindings` output (JSON lines) in $IT_TMP/b.out
  sleep 0.3  # the store's writer commits every 100 ms
  "$SIPEDGE" bindings "$@" --config "$IT_TMP/edge.toml" --json >"$IT_TMP/b.out" 2>"$IT_TMP/b.err"
}

# reg NAME PORT USER CSEQ STATUS [KEY VALUE]...: one REGISTER from DEVICE_IP:PORT with the
# device's Call-ID (USER-PORT); reg_uac.xml's keys default to a first-party registration of
# sip:USER@acme.test, Expires 3600, a 200 that lists the device; KEY VALUE pairs override them.
reg() {
  local name=$1 port=$2 user=$3 cseq=$4 status=$5 n
  shift 5
  declare -A k=([user]=$user [domain]=acme.test [aor]=sip:$user@acme.test
    [from_aor]=sip:$user@acme.test [first_cseq]=$cseq [contact_params]="" [extra_contact]=""
    [expires]=3600 [expected_status]=$status [expect_contact]=self [expires_min]=3590
    [expires_max]=3600 [expect_bindings]=-)
  [ "$status" = 200 ] || k[expect_contact]=-
  while [ $# -ge 2 ]; do
    k[$1]=$2
    shift 2
  done
  local args=()
  for n in "${!k[@]}"; do
    args+=(-key "$n" "${k[$n]}")
  done
  run_sipp reg_uac "$EDGE_INT:$int_port" udp 1 -i "$DEVICE_IP" -p "$port" \
    -cid_str "$user-$port@test" "${args[@]}"
  assert_sipp_ok "$name" $? 1
}

devices() {  # devices USER N: N devices of USER register from new ports, kept in ${PORTS[@]}
  local i
  PORTS=()
  for ((i = 1; i <= $2; i++)); do
    PORTS+=("$(free_port)")
    reg "register $1 ($i)" "${PORTS[-1]}" "$1" 1 200
  done
}

uas() {  # uas SCENARIO PORT USER TAG [sipp args]: a registered device answering at its contact
  local scen=$1 port=$2 user=$3 tag=$4
  shift 4
  start_sipp_uas "$scen" "$port" udp -i "$DEVICE_IP" -m 1 -timeout 30s -timeout_error \
    -key expected_ruri "sip:$user@$DEVICE_IP:$port" -key tagprefix "$tag" "$@" || return 1
  UAS_PIDS+=("$IT_LAST_PID")
  UAS_NAMES+=("$SIPP_UAS_LAST")
}

wait_devices() {  # wait_devices NAME: every device of the case ended with success
  local i pid rc
  for i in "${!UAS_PIDS[@]}"; do
    pid=${UAS_PIDS[$i]}
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      it_stop "$pid" 2
      rc=124
    else
      wait "$pid"
      rc=$?
    fi
    local ok=1 why
    [ "$rc" -eq 0 ] && ok=0
    why=$(head -c 400 "${UAS_NAMES[$i]}.err.log" 2>/dev/null)
    check "$1: device $(basename "${UAS_NAMES[$i]}") exit $rc ($why)" $ok
  done
  UAS_PIDS=()
  UAS_NAMES=()
}
UAS_PIDS=()
UAS_NAMES=()

call() {  # call NAME USER [DOMAIN]: a partner's call that must be answered
  run_sipp fork_call_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" \
    -key to_uri "sip:$2@${3:-acme.test}" -key from_uri sip:bob@partner.test -d 300 \
    -trace_logs -log_file "$IT_TMP/$1.call.log"
  assert_sipp_ok "$1: the caller's call" $? 1
}

call_fails() {  # call_fails NAME USER STATUS
  run_sipp fork_call_fail_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" \
    -key to_uri "sip:$2@acme.test" -key from_uri sip:bob@partner.test -key expected_status "$3"
  assert_sipp_ok "$1: the caller gets $3" $? 1
}

msg_count() {  # msg_count PREFIX REGEX: received messages whose start line matches
  trace_count "$2" "$1.msg.log"
}

# ==== Phase A ==================================================================================
write_config parallel 0
start_edge

# -- registrar ----------------------------------------------------------------------------------
p1=$(free_port)
p2=$(free_port)
reg "register alice (device 1)" "$p1" alice 1 200 expect_bindings 1
reg "refresh alice (same Call-ID, higher CSeq)" "$p1" alice 2 200 expect_bindings 1 \
  contact_params ";expires=600" expires_min 590 expires_max 600
reg "register alice (device 2): both listed" "$p2" alice 1 200 expect_bindings 2
reg "out-of-order CSeq" "$p1" alice 2 500
reg "below min_expires: 423 with Min-Expires" "$p2" alice 5 423 expires 1
reg "device 2 removed (expires=0)" "$p2" alice 6 200 expires 0 expect_contact - \
  expect_bindings 1
bindings alice@acme.test
assert_eq "bindings: alice has one contact" "$(wc -l <"$IT_TMP/b.out")" 1
grep -q "\"contact\":\"sip:alice@$DEVICE_IP:$p1\"" "$IT_TMP/b.out"
check "bindings: alice's device 1 listed (see $IT_TMP/b.out)" $?
run_sipp reg_star_uac "$EDGE_INT:$int_port" udp 1 -i "$DEVICE_IP" -p "$p1" \
  -cid_str "alice-$p1@test" -key user alice -key domain acme.test -key aor sip:alice@acme.test \
  -key first_cseq 3
assert_sipp_ok "Contact: * with Expires: 0 removes all" $? 1
bindings alice@acme.test
check "bindings: none left for alice (exit 3)" $(($? == 3 ? 0 : 1))
reg "Request-URI with a user part: 400" "$(free_port)" alice 1 400 domain alice@acme.test
p3=$(free_port)
reg "third party allowed (admin registers bob)" "$p3" bob 1 200 \
  from_aor sip:admin@acme.test
reg "third party refused (eve registers bob)" "$(free_port)" bob 1 403 \
  from_aor sip:eve@acme.test
# RFC 5626: a device (one +sip.instance) that comes back from another address with another
# Call-ID replaces its own binding instead of adding one.
inst=';+sip.instance="<urn:uuid:00000000-0000-0000-0000-00000000c0de>";reg-id=1'
i1=$(free_port)
i2=$(free_port)
reg "instance: first registration" "$i1" ivan 1 200 contact_params "$inst" expect_bindings 1
reg "instance: the same device from another port replaces it" "$i2" ivan 1 200 \
  contact_params "$inst" expect_bindings 1
bindings ivan@acme.test
grep -q "\"contact\":\"sip:ivan@$DEVICE_IP:$i2\"" "$IT_TMP/b.out"
check "instance: the binding is the new address (see $IT_TMP/b.out)" $?
grep -q '"instance":"<urn:uuid:00000000-0000-0000-0000-00000000c0de>"' "$IT_TMP/b.out"
check "instance: +sip.instance kept in the store" $?
run_sipp reg_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" -cid_str "partner-reg@test" \
  -key user mallory -key domain acme.test -key aor sip:mallory@partner.test \
  -key from_aor sip:mallory@partner.test -key first_cseq 1 -key contact_params "" \
  -key extra_contact "" -key expires 3600 -key expected_status 403 -key expect_contact - \
  -key expires_min 0 -key expires_max 0 -key expect_bindings -
assert_sipp_ok "a partner's REGISTER is refused by policy" $? 1
sleep 0.3
grep -q '"rule":"partners\[partner\].register"' "$decisions"
check "decision log: the partner's REGISTER refused by rule partners[partner].register" $?

# -- parallel forking ---------------------------------------------------------------------------
# carol: device 1 rings (and is CANCELed), device 2 answers.
devices carol 2
uas fork_ring_uas "${PORTS[0]}" carol ring
uas fork_answer_uas "${PORTS[1]}" carol ans -d 500
call "parallel: the second answers" carol
wait_devices "parallel: the second answers"
assert_eq "parallel: two early dialogs reached the caller" \
  "$(grep -c ' 180 to-tag ' "$IT_TMP/parallel: the second answers.call.log" 2>/dev/null)" 2

# dave: device 1 busy, device 2 answers.
devices dave 2
uas fork_busy_uas "${PORTS[0]}" dave busy
uas fork_answer_uas "${PORTS[1]}" dave ans -d 600
call "parallel: 486 and 200" dave
wait_devices "parallel: 486 and 200"

# erin: both answer 200; the later one is ACKed and BYEd by sipedge, never relayed.
devices erin 2
uas fork_answer_uas "${PORTS[0]}" erin ans -d 200
uas fork_extra_2xx_uas "${PORTS[1]}" erin xtra -d 1000
extra=$SIPP_UAS_LAST
call "parallel: two 200" erin
wait_devices "parallel: two 200"
assert_eq "two 200: the extra branch got a BYE" "$(msg_count "$extra" '^BYE ')" 1
grep -q 'tag=xtra-' "$SIPP_LAST.msg.log"
check "two 200: nothing of the extra branch reached the caller" $(($? == 0 ? 1 : 0))

# frank: three devices: ringing, busy, answering.
devices frank 3
uas fork_ring_uas "${PORTS[0]}" frank ring
uas fork_busy_uas "${PORTS[1]}" frank busy
uas fork_answer_uas "${PORTS[2]}" frank ans -d 800
call "parallel: three devices" frank
wait_devices "parallel: three devices"

# gina: both busy: the caller gets 486.
devices gina 2
uas fork_busy_uas "${PORTS[0]}" gina busy
uas fork_busy_uas "${PORTS[1]}" gina busy -d 300
call_fails "parallel: all busy" gina 486
wait_devices "parallel: all busy"

# -- redirect -----------------------------------------------------------------------------------
r1=$(free_port)
reg "register rob@redir.test" "$r1" rob 1 200 domain redir.test aor sip:rob@redir.test \
  from_aor sip:rob@redir.test expect_bindings 1
uas fork_answer_uas "$r1" rob direct
run_sipp redirect_uac "$EDGE_EXT:$ext_port" udp 1 -i "$PARTNER_IP" \
  -key to_uri sip:rob@redir.test -key from_uri sip:bob@partner.test -d 200 \
  -trace_logs -log_file "$IT_TMP/redirect.log"
assert_sipp_ok "redirect: 302, then the device directly" $? 1
wait_devices "redirect"
grep -q "302 contact sip:rob@$DEVICE_IP:$r1 " "$IT_TMP/redirect.log"
check "redirect: the 302's Contact is rob's registration (see $IT_TMP/redirect.log)" $?
sleep 0.3
grep '"verdict":"redirect"' "$decisions" | grep -q '"rule":"routing.redirect"'
check "decision log: the redirect is logged (verdict redirect, rule routing.redirect)" $?

# Registrations for phase B (made before authentication is switched on).
s1=$(free_port)
s2=$(free_port)
reg "register sam (1, q=1)" "$s1" sam 1 200 contact_params ";q=1.0"
reg "register sam (2, q=0.5)" "$s2" sam 1 200 contact_params ";q=0.5"
t1=$(free_port)
t2=$(free_port)
reg "register tom (1, q=1)" "$t1" tom 1 200 contact_params ";q=1.0"
reg "register tom (2, q=0.5)" "$t2" tom 1 200 contact_params ";q=0.5"

assert_eq "metrics: no dialog left (phase A)" "$(metric sipedge_dialogs)" 0
assert_ge "metrics: forked requests" "$(metric sipedge_forked_total)" 5
assert_ge "metrics: redirects" "$(metric sipedge_redirects_total)" 1

# ==== Phase B: restart on the same database ====================================================
it_stop "$edge_pid" 5
write_config sequential 1
start_edge
bindings
for u in bob sam tom; do
  grep -q "\"aor\":\"$u@acme.test\"" "$IT_TMP/b.out"
  check "after a restart: $u's bindings are still there" $?
done
assert_eq "after a restart: $(wc -l <"$IT_TMP/b.out") bindings in the store" \
  "$(metric sipedge_location_bindings)" "$(wc -l <"$IT_TMP/b.out")"

# -- sequential forking -------------------------------------------------------------------------
uas fork_silent_uas "$s1" sam silent -recv_timeout 6000
silent=$SIPP_UAS_LAST
uas fork_answer_uas "$s2" sam ans
call "sequential: the first is silent" sam
wait_devices "sequential: the first is silent"
assert_eq "sequential: no CANCEL to the silent device" "$(msg_count "$silent" '^CANCEL ')" 0

uas fork_ring_uas "$t1" tom ring
uas fork_answer_uas "$t2" tom ans
call "sequential: the first rings, then the second" tom
wait_devices "sequential: the first rings, then the second"

# -- digest authentication ------------------------------------------------------------------------
a1=$(free_port)
run_sipp reg_auth_uac "$EDGE_INT:$int_port" udp 1 -i "$DEVICE_IP" -p "$a1" \
  -au alice -ap secret -auth_uri acme.test -key user alice -key domain acme.test \
  -key aor sip:alice@acme.test -key first_cseq 1 -key expected_status 200
assert_sipp_ok "digest MD5 (SIPp): 401, then 200" $? 1
run_sipp reg_auth_uac "$EDGE_INT:$int_port" udp 1 -i "$DEVICE_IP" -p "$(free_port)" \
  -au alice -ap wrong -auth_uri acme.test -key user alice -key domain acme.test \
  -key aor sip:alice@acme.test -key first_cseq 1 -key expected_status 403
assert_sipp_ok "digest with a wrong password: 403" $? 1
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:alice@acme.test --password secret --algorithm SHA-256 --expect 200 2>&1)
check "digest SHA-256: 200 ($out)" $?
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:alice@acme.test --password secret --algorithm SHA-256 --replay --expect 401 2>&1)
check "digest: a replayed nonce count gets 401 ($out)" $?
reg "without credentials: 401" "$(free_port)" alice 1 401

# -- expiry -----------------------------------------------------------------------------------------
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:alice@acme.test --password secret --algorithm SHA-256 --expires 2 \
  --contact "sip:alice@$DEVICE_IP:9" --expect 200 2>&1)
check "a 2-second registration: 200 ($out)" $?
purged_before=$(metric sipedge_location_purged_total)
sleep 5
assert_ge "expiry: purged by the timer" "$(metric sipedge_location_purged_total)" $((purged_before + 1))
bindings alice@acme.test
grep -q "$DEVICE_IP:9\"" "$IT_TMP/b.out"
check "expiry: the short binding is gone from the store" $(($? == 0 ? 1 : 0))

# ==== Phase C: the credentials from the directory (zoe's static entry) ==========================
it_stop "$edge_pid" 5
write_config sequential dir
start_edge
z1=$(free_port)
run_sipp reg_auth_uac "$EDGE_INT:$int_port" udp 1 -i "$DEVICE_IP" -p "$z1" \
  -au zoe -ap zebra -auth_uri acme.test -key user zoe -key domain acme.test \
  -key aor sip:zoe@acme.test -key first_cseq 1 -key expected_status 200
assert_sipp_ok "directory credentials, MD5 (SIPp): 200" $? 1
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:zoe@acme.test --password zebra --algorithm SHA-256 --expect 200 2>&1)
check "directory credentials, SHA-256: 200 ($out)" $?
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:zoe@acme.test --password wrong --algorithm SHA-256 --expect 403 2>&1)
check "directory credentials, a wrong password: 403 ($out)" $?
out=$(python3 "$here/sip_digest_register.py" "$EDGE_INT:$int_port" --bind "$DEVICE_IP" \
  --aor sip:alice@acme.test --password secret --algorithm SHA-256 --expect 403 2>&1)
check "directory credentials: a user without any (alice, mapped by a rule) gets 403 ($out)" $?
bindings zoe@acme.test
assert_eq "directory credentials: zoe's bindings (SIPp and the script)" "$(wc -l <"$IT_TMP/b.out")" 2

assert_eq "metrics: no dialog left (end)" "$(metric sipedge_dialogs)" 0
# The silent device's branch (sam) is abandoned, not forgotten: its transaction runs until timer
# B (32 s) in case a late 2xx comes, and the relay with it. Then nothing is left.
for _ in $(seq 450); do
  [ "$(metric sipedge_relays_pending)" = 0 ] && break
  sleep 0.1
done
assert_eq "metrics: no relay pending (after timer B of the abandoned branch)" \
  "$(metric sipedge_relays_pending)" 0
kill -0 "$edge_pid" 2>/dev/null
check "sipedge still running" $?
it_stop "$edge_pid" 5
! grep -qE 'AddressSanitizer|runtime error' "$IT_TMP"/*edge.out
check "no sanitizer report" $?
it_finish
