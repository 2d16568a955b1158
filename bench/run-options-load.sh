#!/usr/bin/env bash
# OPTIONS load sanity for `sipedge responder` (issue 3). A benchmark, not a test: it never fails
# on a slow result, it reports it.
#
# Starts `sipedge responder` on loopback (UDP and TLS listeners, mutual TLS required) and drives
# SIPp's OPTIONS scenario (tests/integration/sipp/options_uac.xml: a call succeeds only on a 200)
# at increasing rates. Each step sends RATE x STEP_SECONDS calls (-m), under SIPp's -timeout and
# a hard `timeout`. Modes:
#   udp        SIPp UDP, one socket
#   tls        SIPp TCP -> stunnel client -> responder TLS, one connection
#   tls-multi  TLS_CONNECTIONS SIPp processes in parallel, one connection each, RATE split
#              between them (stunnel runs one thread per connection)
#   tls-tn     SIPp -t tn: a new connection, so a new TLS handshake, per call (handshake rate)
# For each step it reads SIPp's statistics (-trace_stat): successful and failed calls, calls
# never finished (SIPp stopped at -timeout), the achieved rate, and the CPU share of the
# responder, SIPp and stunnel over the step. A step passes with < 0.1% failures (failed plus
# unfinished, over the calls asked for). A mode stops at its first failing step, or at the first
# step whose achieved rate is below MIN_SUSTAINED_PCT (80) % of its target (saturated: higher
# targets would measure the same ceiling). The result per mode is the highest passing target
# rate and the rate achieved there: on a 2-core machine SIPp and stunnel share the cores with
# the responder, so the achieved rate can be below the target, and the CPU columns say which
# process was the bottleneck.
#
# Usage: bench/run-options-load.sh
# Environment:
#   SIPEDGE          the binary (default <repo>/build/sipedge; "standin" = SIPp UAS + stunnel
#                    instead of the responder, to check this script)
#   MODES            default "udp tls tls-multi tls-tn"
#   RATES            calls/s for udp, tls, tls-multi (default "1000 2000 5000 10000 20000 40000")
#   TN_RATES         calls/s for tls-tn (default "200 500 1000 2000")
#   STEP_SECONDS     seconds of traffic per step (default 5)
#   TLS_CONNECTIONS  connections (SIPp processes) for tls-multi (default 4)
#   WORKERS          responder --workers (default: number of cores)
#   RESPONDER_ARGS   more responder options (default "--max-transactions 2000000": a UDP
#                    OPTIONS transaction stays 32 s after its answer (timer J), so the default
#                    table of 200000 would cap UDP at 6,250 new requests/s and measure the
#                    table, not the throughput)
#   TIME_BUDGET      seconds for the whole run; steps that would not fit are skipped (default 300)
#   MIN_SUSTAINED_PCT  achieved/target (%) under which a mode counts as saturated (default 80)
#   KEEP_TMP=1       keep the SIPp statistics and logs
# Output: a Markdown table per mode and a summary, ready to paste into bench/RESULTS.md.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

SIPEDGE=${SIPEDGE:-$repo/build/sipedge}
MODES=${MODES:-"udp tls tls-multi tls-tn"}
RATES=${RATES:-"1000 2000 5000 10000 20000 40000"}
TN_RATES=${TN_RATES:-"200 500 1000 2000"}
STEP_SECONDS=${STEP_SECONDS:-5}
TLS_CONNECTIONS=${TLS_CONNECTIONS:-4}
WORKERS=${WORKERS:-$(nproc)}
RESPONDER_ARGS=${RESPONDER_ARGS:---max-transactions 2000000}
TIME_BUDGET=${TIME_BUDGET:-300}
max_fail_ppm=1000        # 0.1%
min_sustained_pct=${MIN_SUSTAINED_PCT:-80}   # achieved/target below this: saturated
start_s=$SECONDS
clk_tck=$(getconf CLK_TCK)
invocation="$(for v in SIPEDGE MODES RATES TN_RATES STEP_SECONDS TLS_CONNECTIONS WORKERS RESPONDER_ARGS TIME_BUDGET; do
  printf "%s='%s' " "$v" "${!v}"; done)bash bench/run-options-load.sh"

for tool in sipp stunnel openssl ss; do
  command -v "$tool" >/dev/null || { echo "missing $tool: bash tools/install-deps.sh test" >&2; exit 2; }
done
standin=0
[ "$SIPEDGE" = standin ] && standin=1
if [ $standin = 0 ] && [ ! -x "$SIPEDGE" ]; then
  echo "no sipedge binary at $SIPEDGE (set SIPEDGE, or build: cmake --build build)" >&2
  exit 2
fi

it_init
mint_test_certs "$IT_TMP/certs" || exit 1
certs=$IT_TMP/certs

# ---- the responder (or the stand-in) ------------------------------------------------------------
# Started afresh for each mode, with a fresh stunnel client: on UDP a completed non-INVITE server
# transaction lives on for Timer J (64*T1 = 32 s), so one mode's load would still occupy the
# next mode's transaction table. Within a mode the steps do add up, as sustained load would.
if [ $standin = 0 ] && grep -qaE 'AddressSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer' "$SIPEDGE"; then
  echo "WARNING: $SIPEDGE is a sanitizer build: its figures mean little. Use a Release build." >&2
fi
if [ $standin = 0 ]; then
  responder_cmd="$SIPEDGE responder --listen udp:127.0.0.1:0 --listen tls:127.0.0.1:0 --cert CERTS/edge.pem --key CERTS/edge.key --ca CERTS/ca.pem --client-cert require --workers $WORKERS $RESPONDER_ARGS"
else
  responder_cmd="(stand-in) sipp -sf tests/integration/sipp/options_uas.xml on UDP and TCP, stunnel server (requireCert) for TLS"
fi
target_pids=()
start_target() {  # sets udp_port, tls_port, target_pids, tls_in (stunnel client), stunnel_pid
  target_pids=()
  if [ $standin = 0 ]; then
    it_next responder
    local out=$IT_NEXT.out err=$IT_NEXT.err
    "$SIPEDGE" responder --listen udp:127.0.0.1:0 --listen tls:127.0.0.1:0 \
      --cert "$certs/edge.pem" --key "$certs/edge.key" --ca "$certs/ca.pem" --client-cert require \
      --workers "$WORKERS" $RESPONDER_ARGS >"$out" 2>"$err" &
    local pid=$!
    it_track "$pid"
    target_pids=("$pid")
    if ! wait_for_line "$out" '^listening (udp|tls) ' 2 10 "$pid"; then
      echo "sipedge responder did not report its listeners:" >&2
      head -c 2000 "$out" "$err" >&2
      return 1
    fi
    udp_port=$(sed -n 's/^listening udp 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
    tls_port=$(sed -n 's/^listening tls 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$out")
  else
    local behind
    udp_port=$(free_port); tls_port=$(free_port); behind=$(free_port)
    SIPP_TRACE_MSG=0 start_sipp_uas options_uas "$udp_port" udp || return 1
    target_pids+=("$IT_LAST_PID")
    SIPP_TRACE_MSG=0 start_sipp_uas options_uas "$behind" tcp || return 1
    target_pids+=("$IT_LAST_PID")
    start_stunnel_server "$tls_port" "$behind" "$certs/edge.pem" "$certs/edge.key" "$certs/ca.pem" yes ||
      return 1
    target_pids+=("$IT_LAST_PID")
  fi
  tls_in=$(free_port)
  STUNNEL_DEBUG=3 start_stunnel_client "$tls_in" "127.0.0.1:$tls_port" "$certs/ca.pem" \
    "$certs/partner.pem" "$certs/partner.key" 127.0.0.1 || return 1
  stunnel_pid=$IT_LAST_PID
}

stop_target() {  # stops what start_target started (SIGTERM; the responder must exit 0)
  local pid
  it_stop "$stunnel_pid"
  for pid in "${target_pids[@]}"; do it_stop "$pid" 5; done
}

# ---- measuring ----------------------------------------------------------------------------------
cpu_ticks() {  # cpu_ticks PID...: utime + stime of the processes (and their threads), in ticks
  local pid sum=0 f
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    # Fields after the ")" of the command name: 12 = utime, 13 = stime (stat fields 14, 15).
    f=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    sum=$((sum + f))
  done
  echo "$sum"
}

children_ticks_read() {  # CPU of this shell's waited-for children (the SIPp clients), in ticks,
  # from the output of `times` saved in $IT_TMP/times by the caller: `times` has to run in this
  # shell, since a $(...) subshell would report its own children
  awk -v hz="$clk_tck" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%d\n", t * hz + 0.5 }' "$IT_TMP/times"
}

failure_reason() {  # failure_reason PREFIX...: the commonest failure SIPp logged, with its count
  cat "${@/%/.err.log}" 2>/dev/null |
    grep -aoE "received 'SIP/2\.0 [0-9]{3}|Unable to send TCP message: [A-Za-z ]+|Broken pipe|Connection reset by peer|receive timeout|UDP retransmission timeout|Unable to connect a TCP socket" |
    sed "s/received 'SIP\/2\.0 /response /" | sort | uniq -c | sort -rn | head -n 1 |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s, %d logged", $0, n }'
}

cpu_pct() {  # cpu_pct TICKS WALL_S: CPU time as a percentage of one core over WALL_S
  awk -v d="$1" -v hz="$clk_tck" -v w="$2" 'BEGIN { r = 0; if (w + 0 > 0) r = 100 * d / hz / w; printf "%d%%", r }'
}

stat_field() {  # stat_field PREFIX FIELD: FIELD of the last row of PREFIX.stat.csv
  awk -F';' -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == f) c = i; next } { v = $c } END { print v }' \
    "$1.stat.csv" 2>/dev/null
}

elapsed_s() {  # elapsed_s PREFIX: seconds from StartTime to CurrentTime of the final row
  # (ElapsedTime(C) has whole seconds only; the time columns end with the epoch in microseconds)
  awk -F';' 'NR > 1 { s = $1; c = $3 } END {
    n = split(s, a, "\t"); m = split(c, b, "\t"); if (n == 3 && m == 3) printf "%.3f\n", b[3] - a[3] }' \
    "$1.stat.csv" 2>/dev/null
}

sipp_bg() {  # sipp_bg PREFIX HOST:PORT TRANSPORT RATE CALLS: one SIPp client in the background;
  # sets SIPP_BG_PID; SIPp's exit code lands in PREFIX.rc
  local prefix=$1 target=$2 transport=$3 rate=$4 calls=$5 to=$((STEP_SECONDS * 2 + 5)) common
  common=$(_sipp_common)
  # shellcheck disable=SC2086
  (
    timeout -k 5 $((to + 10)) sipp "$target" -sf "$IT_SIPP_DIR/options_uac.xml" $common \
      -p "$(free_port)" -t "$transport" -m "$calls" -r "$rate" -timeout "${to}s" \
      -trace_err -error_file "$prefix.err.log" -trace_stat -stf "$prefix.stat.csv" -fd 1 \
      -trace_screen -screen_file "$prefix.screen.log" \
      -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 >"$prefix.out" 2>&1
    echo $? >"$prefix.rc"
  ) &
  SIPP_BG_PID=$!
  echo "sipp $target -sf tests/integration/sipp/options_uac.xml -t $transport -m $calls -r $rate -timeout ${to}s -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000 $common -p PORT -trace_stat -stf FILE -fd 1" \
    >"$prefix.cmd"
}

rows=""        # the Markdown rows of the current mode
summary=""     # one line per mode
example_cmd=""

step() {  # step MODE RATE: runs one step, appends a row; returns 1 if it failed
  local mode=$1 rate=$2
  local calls=$((rate * STEP_SECONDS)) target transport="t1" procs=1 i
  local prefixes=() pids=() t0 r0 s0 c0 t1 r1 s1 c1 wall
  case "$mode" in
    udp) target=127.0.0.1:$udp_port; transport=u1 ;;
    tls) target=127.0.0.1:$tls_in ;;
    tls-multi) target=127.0.0.1:$tls_in; procs=$TLS_CONNECTIONS ;;
    tls-tn) target=127.0.0.1:$tls_in; transport=tn ;;
  esac
  times >"$IT_TMP/times"; c0=$(children_ticks_read)
  t0=$(date +%s.%N); r0=$(cpu_ticks "${target_pids[@]}"); s0=$(cpu_ticks "$stunnel_pid")
  for ((i = 0; i < procs; i++)); do
    it_next "$mode-$rate-$i"
    prefixes+=("$IT_NEXT")
    sipp_bg "$IT_NEXT" "$target" "$transport" $(((rate + procs - 1) / procs)) $((calls / procs))
    pids+=("$SIPP_BG_PID")
  done
  for i in "${pids[@]}"; do wait "$i"; done
  t1=$(date +%s.%N); r1=$(cpu_ticks "${target_pids[@]}"); s1=$(cpu_ticks "$stunnel_pid")
  times >"$IT_TMP/times"; c1=$(children_ticks_read)
  [ -n "$example_cmd" ] || example_cmd=$(cat "${prefixes[0]}.cmd")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')

  local asked=0 ok=0 failed=0 created=0 elapsed=0 retrans=0 rcs="" p v e
  for p in "${prefixes[@]}"; do
    asked=$((asked + calls / procs))
    v=$(stat_field "$p" 'SuccessfulCall(C)'); ok=$((ok + ${v:-0}))
    v=$(stat_field "$p" 'FailedCall(C)'); failed=$((failed + ${v:-0}))
    v=$(stat_field "$p" 'OutgoingCall(C)'); created=$((created + ${v:-0}))
    v=$(stat_field "$p" 'Retransmissions(C)'); retrans=$((retrans + ${v:-0}))
    e=$(elapsed_s "$p"); elapsed=$(awk -v a="$elapsed" -v b="${e:-0}" 'BEGIN { m = a; if (b + 0 > a + 0) m = b; print m }')
    rcs="$rcs$(cat "$p.rc" 2>/dev/null || echo '?') "
  done
  local unfinished=$((asked - ok - failed))
  [ "$unfinished" -lt 0 ] && unfinished=0
  local bad=$((failed + unfinished)) ppm verdict achieved cpu_r cpu_s cpu_c
  sustained=1
  ppm=$((asked > 0 ? bad * 1000000 / asked : 1000000))
  # (awk: a ">" outside parentheses in a print statement is a redirection into a file)
  achieved=$(awk -v n="$ok" -v t="$elapsed" 'BEGIN { r = 0; if (t + 0 > 0) r = n / t; printf "%d", r }')
  cpu_r=$(cpu_pct $((r1 - r0)) "$wall")
  cpu_s=$(cpu_pct $((s1 - s0)) "$wall")
  cpu_c=$(cpu_pct $((c1 - c0)) "$wall")
  [ "$mode" = udp ] && cpu_s="-"
  sustained=1
  [ $((achieved * 100)) -lt $((rate * min_sustained_pct)) ] && sustained=0
  if [ "$ppm" -ge "$max_fail_ppm" ]; then
    verdict="FAIL: $(failure_reason "${prefixes[@]}")"
  elif [ $sustained = 1 ]; then
    verdict=pass
  else
    verdict="pass, rate not sustained"
  fi
  rows="$rows| $rate | $achieved | $asked | $ok | $failed | $unfinished | $(awk -v p="$ppm" 'BEGIN { printf "%.3f%%", p / 10000 }') | $retrans | $cpu_r | $cpu_c | $cpu_s | $verdict |
"
  printf '  %-9s target %6s/s: achieved %6s/s, %d/%d ok, %d failed, %d unfinished, sipp exit %s(%ss)\n' \
    "$mode" "$rate" "$achieved" "$ok" "$asked" "$failed" "$unfinished" "$rcs" "$wall" >&2
  last_achieved=$achieved
  [ "${verdict%%:*}" != FAIL ]
}

# ---- the run ------------------------------------------------------------------------------------
echo "OPTIONS load: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "responder: $responder_cmd" >&2
for mode in $MODES; do
  start_target || exit 1
  rates=$RATES
  [ "$mode" = tls-tn ] && rates=$TN_RATES
  rows=""
  best="none"; best_achieved=0; stopped=""
  for rate in $rates; do
    if [ $((SECONDS - start_s + STEP_SECONDS * 2 + 5)) -gt "$TIME_BUDGET" ]; then
      stopped="time budget (TIME_BUDGET=$TIME_BUDGET s) reached before $rate/s"
      break
    fi
    if step "$mode" "$rate"; then
      best=$rate; best_achieved=$last_achieved
      if [ $sustained = 0 ]; then
        stopped="saturated at $rate/s (achieved $last_achieved/s < $min_sustained_pct% of the target)"
        break
      fi
    else
      stopped="first failing step: $rate/s"
      break
    fi
  done
  case "$mode" in
    udp) title="UDP (SIPp u1, one socket)" ;;
    tls) title="TLS, one connection (SIPp t1 -> stunnel client -> responder)" ;;
    tls-multi) title="TLS, $TLS_CONNECTIONS connections ($TLS_CONNECTIONS SIPp t1 processes -> stunnel client -> responder)" ;;
    tls-tn) title="TLS, one connection and handshake per call (SIPp tn -> stunnel client -> responder)" ;;
  esac
  {
    echo
    echo "### $title"
    echo
    echo "| target calls/s | achieved calls/s | calls | successful | failed | unfinished | failure | retrans | responder CPU | SIPp CPU | stunnel CPU | < 0.1% failures |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s' "$rows"
    echo
    echo "Highest passing target: **$best/s** (achieved $best_achieved/s)${stopped:+; stopped: $stopped}."
  } >>"$IT_TMP/report.md"
  summary="$summary| $title | $best | $best_achieved | ${stopped:-all steps passed} |
"
  stop_target
done

# ---- report -------------------------------------------------------------------------------------
{
  echo
  echo "## OPTIONS load (sipedge responder)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; responder --workers $WORKERS; $STEP_SECONDS s per step;"
  echo "a step passes with < 0.1% of its calls failed or unfinished; \"not sustained\": achieved < $min_sustained_pct% of the target."
  echo "CPU columns: % of one core over the step (SIPp: all SIPp clients of the step together)."
  [ $standin = 1 ] && echo "**Stand-in run (SIPp UAS + stunnel instead of the responder): checks the script, says nothing about sipedge.**"
  echo
  echo "| mode | highest passing target calls/s | achieved calls/s there | stopped by |"
  echo "|---|---:|---:|---|"
  printf '%s' "$summary"
  cat "$IT_TMP/report.md"
  echo
  echo "Notes:"
  echo "- SIPp is single-threaded and, with stunnel, shares this machine's cores with the responder:"
  echo "  where SIPp or stunnel is near 100% of a core, they, not the responder, set the limit."
  echo "- TLS goes through stunnel (Debian's SIPp has no TLS): stunnel may be the bottleneck; the"
  echo "  tls-multi mode spreads the load over several stunnel threads, tls-tn measures handshakes."
  echo "- The responder and the stunnel client start afresh for each mode. Within a mode the steps add"
  echo "  up: on UDP each completed OPTIONS transaction stays in the table for Timer J (32 s)."
  echo "- failed = calls SIPp counted as failed (unexpected response, timeout, retransmission limit);"
  echo "  unfinished = calls asked for but not completed when SIPp stopped (rate not sustained)."
  echo
  echo "Command: \`$invocation\`"
  echo
  echo "One SIPp client per step, e.g.: \`$example_cmd\`"
  echo
  echo "Responder (started afresh for each mode): \`$responder_cmd\`"
} | tee "$IT_TMP/RESULTS-fragment.md"
[ "${KEEP_TMP:-0}" = 1 ] && echo "(fragment and per-step SIPp statistics in $IT_TMP)" >&2
exit 0
