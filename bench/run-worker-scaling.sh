#!/usr/bin/env bash
# Worker scaling of sipedge (issue 4: "scales from 1 to 2 workers"): the highest call rate that
# passes with 1 worker and with 2, and their ratio. A benchmark, not a test: it never fails on a
# slow result, it reports it.
#
#   sipedge_callgen UAC (127.0.0.2, UAC_SOCKETS source ports, the partner) -> sipedge (external
#   UDP 127.0.0.1) -> sipedge (internal UDP 127.0.0.10) -> sipedge_callgen UAS (127.0.0.3)
#
# The load generator is bench/callgen (built with -DSIPEDGE_BENCH=ON), not SIPp: SIPp costs
# about as much CPU per call as sipedge, so on a 2-core machine the generators would take half of
# it and no scaling could show. callgen sends the messages of bench/sipp/call_uac.xml and
# call_uas.xml (INVITE with SDP, 180, 200 with SDP, ACK, a hold of HOLD_MS, BYE, 200) from one
# single-threaded process that plays both ends; its several source ports matter, as sipedge's
# workers share the listening port through SO_REUSEPORT, which picks a worker by the 4-tuple.
#
# For each worker count in WORKER_COUNTS a fresh `sipedge run --config FILE` (the configuration
# of bench/run-call-load.sh without TLS: static directory {user}@acme.test ->
# {user}@nyc.acme.test, next hop the callgen UAS, no health checks, closed federation with the
# partner by its network 127.0.0.0/8, the decision log unless DECISION_LOG=0, [server] workers =
# the worker count) takes steps of RATES calls/s, each DURATION s of offered load (RATE x
# DURATION calls). A step passes with < 0.1% of its calls failed or unfinished AND an achieved
# rate of at least MIN_ACHIEVED_PCT (95) % of the offered rate; the first step that does not
# pass ends that worker count. After a passing step it waits (at most DRAIN_WAIT s) until
# /metrics says sipedge_dialogs 0 (transactions in their RFC 3261 wait timers are left to run out).
#
# Reported per step:
#   achieved       successful calls / (first INVITE to last successful BYE - the hold), callgen's
#   failed, unfinished (not ended when callgen stopped), retransmissions sent by callgen (UAC:
#                  INVITEs and BYEs; UAS: 200s not ACKed in time, or for INVITEs/BYEs that
#                  sipedge retransmitted)
#   INVITE->200 p50/p99 in microseconds, as callgen measures it: with its 1 ms tick (TICK_US) it
#                  includes up to 2 ms of the generator's own delay (TICK_US=0: exact, costlier)
#   sipedge CPU per successful call (us): utime+stime of the sipedge process (all its threads)
#                  from /proc/PID/stat, before and after the step, over the successful calls
#   The CPU shares below are over the offered load's DURATION s (the step's start to DURATION s
#   later), not over the whole step: a failing step runs on after it at a fraction of the load.
#   sipedge CPU    % of one core
#   threads        each sipedge thread's share of a core (/proc/PID/task/*/stat), "TID:comm %":
#                  the busy ones are the workers
#   callgen CPU    % of one core (/proc), and its CPU per successful call (its own getrusage)
#   machine busy   the share of all cores' time not idle (/proc/stat; 100% = every core busy:
#                  then sipedge's workers wait for a core, whatever their own share)
#   UDP drops      datagrams dropped for a full receive buffer over the step: on sipedge's
#                  listening sockets (/proc/net/udp), and on the whole machine (/proc/net/snmp
#                  RcvbufErrors: callgen's sockets too, and anything else running)
# Per worker count: the highest passing rate; at the end the ratio of the highest passing rates
# (last worker count / first), and a Markdown report in RESULTS_FILE.
# Per-worker CPU budget (WORKER_CPU_PCT > 0): on a machine whose cores the load generator and the
# kernel's loopback work share with sipedge, the machine runs out before a second worker can show
# what it adds. Then each worker thread ("worker-N", /proc/PID/task/*/comm) is put in a cgroup of
# its own (cgroup v1 cpu controller, /sys/fs/cgroup/cpu/sipedge-bench-PID-worker-N) allowed
# WORKER_CPU_PCT % of a core (cpu.cfs_quota_us per 100 ms period): each worker then has the same
# slice of CPU, as if it had a core of that size to itself, and N workers have N such slices while
# the machine keeps CPU to spare for callgen. Scaling then means: does the highest passing rate
# grow with the number of slices (no lock, queue or hand-over between the workers eating it)?
# The kernel's work done on a worker's thread (its sends, the loopback delivery they trigger)
# counts against its slice. sipedge's other threads (main, admin, decision log) are not limited.
# The cgroups are removed at the end (needs root; without a writable cgroup the run stops).
# Reading it: callgen (about 40-55 us of CPU per call) and the kernel's loopback work share the
# cores with sipedge. Where "machine busy" nears 100% before a worker does, the machine, not the
# worker count, set the limit; UDP drops on sipedge's sockets mark the start of a retransmission
# storm (UDP without overload control: once sipedge lags by 500 ms, every side retransmits).
#
# Usage: bench/run-worker-scaling.sh
#   (build first: cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release
#    -DSIPEDGE_BENCH=ON && ninja -C build-bench sipedge sipedge_callgen)
# Environment (defaults in brackets):
#   SIPEDGE            the gateway binary [<repo>/build-bench/sipedge]
#   CALLGEN            the load generator [<repo>/build-bench/bench/sipedge_callgen]
#   WORKER_COUNTS      ["1 2"]
#   RATES              offered calls/s per step ["4000 6000 8000 10000 12000 14000 16000"]
#   DURATION           seconds of offered load per step [10]
#   HOLD_MS            time between ACK and BYE [0]
#   UAC_SOCKETS        callgen's UAC source ports [128]: SO_REUSEPORT hashes each one to a worker,
#                      so few ports split unevenly, and differently each run (16 ports measured
#                      splits from 50/50 to 62/38 between 2 workers; 128, about 53/47)
#   TICK_US            callgen's loop tick, 0: wake on every datagram [1000]
#   WORKER_CPU_PCT     each worker thread's CPU budget in % of a core, 0: none (see above) [0]
#   DECISION_LOG       1: sipedge writes every policy decision to a decision log; 0: none [1]
#   DRAIN_WAIT         seconds to wait for sipedge_dialogs to reach 0 after a step [40]
#   MIN_ACHIEVED_PCT   [95]
#   TIME_BUDGET        seconds for the whole run: a step that might not end within it is skipped
#                      and reported so [1200]
#   RESULTS_FILE       the Markdown report [${TMPDIR:-/tmp}/sipedge-worker-scaling-DATE.md]
#   KEEP_TMP=1         keep the temporary folder (callgen outputs, sipedge logs, configurations)
#
# Bounds: every callgen run has --timeout (DURATION + HOLD + 40 s: the last calls' timer B runs
# out within it) and a hard `timeout` 10 s later; every wait has a deadline. A step takes at
# most DURATION + HOLD + 55 + DRAIN_WAIT + 3 s; a step starts only if that fits in what is left of
# TIME_BUDGET, so the run ends within TIME_BUDGET + 20 s. Typical: a passing step DURATION + 1 s
# (the dialogs are gone at once), the failing one up to DURATION + 40 s (calls that fail do so on
# timer B, 32 s; no drain wait after it, sipedge is stopped next): 2 to 5 minutes in all.
# Processes: sipedge and callgen are started here and stopped by their PIDs (lib.sh's it_track,
# on exit too); everything binds to loopback addresses only.
# Needs: bash 5.1 (wait -n -p), curl, ss, ps, timeout (and the two binaries).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

SIPEDGE=${SIPEDGE:-$repo/build-bench/sipedge}
CALLGEN=${CALLGEN:-$repo/build-bench/bench/sipedge_callgen}
WORKER_COUNTS=${WORKER_COUNTS:-"1 2"}
RATES=${RATES:-"4000 6000 8000 10000 12000 14000 16000"}
DURATION=${DURATION:-10}
HOLD_MS=${HOLD_MS:-0}
UAC_SOCKETS=${UAC_SOCKETS:-128}
TICK_US=${TICK_US:-1000}
WORKER_CPU_PCT=${WORKER_CPU_PCT:-0}
DECISION_LOG=${DECISION_LOG:-1}
DRAIN_WAIT=${DRAIN_WAIT:-40}
MIN_ACHIEVED_PCT=${MIN_ACHIEVED_PCT:-95}
TIME_BUDGET=${TIME_BUDGET:-1200}
RESULTS_FILE=${RESULTS_FILE:-${TMPDIR:-/tmp}/sipedge-worker-scaling-$(date -u +%Y%m%d-%H%M%S).md}
max_fail_ppm=1000 # 0.1%
start_s=$SECONDS
clk_tck=$(getconf CLK_TCK)
hold_s=$(((HOLD_MS + 999) / 1000))
invocation="$(for v in WORKER_COUNTS RATES DURATION HOLD_MS UAC_SOCKETS TICK_US WORKER_CPU_PCT DECISION_LOG TIME_BUDGET; do
  printf "%s='%s' " "$v" "${!v}"
done)bash bench/run-worker-scaling.sh"

# ---- checks -------------------------------------------------------------------------------------
for v in DURATION HOLD_MS UAC_SOCKETS TICK_US WORKER_CPU_PCT DRAIN_WAIT MIN_ACHIEVED_PCT TIME_BUDGET; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v must be a whole number, not '${!v}'" >&2; exit 2; }
done
for r in $RATES; do
  [[ "$r" =~ ^[1-9][0-9]*$ ]] || { echo "RATES: '$r' is not a rate" >&2; exit 2; }
done
for w in $WORKER_COUNTS; do
  [[ "$w" =~ ^[1-9][0-9]*$ ]] || { echo "WORKER_COUNTS: '$w' is not a worker count" >&2; exit 2; }
done
if [ "$DURATION" -lt 1 ] || [ "$UAC_SOCKETS" -lt 1 ]; then
  echo "DURATION and UAC_SOCKETS must be at least 1" >&2
  exit 2
fi
if [ ! -x "$SIPEDGE" ]; then
  echo "no sipedge binary at $SIPEDGE (set SIPEDGE, or build it: cmake -S $repo -B $repo/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIPEDGE_BENCH=ON && ninja -C $repo/build-bench sipedge)" >&2
  exit 2
fi
if [ ! -x "$CALLGEN" ]; then
  echo "no sipedge_callgen binary at $CALLGEN (set CALLGEN, or build it with -DSIPEDGE_BENCH=ON: ninja -C $repo/build-bench sipedge_callgen)" >&2
  exit 2
fi
for tool in curl ss timeout awk; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
if grep -qaE 'AddressSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer' "$SIPEDGE"; then
  echo "WARNING: $SIPEDGE is a sanitizer build: its figures mean little. Use a Release build." >&2
fi

cg_root=/sys/fs/cgroup/cpu
if [ "$WORKER_CPU_PCT" -gt 0 ] && ! [ -w "$cg_root" ] && ! [ -f "$cg_root/cpu.cfs_quota_us" ]; then
  echo "WORKER_CPU_PCT needs the cgroup v1 cpu controller, writable, at $cg_root" >&2
  exit 2
fi

it_init
edge_pid=""
cg_dirs=()
release_cgroups() { # release_cgroups: removes the per-worker cgroups (empty once sipedge ended)
  local d
  for d in "${cg_dirs[@]}"; do
    rmdir "$d" 2>/dev/null || echo "could not remove the cgroup $d" >&2
  done
  cg_dirs=()
}
trap 'it_cleanup; release_cgroups' EXIT

limit_workers() { # limit_workers PID: each worker-N thread of PID gets WORKER_CPU_PCT % of a core
  [ "$WORKER_CPU_PCT" -gt 0 ] || return 0
  local task comm dir n=0
  for task in /proc/"$1"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    [[ "$comm" =~ ^worker-[0-9]+$ ]] || continue
    dir=$cg_root/sipedge-bench-$$-$comm
    if ! { mkdir -p "$dir" && cg_dirs+=("$dir") && echo 100000 >"$dir/cpu.cfs_period_us" &&
      echo $((WORKER_CPU_PCT * 1000)) >"$dir/cpu.cfs_quota_us" && echo "${task##*/}" >"$dir/tasks"; }; then
      echo "could not put $comm (thread ${task##*/}) in the cgroup $dir" >&2
      return 1
    fi
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || { echo "no worker-N thread in sipedge $1 (an old binary?)" >&2; return 1; }
  echo "  $n worker thread(s), each limited to $WORKER_CPU_PCT% of a core" >&2
}

untrack() { # untrack PID: a process that has ended and been reaped is no longer stopped on exit
  # (its PID could be reused by another process by then)
  local i kept=()
  for i in "${IT_PIDS[@]}"; do [ "$i" = "$1" ] || kept+=("$i"); done
  IT_PIDS=("${kept[@]}")
}

# ---- CPU ----------------------------------------------------------------------------------------
proc_ticks() { # proc_ticks STATFILE: utime + stime (fields 14 and 15) in ticks, 0 if gone
  # (the fields are counted after the command name, which may hold blanks)
  sed 's/^.*) //' "$1" 2>/dev/null | awk '{ print $12 + $13; found = 1 } END { if (!found) print 0 }'
}

thread_ticks() { # thread_ticks PID: "TID COMM TICKS" for each thread of PID
  local task
  for task in /proc/"$1"/task/*; do
    [ -r "$task/stat" ] || continue
    echo "${task##*/} $(tr -d ' ' <"$task/comm" 2>/dev/null) $(proc_ticks "$task/stat")"
  done
}

cpu_pct() { # cpu_pct TICKS WALL_S: CPU time as a percentage of one core over WALL_S
  awk -v d="${1:-0}" -v hz="$clk_tck" -v w="$2" 'BEGIN { r = 0; if (w + 0 > 0) r = 100 * d / hz / w; printf "%d%%", r }'
}

thread_breakdown() { # thread_breakdown BEFORE AFTER WALL_S: "TID:comm N%" per thread with >= 1%
  awk -v hz="$clk_tck" -v w="$3" '
    NR == FNR { before[$1] = $3; next }
    {
      pct = (w > 0) ? 100 * ($3 - before[$1]) / hz / w : 0
      if (pct >= 1) { out = out sep $1 ":" $2 " " int(pct + 0.5) "%"; sep = ", " }
    }
    END { print (out == "" ? "-" : out) }' <(echo "$1") <(echo "$2")
}

machine_idle() { # machine_idle: idle + iowait ticks of all CPUs (/proc/stat)
  # (Busy time is derived from these and the wall clock: the idle counters are exact on a tickless
  # kernel, where user/system are sampled at the tick and miss short bursts.)
  awk '$1 == "cpu" { print $5 + $6; exit }' /proc/stat
}

# ---- UDP receive-buffer drops -------------------------------------------------------------------
udp_drops() { # udp_drops PORT...: datagrams dropped by the UDP sockets bound to these local ports
  # (the drops column of /proc/net/udp; sipedge's workers each have a socket on the same port)
  local ports
  ports=$(printf '%04X ' "$@")
  awk -v ports="$ports" 'NR > 1 { split($2, a, ":"); if (index(ports, a[2] " ")) d += $13 } END { print d + 0 }' \
    /proc/net/udp 2>/dev/null
}

rcvbuf_errors() { # rcvbuf_errors: the machine's UDP RcvbufErrors counter (/proc/net/snmp)
  awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else { print $c + 0; exit } }' \
    /proc/net/snmp 2>/dev/null
}

# ---- sipedge ------------------------------------------------------------------------------------
sipedge_config() { # sipedge_config FILE WORKERS
  cat >"$1" <<EOF
# written by bench/run-worker-scaling.sh
[server]
domains = ["acme.test"]
workers = $2

[[listeners]]
transport = "udp"
address = "127.0.0.1:$port_ext"
side = "external"

[[listeners]]
transport = "udp"
address = "127.0.0.10:$port_int"
side = "internal"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[next_hops]]
transport = "udp"
address = "127.0.0.3:$port_uas"

[next_hop_health]
interval = "0s"

# Federation policy as in production: the partner by its source network; every INVITE decided
# and written to the decision log (DECISION_LOG=0: no log).
[federation]
mode = "closed"

[[partners]]
name = "partner"
domains = ["partner.test"]
require_mutual_tls = false
networks = ["127.0.0.0/8"]
$([ "$DECISION_LOG" = 1 ] && printf '\n[decision_log]\npath = "%s"\nmax_file_bytes = "100MiB"\nkeep_files = 1\n' "$IT_TMP/decisions-$2.log")

# Every call leaves its UDP transactions behind for their RFC 3261 wait timers (about 100
# transaction-seconds per call, bench/run-call-load.sh): 16,000 calls/s hold some 1,600,000.
[limits]
max_transactions = 4000000

[admin]
listen = "127.0.0.1:$port_admin"
EOF
}

edge_start() { # edge_start WORKERS: new ports, config, sipedge; sets edge_pid and edge_log
  local workers=$1
  port_ext=$(free_port) && port_int=$(free_port) && port_uas=$(free_port) &&
    port_admin=$(free_port) || return 1
  it_next "sipedge-$workers"
  edge_log=$IT_NEXT.log
  sipedge_config "$IT_NEXT.toml" "$workers"
  start_sipedge "$IT_NEXT.toml" "$edge_log" # (exits the script if it does not start)
  if ! { wait_for_port "$port_ext" udp 5 && wait_for_port "$port_int" udp 5 &&
    wait_for_port "$port_admin" tcp 5; }; then
    echo "sipedge did not open its listeners:" >&2
    tail -n 20 "$edge_log" >&2
    return 1
  fi
}

dialogs() { # dialogs: sipedge_dialogs from the admin /metrics (- if unreadable)
  curl -s --max-time 2 "http://127.0.0.1:$port_admin/metrics" 2>/dev/null |
    awk '$1 ~ /^sipedge_dialogs($|\{)/ { d += $2; h = 1 } END { print h ? d : "-" }'
}

drain() { # drain: waits (at most DRAIN_WAIT s) until sipedge_dialogs is 0; sets drain_note
  local d t0=$SECONDS
  d=$(dialogs)
  while [ "$d" != 0 ] && [ $((SECONDS - t0)) -lt "$DRAIN_WAIT" ]; do
    sleep 1
    d=$(dialogs)
  done
  drain_note="$d"
  [ "$d" = 0 ] || drain_note="$d after ${DRAIN_WAIT} s"
  echo "    sipedge_dialogs $d, $((SECONDS - t0)) s after the step" >&2
}

# ---- one step -----------------------------------------------------------------------------------
kv() { # kv FILE KEY: the value of KEY=... in callgen's output (- if absent)
  awk -F= -v k="$2" '$1 == k { v = substr($0, length(k) + 2) } END { print (v == "" ? "-" : v) }' "$1" 2>/dev/null
}

step_bound() { echo $((DURATION + hold_s + 40 + 15 + DRAIN_WAIT + 3)); }

step() { # step WORKERS RATE: one step; appends a row to rows; returns 1 unless it passed
  local workers=$1 rate=$2 calls=$(($2 * DURATION)) to=$((DURATION + hold_s + 40)) out
  it_next "callgen-w$workers-$rate"
  out=$IT_NEXT
  local c0 c1 cw th0 thw t0 t1 tw wall win rc d0 d1 e0 e1 m0 mw gw="" first=""
  m0=$(machine_idle)
  d0=$(udp_drops "$port_ext" "$port_int")
  e0=$(rcvbuf_errors)
  c0=$(proc_ticks "/proc/$edge_pid/stat")
  th0=$(thread_ticks "$edge_pid")
  t0=$(date +%s.%N)
  timeout -k 5 $((to + 10)) "$CALLGEN" --target "127.0.0.1:$port_ext" --uac-ip 127.0.0.2 \
    --uac-sockets "$UAC_SOCKETS" --uas "127.0.0.3:$port_uas" --rate "$rate" --calls "$calls" \
    --hold-ms "$HOLD_MS" --timeout "$to" --tick-us "$TICK_US" >"$out.out" 2>"$out.err" &
  local cg=$!
  it_track "$cg"
  # The CPU shares are read at the end of the offered load (DURATION s), not of the run: a step
  # that falls behind runs on for a while at a fraction of the load, which would dilute them.
  sleep "$DURATION" &
  local sl=$!
  wait -n -p first "$cg" "$sl"
  rc=$?
  tw=$(date +%s.%N)
  cw=$(proc_ticks "/proc/$edge_pid/stat")
  thw=$(thread_ticks "$edge_pid")
  mw=$(machine_idle)
  if [ "$first" = "$sl" ]; then
    local kid
    kid=$(ps -o pid= --ppid "$cg" 2>/dev/null | head -n 1 | tr -d ' ')
    [ -n "$kid" ] && gw=$(proc_ticks "/proc/$kid/stat")
    wait "$cg"
    rc=$?
  else
    kill "$sl" 2>/dev/null
    wait "$sl" 2>/dev/null
  fi
  untrack "$cg"
  t1=$(date +%s.%N)
  c1=$(proc_ticks "/proc/$edge_pid/stat")
  d1=$(udp_drops "$port_ext" "$port_int")
  e1=$(rcvbuf_errors)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  win=$(awk -v a="$t0" -v b="$tw" 'BEGIN { printf "%.3f", b - a }')
  [ -n "$example_cmd" ] ||
    example_cmd="sipedge_callgen --target 127.0.0.1:PORT --uac-ip 127.0.0.2 --uac-sockets $UAC_SOCKETS --uas 127.0.0.3:PORT --rate RATE --calls RATExDURATION --hold-ms $HOLD_MS --timeout $to --tick-us $TICK_US"

  local ok failed statuses unfinished retrans p50 p99 achieved cg_cpu us cpu_edge cpu_cg threads drops busy
  ok=$(kv "$out.out" succeeded)
  failed=$(kv "$out.out" failed)
  statuses=$(kv "$out.out" failed_statuses)
  unfinished=$(kv "$out.out" unfinished)
  retrans="$(kv "$out.out" retrans_uac)+$(kv "$out.out" retrans_uas)"
  p50=$(kv "$out.out" latency_p50_us)
  p99=$(kv "$out.out" latency_p99_us)
  achieved=$(kv "$out.out" achieved_cps)
  cg_cpu=$(kv "$out.out" cpu_s)
  if [ "$ok" = - ]; then # no report: callgen failed to set up, or was killed
    echo "  callgen (exit $rc) printed no report:" >&2
    tail -n 5 "$out.err" >&2
    ok=0 failed=0 unfinished=$calls achieved=0 cg_cpu=0
  fi
  achieved=$(awk -v a="$achieved" 'BEGIN { printf "%d", a }')
  us=$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v n="$ok" 'BEGIN { if (n > 0) printf "%d", d / hz * 1e6 / n; else print "-" }')
  cpu_edge=$(cpu_pct $((cw - c0)) "$win")
  if [ -n "$gw" ]; then # callgen's share over the load window; else over its whole run
    cpu_cg=$(cpu_pct "$gw" "$win")
  else
    cpu_cg=$(awk -v c="$cg_cpu" -v w="$wall" 'BEGIN { r = 0; if (w > 0) r = 100 * c / w; printf "%d%%", r }')
  fi
  cpu_cg="$cpu_cg$(awk -v c="$cg_cpu" -v n="$ok" 'BEGIN { if (n > 0) printf " (%d us/call)", c * 1e6 / n }')"
  threads=$(thread_breakdown "$th0" "$thw" "$win")
  drops="$((d1 - d0)) / $((e1 - e0))"
  busy=$(awk -v i=$((mw - m0)) -v w="$win" -v n="$(nproc)" -v hz="$clk_tck" 'BEGIN {
    b = (w > 0) ? 100 * (1 - i / (w * n * hz)) : 0; if (b < 0) b = 0; printf "%d%%", b }')
  local ppm=$(((failed + unfinished) * 1000000 / calls)) verdict pass=0
  if [ "$ppm" -ge "$max_fail_ppm" ]; then
    verdict="FAIL: $(awk -v p="$ppm" 'BEGIN { printf "%.2f%%", p / 10000 }') failed or unfinished (failures: $statuses)"
  elif [ $((achieved * 100)) -lt $((rate * MIN_ACHIEVED_PCT)) ]; then
    verdict="FAIL: achieved < $MIN_ACHIEVED_PCT% of the offered rate"
  else
    verdict=pass
    pass=1
  fi
  printf '  %s worker(s), offered %5s/s: achieved %5s/s, %s/%s ok, %s failed, %s unfinished, retrans %s, INVITE->200 p50 %s us p99 %s us, sipedge %s us/call (%s; threads %s), callgen %s, machine busy %s, UDP drops sipedge/machine %s (%ss): %s\n' \
    "$workers" "$rate" "$achieved" "$ok" "$calls" "$failed" "$unfinished" "$retrans" "$p50" "$p99" \
    "$us" "$cpu_edge" "$threads" "$cpu_cg" "$busy" "$drops" "$wall" "$verdict" >&2
  drain_note=""
  if [ $pass = 1 ]; then
    drain
  else
    drain_note="$(dialogs) (last step: not waited)"
  fi
  rows="$rows| $rate | $achieved | $calls | $ok | $failed | $unfinished | $retrans | $p50 / $p99 | $us | $cpu_edge | $threads | $cpu_cg | $busy | $drops | $drain_note | $verdict |
"
  last_us=$us
  last_achieved=$achieved
  [ $pass = 1 ]
}

# ---- the run ------------------------------------------------------------------------------------
echo "worker scaling: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "command: $invocation" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
budget_left() { echo $((TIME_BUDGET - (SECONDS - start_s))); }
stop_bound=10
start_bound=25
n_rates=$(wc -w <<<"$RATES")
n_workers=$(wc -w <<<"$WORKER_COUNTS")
echo "worst case: $((n_workers * (start_bound + n_rates * $(step_bound) + stop_bound))) s without TIME_BUDGET; with it, at most $((TIME_BUDGET + stop_bound + 10)) s (TIME_BUDGET=$TIME_BUDGET)" >&2
summary=""
sections=""
example_cmd=""
first_best=""
last_best=""
for workers in $WORKER_COUNTS; do
  rows=""
  best=0
  best_achieved="-"
  best_us="-"
  stopped=""
  if [ "$(budget_left)" -lt $((start_bound + $(step_bound) + stop_bound)) ]; then
    summary="$summary| $workers | - | - | - | skipped: time budget |
"
    last_best=""
    continue
  fi
  echo "$workers worker(s)" >&2
  if ! edge_start "$workers" || ! limit_workers "$edge_pid"; then
    [ -n "$edge_pid" ] && it_stop "$edge_pid" 5 && untrack "$edge_pid"
    release_cgroups
    summary="$summary| $workers | - | - | - | sipedge did not start (or its workers could not be limited) |
"
    last_best=""
    continue
  fi
  for rate in $RATES; do
    if [ "$(budget_left)" -lt $(($(step_bound) + stop_bound)) ]; then
      stopped="time budget (TIME_BUDGET=$TIME_BUDGET s) reached before $rate/s"
      break
    fi
    if step "$workers" "$rate"; then
      best=$rate
      best_achieved=$last_achieved
      best_us=$last_us
    else
      stopped="first failing step: $rate/s"
      break
    fi
  done
  it_stop "$edge_pid" 5
  untrack "$edge_pid"
  release_cgroups
  log_problems=$(grep -ciE '\b(error|warn|warning|crit|fatal)\b' "$edge_log" 2>/dev/null)
  sections="$sections
### $workers worker(s)

| offered calls/s | achieved calls/s | calls | successful | failed | unfinished | retrans UAC+UAS | INVITE->200 p50 / p99 us | sipedge CPU us/call | sipedge CPU | sipedge threads (TID:comm % of a core) | callgen CPU | machine busy | UDP drops sipedge / machine | dialogs after drain | result |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|
$rows
Highest passing rate: **$best/s**${stopped:+ (stopped: $stopped)}. sipedge log: ${log_problems:-0} error/warning lines.
"
  summary="$summary| $workers | $best | $best_achieved | $best_us | ${stopped:-all steps passed} |
"
  echo "  => $workers worker(s): highest passing rate $best/s, $best_us us of sipedge CPU per call there${stopped:+ ($stopped)}; sipedge log: ${log_problems:-0} error/warning lines" >&2
  [ -n "$first_best" ] || first_best=$best
  last_best=$best
done

ratio="-"
if [ -n "$first_best" ] && [ -n "$last_best" ] && [ "$n_workers" -gt 1 ]; then
  ratio=$(awk -v a="$first_best" -v b="$last_best" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')
fi
first_w=$(awk '{ print $1 }' <<<"$WORKER_COUNTS")
last_w=$(awk '{ print $NF }' <<<"$WORKER_COUNTS")
echo "scaling: highest passing rate with $last_w worker(s) / with $first_w: $ratio" >&2

# ---- report -------------------------------------------------------------------------------------
{
  echo
  echo "## Worker scaling: sipedge with $(tr ' ' '/' <<<"$WORKER_COUNTS") workers (sipedge_callgen UAC -> sipedge -> sipedge_callgen UAS, UDP)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')); load average before the run $load_before; $DURATION s of offered load per step; hold $HOLD_MS ms per call; decision log $([ "$DECISION_LOG" = 1 ] && echo on || echo off)."
  echo "A step passes with < 0.1% of its calls failed or unfinished and at least $MIN_ACHIEVED_PCT% of the offered rate achieved."
  echo
  echo "| workers | highest passing rate (calls/s) | achieved there | sipedge CPU us/call there | stopped by |"
  echo "|---:|---:|---:|---:|---|"
  printf '%s' "$summary"
  echo
  echo "Scaling (highest passing rate, $last_w worker(s) / $first_w): **$ratio**"
  printf '%s' "$sections"
  echo
  echo "Notes:"
  echo "- Achieved = successful calls / (first INVITE to last successful BYE - the hold), from callgen."
  echo "- INVITE->200 as callgen measures it, in microseconds; with its ${TICK_US} us tick it includes up to two ticks of the generator's own delay."
  echo "- sipedge CPU us/call: utime+stime of the whole process (all threads) over the step, /proc/PID/stat, over the successful calls."
  echo "- CPU shares (sipedge, its threads, callgen, machine busy): over the first DURATION s of the step, the offered load (a failing step runs on after it); per thread from /proc/PID/task/*/stat (threads under 1% left out)."
  echo "- callgen (one thread) shares the machine's $(nproc) cores with sipedge: its CPU column shows what it took (and its CPU per successful call, over the whole run)."
  echo "- Retransmissions: UAC = INVITE/BYE retransmitted by callgen; UAS = 200s callgen's UAS sent again (until the ACK, or for INVITEs/BYEs that sipedge retransmitted)."
  echo "- Machine busy: the share of all $(nproc) cores' time not idle over the step (/proc/stat): everything running counts."
  echo "- UDP drops: datagrams dropped for a full receive buffer, on sipedge's listening sockets / on the whole machine."
  echo
  echo "Command: \`$invocation\`"
  echo
  echo "One step's generator: \`$example_cmd\`"
} | tee "$RESULTS_FILE"
echo "(this report is also in $RESULTS_FILE; whole run $((SECONDS - start_s)) s)" >&2
[ "${KEEP_TMP:-0}" = 1 ] && echo "(callgen outputs and sipedge logs in $IT_TMP)" >&2
exit 0
