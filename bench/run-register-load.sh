#!/usr/bin/env bash
# Registration load for the registrar and the location service (issue 6). A benchmark, not a
# test: it reports, it never fails on a slow result.
#
# Starts `sipedge run` with an internal UDP listener and [registrar] (SQLite database in a
# temporary folder, or memory only with STORE=memory) and drives SIPp's bench/sipp/
# register_load.xml: one REGISTER per call, each for a new AOR (u<call number>@acme.test), so the
# location service grows by one binding per call. Per step (RATE x STEP_SECONDS REGISTERs):
# achieved rate, failures, the CPU time sipedge spent per successful REGISTER (utime + stime from
# /proc, microseconds), the bindings in the store and, with SQLite, the binding sets the writer
# thread committed (sipedge_location_persisted_total) once it caught up.
#
# Usage: bench/run-register-load.sh
# Environment: SIPEDGE (default <repo>/build/sipedge), STORE (sqlite|memory, default sqlite),
#   RATES (default "1000 2000 4000"), STEP_SECONDS (default 5), WORKERS (default 2),
#   KEEP_TMP=1. Loopback only; every SIPp run is bounded by -m and a timeout.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

SIPEDGE=${SIPEDGE:-$repo/build/sipedge}
STORE=${STORE:-sqlite}
RATES=${RATES:-"1000 2000 4000"}
STEP_SECONDS=${STEP_SECONDS:-5}
WORKERS=${WORKERS:-2}
clk_tck=$(getconf CLK_TCK)
it_init

port=$(free_port)
admin_port=$(free_port)
database=""
[ "$STORE" = sqlite ] && database="database = \"$IT_TMP/location.sqlite\""
cat >"$IT_TMP/edge.toml" <<EOF
[server]
domains = ["acme.test"]
workers = $WORKERS

[[listeners]]
transport = "udp"
address = "127.0.0.10:$port"
side = "internal"

[admin]
listen = "127.0.0.1:$admin_port"

[limits]
max_transactions = 2000000

[registrar]
$database
max_contacts = 10
EOF
start_sipedge "$IT_TMP/edge.toml" "$IT_TMP/edge.out"
edge=$edge_pid

cpu_ticks() {  # utime + stime of sipedge, in clock ticks
  sed 's/^.*) //' "/proc/$edge/stat" | awk '{ print $12 + $13 }'
}

echo "| store | target/s | REGISTERs | achieved/s | failed | CPU µs per REGISTER | bindings | persisted |"
echo "|---|---|---|---|---|---|---|---|"
offset=0
for rate in $RATES; do
  calls=$((rate * STEP_SECONDS))
  before=$(cpu_ticks)
  start_ns=$(date +%s%N)
  # SIPp numbers calls from 1 in each run: a later step registers the same AORs again from a
  # new port and Call-ID, so it adds a second (third, ...) binding to each.
  timeout -k 5 $((STEP_SECONDS * 4 + 30)) sipp "127.0.0.10:$port" \
    -sf "$repo/bench/sipp/register_load.xml" -i 127.0.0.1 -bind_local -ci 127.0.0.1 \
    -cp "$(free_port)" -mi 127.0.0.1 -nostdin -p "$(free_port)" -t u1 -m "$calls" -r "$rate" \
    -timeout "$((STEP_SECONDS * 4 + 20))s" -cid_str "s$offset-%u@bench" \
    -trace_stat -stf "$IT_TMP/step-$rate.stat.csv" -fd 1 >"$IT_TMP/step-$rate.out" 2>&1
  end_ns=$(date +%s%N)
  after=$(cpu_ticks)
  ok=$(sipp_stat 'SuccessfulCall(C)' "$IT_TMP/step-$rate" 2>/dev/null || echo 0)
  bad=$(sipp_stat 'FailedCall(C)' "$IT_TMP/step-$rate" 2>/dev/null || echo 0)
  [ -z "$ok" ] && ok=0
  [ -z "$bad" ] && bad=0
  secs=$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  achieved=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  us=$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$ok" \
    'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }')
  sleep 1  # the writer thread commits every 100 ms
  echo "| $STORE | $rate | $calls | $achieved | $bad | $us | $(metric sipedge_location_bindings) | $(metric sipedge_location_persisted_total) |"
  offset=$((offset + 1))
done
echo
echo "Command: STORE=$STORE RATES=\"$RATES\" STEP_SECONDS=$STEP_SECONDS WORKERS=$WORKERS bench/run-register-load.sh"
it_stop "$edge" 5
