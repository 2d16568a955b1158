#!/usr/bin/env bash
# The B2BUA under load, on loopback, with SIPp as partner (127.0.0.2) and two internal UASs
# (127.0.0.3 and 127.0.0.4, SIPp's built-in uas with -aa so they answer the health pings):
#
# 1. Failover: calls flow to the first next hop (priority 1); it is killed mid-run; the health
#    checks mark it down and new calls go to the second. Only the calls caught on the dead UAS
#    may fail.
# 2. Leak check: a bounded run of LEAK_CALLS calls; afterwards the dialogs, relays and (once the
#    UDP transactions' 32 s wait is over) the transactions return to zero, and the resident
#    memory returns near where it was after a warm-up run (not checked under AddressSanitizer,
#    whose quarantine keeps freed memory).
#
# Usage: b2bua_load_test.sh SIPEDGE_BINARY
# Environment: FAILOVER_CALLS (default 1500 at 150/s), LEAK_CALLS (default 10000), LEAK_RATE
#              (default 400/s), KEEP_TMP=1.
# Runtime: about 3 minutes (two drains of 32 s). Loopback only.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

SIPEDGE=${1:-${SIPEDGE:-}}
if [ -z "$SIPEDGE" ]; then
  echo "usage: b2bua_load_test.sh SIPEDGE_BINARY" >&2
  exit 2
fi
it_init

failover_calls=${FAILOVER_CALLS:-1500}
leak_calls=${LEAK_CALLS:-10000}
leak_rate=${LEAK_RATE:-400}
ext_port=$(free_port)
int_port=$(free_port)
uas1_port=$(free_port)
uas2_port=$(free_port)
admin_port=$(free_port)

cat >"$IT_TMP/edge.toml" <<EOF
[server]
domains = ["acme.test"]
workers = 2

[[listeners]]
transport = "udp"
address = "127.0.0.1:$ext_port"
side = "external"

[[listeners]]
transport = "udp"
address = "127.0.0.10:$int_port"
side = "internal"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[partners]]
name = "partner"
domains = ["partner.test"]
require_mutual_tls = false
networks = ["127.0.0.0/8"]

[[next_hops]]
name = "first"
address = "127.0.0.3:$uas1_port"
priority = 1

[[next_hops]]
name = "second"
address = "127.0.0.4:$uas2_port"
priority = 2

[next_hop_health]
interval = "500ms"
failures = 2

[admin]
listen = "127.0.0.1:$admin_port"
EOF

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$edge_pid/status"; }
wait_metric() {  # wait_metric NAME VALUE TIMEOUT_S: until NAME reads VALUE
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    [ "$(metric "$1")" = "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.log"

export SIPP_TRACE_MSG=0
start_sipp_uas load_call_uas "$uas1_port" udp -i 127.0.0.3 -aa -trace_stat \
  -stf "$IT_TMP/uas1.stat.csv" -fd 1 || exit 1
uas1_pid=$IT_LAST_PID
start_sipp_uas load_call_uas "$uas2_port" udp -i 127.0.0.4 -aa -trace_stat \
  -stf "$IT_TMP/uas2.stat.csv" -fd 1 || exit 1

# ---- 1. failover under load ---------------------------------------------------------------------
export SIPP_RATE=150 SIPP_TIMEOUT=60
(sleep 3 && kill -TERM "$uas1_pid") &
killer=$!
run_sipp load_call_uac "127.0.0.1:$ext_port" udp "$failover_calls" -i 127.0.0.2 -s jerry
wait "$killer"
ok=$(sipp_stat 'SuccessfulCall(C)')
failed=$(sipp_stat 'FailedCall(C)')
assert_ge "failover: calls succeeded ($ok of $failover_calls)" "${ok:-0}" $((failover_calls - 10))
check "failover: at most 10 calls failed (those on the killed UAS): ${failed:-?}" \
  "$([ "${failed:-99}" -le 10 ] && echo 0 || echo 1)"
assert_eq "failover: the first hop is marked down" \
  "$(metric_line 'sipedge_next_hop_up{next_hop="first"}')" 0
assert_eq "failover: the second hop is up" "$(metric_line 'sipedge_next_hop_up{next_hop="second"}')" 1
uas2_calls=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "TotalCallCreated") c = i; next }
  { last = $c } END { print last + 0 }' "$IT_TMP/uas2.stat.csv")
# The first hop dies 3 s into the run: the calls offered after that (less a margin for the
# failover itself) must have reached the second.
after_kill=$((failover_calls - 3 * 150))
assert_ge "failover: the second hop took the calls after the kill" "$uas2_calls" \
  $((after_kill > 0 ? after_kill * 8 / 10 : 1))

# ---- 2. leak check --------------------------------------------------------------------------------
# A fresh instance without health pings (each ping is a transaction too): everything must drain.
it_stop "$edge_pid" 5
sed -i 's/^interval = "500ms"$/interval = "0s"/; s/^name = "first"$/name = "gone"/' "$IT_TMP/edge.toml"
sed -i 's/^priority = 1$/priority = 3/' "$IT_TMP/edge.toml"
start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge2.log"
export SIPP_RATE=$leak_rate SIPP_TIMEOUT=120
run_sipp load_call_uac "127.0.0.1:$ext_port" udp 1000 -i 127.0.0.2 -s jerry
assert_eq "warm-up: 1000 calls" "$(sipp_stat 'SuccessfulCall(C)')" 1000
wait_metric sipedge_transactions 0 45
sleep 11  # sipedge gives freed heap pages back every 10 s
rss_before=$(rss_kib)
run_sipp load_call_uac "127.0.0.1:$ext_port" udp "$leak_calls" -i 127.0.0.2 -s jerry
assert_eq "load: $leak_calls calls at $leak_rate/s" "$(sipp_stat 'SuccessfulCall(C)')" "$leak_calls"
wait_metric sipedge_dialogs 0 10
assert_eq "after the load: no dialog left" "$(metric sipedge_dialogs)" 0
assert_eq "after the load: no relay left" "$(metric sipedge_relays_pending)" 0
wait_metric sipedge_transactions 0 45
assert_eq "after the load and 32 s: no transaction left" "$(metric sipedge_transactions)" 0
sleep 11
rss_after=$(rss_kib)
echo "rss: ${rss_before} KiB after the warm-up, ${rss_after} KiB after $leak_calls calls"
if ldd "$SIPEDGE" 2>/dev/null | grep -q libasan; then
  echo "(resident memory not compared: AddressSanitizer build)"
else
  check "memory back near its start (+$(((rss_after - rss_before) / 1024)) MiB, at most 8 MiB)" \
    "$([ $((rss_after - rss_before)) -le 8192 ] && echo 0 || echo 1)"
fi

it_stop "$edge_pid" 5
it_finish
