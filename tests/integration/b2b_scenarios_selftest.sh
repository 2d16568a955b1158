#!/usr/bin/env bash
# b2b_scenarios_selftest.sh: checks the B2BUA scenario set (sipp/b2b_*.xml) without sipedge.
# Each caller-side scenario (UAC, 127.0.0.2) sends straight to its callee-side scenario (UAS,
# 127.0.0.3) over UDP, with -key values under which every expectation holds ("direct mode": the
# expected identities are the ones the UAC sends, the forbidden texts cannot occur): both sides
# must succeed. Then the same pair runs with one expectation made wrong (or a forbidden text that
# does occur): the side holding it must fail the call, and its error log must name the check.
# One line per check; exits non-zero if any check failed. Runtime about 2.5 minutes.
#
#   bash tests/integration/b2b_scenarios_selftest.sh            # all pairs
#   ONLY=basic bash tests/integration/b2b_scenarios_selftest.sh # pairs whose label matches
#   KEEP_TMP=1 ...                                              # keep the SIPp traces
set -u
source "$(dirname "$0")/lib.sh"
it_init

CALLER_IP=127.0.0.2
CALLEE_IP=127.0.0.3
CALLS=${CALLS:-2}
export SIPP_TIMEOUT=${SIPP_TIMEOUT:-30}
export SIPP_RATE=${SIPP_RATE:-10}
NOMATCH='no-such-text-1|no-such-text-2'

# direct mode: what the UAC sends is what the UAS expects
uac_keys() {  # uac_keys [NAME VALUE]...: the UAC's -key options, with overrides
  local -A k=(
    [leg]=pside [from_uri]=sip:alice@partner.test [to_uri]=sip:jerry@acme.test
    [forbidden]=$NOMATCH [expected_contact_host]=$CALLEE_IP [expected_via_host]=$CALLEE_IP
    [refer_to]=sip:bob@acme.test [rack_cseq_offset]=0)
  while [ $# -ge 2 ]; do k[$1]=$2; shift 2; done
  UAC_KEYS=(-cid_str "pside-%u-%p@%s")
  local n
  for n in "${!k[@]}"; do UAC_KEYS+=(-key "$n" "${k[$n]}"); done
}

uas_keys() {  # uas_keys [NAME VALUE]...: the UAS's -key options, with overrides
  local -A k=(
    [leg]=iside [forbidden]=$NOMATCH [expected_ruri]=sip:jerry@acme.test
    [expected_from]=sip:alice@partner.test [expected_to]=sip:jerry@acme.test
    [expected_contact_host]=$CALLER_IP [expected_via_host]=$CALLER_IP
    [expected_refer_to]=sip:bob@acme.test)
  while [ $# -ge 2 ]; do k[$1]=$2; shift 2; done
  UAS_KEYS=()
  local n
  for n in "${!k[@]}"; do UAS_KEYS+=(-key "$n" "${k[$n]}"); done
}

say() {  # say NAME STATUS: one line per check, counted by lib.sh's check
  if [ "$2" -eq 0 ]; then echo "ok    $1"; else echo "FAIL  $1"; fi
  [ "$2" -eq 0 ]
  IT_PASSES=$((IT_PASSES + ($2 == 0 ? 1 : 0)))
  IT_FAILURES=$((IT_FAILURES + ($2 == 0 ? 0 : 1)))
}

UAC_RC=0 UAS_RC=0 UAS_PREFIX="" UAC_PREFIX=""
run_pair() {  # run_pair UAC_SCEN UAS_SCEN|- CALLS: sets UAC_RC, UAS_RC (uses UAC_KEYS, UAS_KEYS)
  local uac=$1 uas=$2 calls=$3 port pid i
  UAS_RC=0
  if [ "$uas" != - ]; then
    port=${PAIR_PORT:-$(free_port)}
    start_sipp_uas "$uas" "$port" udp -i "$CALLEE_IP" -m "$calls" -timeout 45s -timeout_error \
      "${UAS_KEYS[@]}" || { UAC_RC=98 UAS_RC=98; return; }
    pid=$IT_LAST_PID
    UAS_PREFIX=$SIPP_UAS_LAST
  else
    port=$UAS_PORT
  fi
  run_sipp "$uac" "$CALLEE_IP:$port" udp "$calls" -i "$CALLER_IP" "${UAC_KEYS[@]}"
  UAC_RC=$?
  UAC_PREFIX=$SIPP_LAST
  [ "$uas" = - ] && return
  for ((i = 0; i < 500; i++)); do  # the UAS ends after -m calls (and its timewait): <= 50 s
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

evidence() {  # evidence PREFIX: the head of a side's error log, on failure
  head -c 1200 "$1.err.log" 2>/dev/null | sed 's/^/      | /' >&2
}

expect_ok() {  # expect_ok LABEL UAC UAS: both sides succeed in direct mode
  local label=$1
  run_pair "$2" "$3" "$CALLS"
  say "$label: direct, $CALLS calls: caller side exit $UAC_RC (want 0)" "$UAC_RC" ||
    evidence "$UAC_PREFIX"
  if [ "$3" != - ]; then
    say "$label: direct, $CALLS calls: callee side exit $UAS_RC (want 0)" "$UAS_RC" ||
      evidence "$UAS_PREFIX"
  fi
}

expect_fail() {  # expect_fail LABEL SIDE(uac|uas) GREP UAC UAS: SIDE fails, its log shows GREP
  local label=$1 side=$2 pattern=$3 rc prefix ok=0
  run_pair "$4" "$5" 1
  if [ "$side" = uas ]; then rc=$UAS_RC prefix=$UAS_PREFIX; else rc=$UAC_RC prefix=$UAC_PREFIX; fi
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 98 ] || ok=1
  say "$label: $side side fails the call (exit $rc, want 1)" $ok
  ok=0
  grep -qF -- "$pattern" "$prefix.err.log" 2>/dev/null || ok=1
  say "$label: $side side's error log shows '$pattern'" $ok || evidence "$prefix"
}

want() { [ -z "${ONLY:-}" ] || [[ "$1" == *$ONLY* ]]; }

pair_checks() {  # pair_checks LABEL UAC UAS: direct pass + the generic negative checks
  local label=$1 uac=$2 uas=$3
  want "$label" || return 0
  uac_keys; uas_keys
  expect_ok "$label" "$uac" "$uas"
  uac_keys; uas_keys expected_to sip:someone-else@acme.test
  expect_fail "$label, wrong expected_to" uas "sip:someone-else@acme.test\`sip:jerry@acme.test" \
    "$uac" "$uas"
  # the callee sees the caller's tag/branch/Call-ID marker: a leak check that must fire
  uac_keys; uas_keys forbidden "nothing-here|pside"
  expect_fail "$label, callee forbids 'pside'" uas "Regexp matched but should not" "$uac" "$uas"
  uac_keys forbidden "iside|nothing-here"; uas_keys
  expect_fail "$label, caller forbids 'iside'" uac "Regexp matched but should not" "$uac" "$uas"
}

echo "b2b scenario self-test (direct mode, UDP, $CALLER_IP -> $CALLEE_IP)"

pair_checks basic b2b_basic_uac b2b_basic_uas
if want basic; then
  uac_keys; uas_keys expected_ruri sip:js@nyc.acme.test
  expect_fail "basic, wrong expected_ruri" uas "sip:js@nyc.acme.test\`sip:jerry@acme.test" \
    b2b_basic_uac b2b_basic_uas
  uac_keys; uas_keys expected_from sip:alice@elsewhere.test
  expect_fail "basic, wrong expected_from" uas "sip:alice@elsewhere.test\`sip:alice@partner.test" \
    b2b_basic_uac b2b_basic_uas
  uac_keys; uas_keys expected_via_host 127.0.0.10
  expect_fail "basic, wrong expected_via_host" uas "127.0.0.10\`$CALLER_IP" \
    b2b_basic_uac b2b_basic_uas
  uac_keys; uas_keys expected_contact_host 127.0.0.10
  expect_fail "basic, wrong expected_contact_host (callee)" uas "127.0.0.10\`$CALLER_IP" \
    b2b_basic_uac b2b_basic_uas
  uac_keys expected_contact_host 127.0.0.1; uas_keys
  expect_fail "basic, wrong expected_contact_host (caller)" uac "127.0.0.1\`$CALLEE_IP" \
    b2b_basic_uac b2b_basic_uas
  uac_keys forbidden '127\.0\.0\.9'; uas_keys
  expect_fail "basic, regex-style forbidden value refused" uac "Regexp matched but should not" \
    b2b_basic_uac b2b_basic_uas
  uac_keys; uas_keys forbidden "nothing|$CALLER_IP"
  expect_fail "basic, callee forbids the caller's address" uas "Regexp matched but should not" \
    b2b_basic_uac b2b_basic_uas
  # the SDP check: sipp/invite_uac.xml offers another SDP; its identities are made to match
  PAIR_PORT=$(free_port) uac_port=$(free_port)
  uac_keys; uas_keys expected_ruri "sip:s@$CALLEE_IP:$PAIR_PORT" \
    expected_to "sip:s@$CALLEE_IP:$PAIR_PORT" expected_from "sip:sipp@$CALLER_IP:$uac_port"
  UAC_KEYS=(-s s -p "$uac_port")
  expect_fail "basic, different SDP offer" uas "o=b2btest 1001 1 IN IP4" invite_uac b2b_basic_uas
  PAIR_PORT=""
fi

pair_checks callee_bye b2b_callee_bye_uac b2b_callee_bye_uas
pair_checks cancel b2b_cancel_uac b2b_cancel_uas
pair_checks reinvite b2b_reinvite_uac b2b_reinvite_uas
pair_checks reinvite_callee b2b_reinvite_callee_uac b2b_reinvite_callee_uas
pair_checks update b2b_update_uac b2b_update_uas
pair_checks prack b2b_prack_uac b2b_prack_uas
if want prack; then
  uac_keys rack_cseq_offset 1; uas_keys
  expect_fail "prack, RAck CSeq number off by one" uas "1 1\`1 2" b2b_prack_uac b2b_prack_uas
fi
pair_checks info b2b_info_uac b2b_info_uas
pair_checks message b2b_message_uac b2b_message_uas
pair_checks subscribe b2b_subscribe_uac b2b_subscribe_uas
pair_checks subscribe_notify_first b2b_subscribe_uac b2b_subscribe_notify_first_uas
pair_checks refer b2b_refer_uac b2b_refer_uas
if want refer; then
  uac_keys; uas_keys expected_refer_to sip:bob@nyc.acme.test
  expect_fail "refer, wrong expected_refer_to" uas "sip:bob@nyc.acme.test\`sip:bob@acme.test" \
    b2b_refer_uac b2b_refer_uas
fi

if want options; then
  # OPTIONS to the gateway itself: the far end here is the existing sipp/options_uas.xml
  UAS_PORT=$(free_port)
  start_sipp_uas options_uas "$UAS_PORT" udp -i "$CALLEE_IP" -timeout 120s
  opt_uas=$IT_LAST_PID
  uac_keys to_uri sip:acme.test
  expect_ok "options" b2b_options_uac -
  uac_keys to_uri sip:acme.test forbidden "nothing|$CALLEE_IP"
  expect_fail "options, caller forbids the callee's address" uac "Regexp matched but should not" \
    b2b_options_uac -
  it_stop "$opt_uas" 2
fi

it_finish
