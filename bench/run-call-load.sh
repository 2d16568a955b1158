#!/usr/bin/env bash
# Call load through the gateway and through Kamailio, in the same run. A benchmark, not a test:
# it never fails on a slow result, it reports it.
#
#   SIPp UAC (127.0.0.2, the partner) -> SUT (external side 127.0.0.1) -> SUT (internal side,
#   127.0.0.10) -> SIPp UAS (127.0.0.3, nyc.acme.test)
#
# Each call: INVITE with SDP, 100, 180, 200, ACK, a hold of HOLD_MS, BYE, 200 (bench/sipp/
# call_uac.xml and call_uas.xml). The UAC calls sip:user@acme.test (the served domain); the SUT
# sends the call to sip:user@nyc.acme.test at the UAS over UDP. The partner leg is UDP, or TLS:
# SIPp has no TLS (Debian build), so the UAC speaks TCP to an stunnel client, which presents the
# partner's certificate (mutual TLS) to the SUT's TLS listener. The inside leg is always UDP.
#
# SUTs (started here in the foreground from configs in the run's temporary folder, on loopback
# ports, and stopped by the PIDs started here; a system service is never touched):
#   kamailio        Kamailio 5.6 (Debian) as a transaction-stateful, record-routing proxy: tm,
#                   rr, sl, maxfwd (bench/kamailio/proxy.cfg); -x tlsf -X tlsf, children=2, -m 1024
#   kamailio-topos  the same plus the dialog module (every call a tracked dialog) and topos
#                   (topology hiding), which keeps its records in a Redis started here
#                   (topos_redis): the closest Kamailio gets to a B2BUA with topology hiding.
#                   Redis's CPU and memory count as the SUT's.
#   sipedge         `$SIPEDGE run --config FILE` (the config is written here, see sipedge_config)
#
# Per SUT x transport the offered rate steps up through RATES; each step offers RATE x DURATION
# calls. A step passes with < 0.1% of its calls failed or unfinished AND an achieved rate of at
# least MIN_ACHIEVED_PCT (95) % of the offered rate; the first step that does not pass ends that
# SUT x transport. Reported per step:
#   achieved   successful calls / (SIPp's elapsed time - the hold), i.e. calls set up per second
#   failed, unfinished (asked for but not completed when SIPp stopped), retransmissions (UAC+UAS)
#   INVITE->200 p50/p99 from SIPp's -trace_rtt (SIPp counts whole milliseconds: 0 means < 1 ms)
#   SUT CPU per successful call, in microseconds: utime+stime (+ reaped children) of every process
#     of the SUT (the PID started here and all its descendants; for kamailio-topos also Redis),
#     from /proc/PID/stat before and after the step, over the successful calls
#   CPU of the SUT, the SIPp UAC, the SIPp UAS and stunnel as % of one core over the step: where
#     SIPp or stunnel is near 100%, the load generator, not the SUT, set the limit
# With sipedge, after each step it prints sipedge_dialogs and sipedge_transactions from the
# admin listener's /metrics, and waits (at most DRAIN_WAIT s) until both are back to 0.
# Before the steps of each SUT x transport, one probe call with message traces shows what each
# side sees (Record-Route, Via count, whether the other side's addresses leak).
#
# Held dialogs (HELD_CALLS > 0, UDP, after the steps of each SUT): the SUT is started afresh;
# half of HELD_CALLS calls are set up at HELD_RATE and held, and HELD_SETTLE s later (so the
# setup's transactions have ended: Kamailio's wait timer is 5 s, an RFC 6026 Accepted INVITE
# server transaction 32 s) the SUT's memory is read; then the other half, and a second reading.
# Bytes per held dialog = growth between the two readings / calls added: the transactions' high-
# water mark in the SUT's allocators was already reached at the first reading, so the slope is
# the dialogs' own. Memory: PSS summed over the SUT's processes (smaps_rollup: shared pages are
# split between the processes sharing them, so Kamailio's shared memory counts once), and RSS
# summed.
#
# Usage: bench/run-call-load.sh
# Environment (defaults in brackets):
#   SUTS               ["kamailio kamailio-topos sipedge"]
#   TRANSPORTS         ["udp tls"]
#   RATES              offered calls/s per step ["500 1000 2000 4000"]
#   DURATION           seconds of offered load per step [20]
#   HOLD_MS            the short hold of each call, SIPp -d [1000]
#   HELD_CALLS         dialogs to hold for the memory measurement, 0 skips it [20000]
#   HELD_RATE          calls/s while setting those up [500]
#   HELD_SETTLE        seconds between the end of a held setup and its memory reading [35]
#   SIPEDGE            the gateway binary [<repo>/build/sipedge]
#   SIPEDGE_WORKERS    [server] workers in its config [1]
#   DECISION_LOG       1: sipedge writes every policy decision to a decision log; 0: none [1]
#   SIPEDGE_WAIT_TIMER sipedge's [txn] wait_timer (timers J, L, M), e.g. "5s" as Kamailio's tm
#                      waits; empty: the default, 64*T1 = 32 s as RFC 3261/6026 say []
#   DRAIN_WAIT         seconds to wait for sipedge's dialogs/transactions to reach 0 [40]
#   MIN_ACHIEVED_PCT   [95]
#   TIME_BUDGET        seconds for the whole run: a step or held phase that might not end
#                      within it is skipped and reported so [3600]
#   RESULTS_FILE       where the Markdown snippet goes [${TMPDIR:-/tmp}/sipedge-call-load-DATE.md]
#   KEEP_TMP=1         keep the temporary folder (SIPp statistics, rtt files, SUT logs)
#   TRACE=1            every SIPp run traces its messages (-trace_msg; costly: for debugging)
#
# Bounds: every SIPp run has -m and -timeout (and a hard `timeout` 10 s later); every wait loop
# has a deadline. One step takes at most 2 x DURATION + HOLD_MS/1000 + 64 s (+ DRAIN_WAIT + 2
# with sipedge); a held phase at most about 5 x HELD_CALLS/HELD_RATE + 4 x HELD_SETTLE + 130 s.
# A SUT x transport, step or held phase starts only if its bound (with the SUT's start and stop)
# fits in what is left of TIME_BUDGET, so the whole run ends within TIME_BUDGET + 15 s: at most
# about 61 minutes with the defaults (the script prints the worst case of its settings first).
# Typical with the defaults: about 30 minutes (the steps about 20 min, each held phase 3 min).
# Needs: sipp stunnel openssl ss (tools/install-deps.sh test), kamailio kamailio-tls-modules
# kamailio-redis-modules redis-server (tools/install-deps.sh bench), curl for sipedge's metrics.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

SUTS=${SUTS:-"kamailio kamailio-topos sipedge"}
TRANSPORTS=${TRANSPORTS:-"udp tls"}
RATES=${RATES:-"500 1000 2000 4000"}
DURATION=${DURATION:-20}
HOLD_MS=${HOLD_MS:-1000}
HELD_CALLS=${HELD_CALLS:-20000}
HELD_RATE=${HELD_RATE:-500}
HELD_SETTLE=${HELD_SETTLE:-35}
SIPEDGE=${SIPEDGE:-$repo/build/sipedge}
SIPEDGE_WORKERS=${SIPEDGE_WORKERS:-1}
SIPEDGE_WAIT_TIMER=${SIPEDGE_WAIT_TIMER:-}
DECISION_LOG=${DECISION_LOG:-1}
DRAIN_WAIT=${DRAIN_WAIT:-40}
MIN_ACHIEVED_PCT=${MIN_ACHIEVED_PCT:-95}
TIME_BUDGET=${TIME_BUDGET:-3600}
TRACE=${TRACE:-}
[ "$TRACE" = 0 ] && TRACE=""
RESULTS_FILE=${RESULTS_FILE:-${TMPDIR:-/tmp}/sipedge-call-load-$(date -u +%Y%m%d-%H%M%S).md}
max_fail_ppm=1000          # 0.1%
recv_timeout_s=16          # SIPp -recv_timeout: a call waiting longer for a response fails
bench_dir=$repo/bench
start_s=$SECONDS
clk_tck=$(getconf CLK_TCK)
hold_s=$(((HOLD_MS + 999) / 1000))
invocation="$(for v in SUTS TRANSPORTS RATES DURATION HOLD_MS HELD_CALLS HELD_RATE HELD_SETTLE SIPEDGE_WORKERS SIPEDGE_WAIT_TIMER DECISION_LOG TIME_BUDGET; do
  printf "%s='%s' " "$v" "${!v}"; done)bash bench/run-call-load.sh"

# ---- checks -------------------------------------------------------------------------------------
for v in DURATION HOLD_MS HELD_CALLS HELD_RATE HELD_SETTLE SIPEDGE_WORKERS DRAIN_WAIT MIN_ACHIEVED_PCT TIME_BUDGET; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v must be a whole number, not '${!v}'" >&2; exit 2; }
done
for r in $RATES; do
  [[ "$r" =~ ^[1-9][0-9]*$ ]] || { echo "RATES: '$r' is not a rate" >&2; exit 2; }
done
if [ "$DURATION" -lt 1 ] || [ "$HELD_RATE" -lt 1 ]; then echo "DURATION and HELD_RATE must be at least 1" >&2; exit 2; fi
for t in $TRANSPORTS; do
  case "$t" in udp | tls) ;; *) echo "TRANSPORTS: unknown '$t' (udp, tls)" >&2; exit 2 ;; esac
done
need=(sipp stunnel openssl ss ps timeout)
for s in $SUTS; do
  case "$s" in
    kamailio) need+=(kamailio) ;;
    kamailio-topos) need+=(kamailio redis-server) ;;
    sipedge) need+=(curl)
      if [ ! -x "$SIPEDGE" ]; then
        echo "no sipedge binary at $SIPEDGE (set SIPEDGE, build it, or leave sipedge out of SUTS)" >&2
        exit 2
      fi ;;
    *) echo "SUTS: unknown '$s' (kamailio, kamailio-topos, sipedge)" >&2; exit 2 ;;
  esac
done
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || { echo "missing $tool: bash tools/install-deps.sh test bench" >&2; exit 2; }
done
if [[ " $SUTS " == *" kamailio"* ]]; then
  kmods=/usr/lib/x86_64-linux-gnu/kamailio/modules
  [ -d "$kmods" ] || kmods=$(dirname "$(find /usr/lib -path '*/kamailio/modules/tm.so' 2>/dev/null | head -n 1)")
  for m in tls topos_redis; do
    [ -e "$kmods/$m.so" ] || { echo "missing Kamailio module $m: bash tools/install-deps.sh bench" >&2; exit 2; }
  done
fi
if [[ " $SUTS " == *" sipedge "* ]] && grep -qaE 'AddressSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer' "$SIPEDGE"; then
  echo "WARNING: $SIPEDGE is a sanitizer build: its figures mean little. Use a Release build." >&2
fi

it_init
certs=$IT_TMP/certs
sipp_subs=()   # the subshells running SIPp (uas_start, uac_run): ended on exit too
# shellcheck disable=SC2317  # (called by the EXIT trap)
cl_cleanup() {
  local sub kid
  for sub in "${sipp_subs[@]}"; do
    kill -0 "$sub" 2>/dev/null || continue
    for kid in $(ps -o pid= --ppid "$sub"); do kill -TERM "$kid" 2>/dev/null; done
  done
  it_cleanup
}
trap cl_cleanup EXIT

mint_bench_certs() {  # mint_bench_certs DIR: a CA, the gateway's certificate (acme.test, and
  # IP 127.0.0.1, which the stunnel client checks) and the partner's (partner.test)
  local dir=$1
  mkdir -p "$dir"
  (
    set -e
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
      -days 7 -subj "/O=sipedge bench/CN=sipedge bench CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    leaf() {  # leaf NAME SANS
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
        -subj "/O=sipedge bench/CN=$1" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 7 \
        -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$2") \
        2>/dev/null
      rm -f "$1.csr"
    }
    leaf edge "DNS:acme.test,DNS:edge.acme.test,IP:127.0.0.1"
    leaf partner "DNS:partner.test,DNS:sip.partner.test"
    chmod 600 ./*.key
    openssl verify -CAfile ca.pem edge.pem partner.pem >/dev/null
  )
}
mint_bench_certs "$certs" || { echo "could not mint certificates" >&2; exit 1; }

# ---- processes: CPU and memory ------------------------------------------------------------------
proc_tree() {  # proc_tree PID...: the PIDs and all their descendants (live), one per line
  ps -e -o pid=,ppid= | awk -v roots="$*" '
    BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { parent[$1] = $2 }
    END {
      do { more = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
      for (p in keep) if (p in parent) print p
    }'
}

cpu_ticks() {  # cpu_ticks PID...: utime + stime + cutime + cstime of these processes, in ticks
  # (stat fields 14-17, i.e. 12-15 after the command name: the reaped children's count too, so a
  # worker that exits between two readings is not lost)
  local pid sum=0 f
  for pid in "$@"; do
    if [ -z "$pid" ] || [ ! -r "/proc/$pid/stat" ]; then continue; fi
    f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
    sum=$((sum + ${f:-0}))
  done
  echo "$sum"
}

sut_ticks() {  # sut_ticks: CPU ticks of the SUT (every root in sut_roots and its descendants)
  # shellcheck disable=SC2046
  cpu_ticks $(proc_tree "${sut_roots[@]}")
}

mem_kb() {  # mem_kb Pss|Rss PID...: summed from /proc/PID/smaps_rollup, in kB
  local field=$1 pid sum=0 v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2; exit }' "/proc/$pid/smaps_rollup" 2>/dev/null)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

sut_mem() {  # sut_mem: "PSS_KB RSS_KB STORE_PSS_KB" of the SUT's processes (STORE: Redis)
  local pids
  pids=$(proc_tree "${sut_roots[@]}")
  # shellcheck disable=SC2086
  echo "$(mem_kb Pss $pids) $(mem_kb Rss $pids) $([ -n "$redis_pid" ] && mem_kb Pss "$redis_pid" || echo 0)"
}

times_ticks() {  # times_ticks FILE: the children's user+sys of a `times` output, in ticks
  awk -v hz="$clk_tck" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%d\n", t * hz + 0.5 }' "$1" 2>/dev/null
}

cpu_pct() {  # cpu_pct TICKS WALL_S: CPU time as a percentage of one core over WALL_S
  awk -v d="${1:-0}" -v hz="$clk_tck" -v w="$2" 'BEGIN { r = 0; if (w + 0 > 0) r = 100 * d / hz / w; printf "%d%%", r }'
}

# ---- SIPp ---------------------------------------------------------------------------------------
stat_field() {  # stat_field STATFILE FIELD: FIELD of the last row
  awk -F';' -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == f) c = i; next } c { v = $c } END { print v + 0 }' \
    "$1" 2>/dev/null
}

elapsed_s() {  # elapsed_s STATFILE: seconds from StartTime to CurrentTime of the final row
  awk -F';' 'NR > 1 { s = $1; c = $3 } END {
    n = split(s, a, "\t"); m = split(c, b, "\t"); if (n == 3 && m == 3) printf "%.3f\n", b[3] - a[3]; else print 0 }' \
    "$1" 2>/dev/null
}

rtt_percentiles() {  # rtt_percentiles DIR: "P50 P99" of the INVITE->200 times in DIR's rtt file (ms)
  local files
  files=$(find "$1" -maxdepth 1 -name 'call_uac_*_rtt.csv' 2>/dev/null)
  [ -n "$files" ] || { echo "- -"; return; }
  # shellcheck disable=SC2086
  awk -F';' '$3 == "invite" { print $2 + 0 }' $files | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "- -"; exit }
      i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999)
      if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
      printf "%s %s\n", v[i50], v[i99]
    }'
}

failure_reason() {  # failure_reason DIR: the commonest failure SIPp logged (UAC and UAS), with its count
  # (a response for a call that had already ended, "Dead call", is logged but is no failure)
  cat "$1"/uac.err.log "$1"/uas.err.log 2>/dev/null | grep -av 'Dead call' |
    grep -aoE "while (expecting '[^']+' \(index [0-9]+\)|sending \(index [0-9]+\)), received '(SIP/2\.0 [0-9]{3}|[A-Z]+)|received 'SIP/2\.0 [0-9]{3}|Unable to send TCP message: [A-Za-z ]+|Broken pipe|Connection reset by peer|Call-Id: .* timeout|receive timeout|UDP retransmission timeout|Max retransmission|Unable to connect a TCP socket" |
    sed -E "s/while expecting '([^']+)' \(index [0-9]+\), received '(.*)/unexpected \2 while expecting \1/; s/while sending \(index [0-9]+\), received '(.*)/unexpected \1 while sending/; s/received 'SIP\/2\.0 /response /; s/Call-Id: .* timeout/call timeout/" |
    sort | uniq -c | sort -rn | head -n 1 |
    awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s, %d logged", $0, n }'
}

sipp_common() {  # sipp_common IP: loopback only, no stdin, own control port, big buffers
  echo -i "$1" -bind_local -ci 127.0.0.1 -cp "$(free_port)" -mi "$1" -nostdin -max_socket 1000 \
    -buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000
}

uas_start() {  # uas_start DIR CALLS TIMEOUT_S [extra]: the SIPp UAS on 127.0.0.3:$port_uas in the
  # background (a subshell that records its exit code and CPU); sets uas_sub
  local dir=$1 calls=$2 to=$3 common
  shift 3
  common=$(sipp_common 127.0.0.3)
  # shellcheck disable=SC2086
  (
    cd "$dir" || exit 1
    timeout -k 5 $((to + 10)) sipp -sf "$bench_dir/sipp/call_uas.xml" $common -p "$port_uas" -t u1 \
      -m "$calls" -timeout "${to}s" -trace_err -error_file uas.err.log \
      -trace_stat -stf uas.stat.csv -fd 1 -trace_screen -screen_file uas.screen.log \
      ${TRACE:+-trace_msg -message_file uas.msg.log} "$@" >uas.out 2>&1
    echo $? >uas.rc
    times >uas.times
  ) &
  uas_sub=$!
  sipp_subs+=("$uas_sub")
  echo "sipp -sf bench/sipp/call_uas.xml $common -p $port_uas -t u1 -m $calls -timeout ${to}s -trace_stat -stf FILE -fd 1 $*" >"$dir/uas.cmd"
  wait_for_port "$port_uas" udp 10 || { tail -n 20 "$dir/uas.out" >&2; return 1; }
}

uac_run() {  # uac_run DIR TRANSPORT RATE CALLS HOLD_MS TIMEOUT_S [extra]: the SIPp UAC; in the
  # foreground, unless UAC_BG=1 (then uac_sub is its subshell)
  local dir=$1 transport=$2 rate=$3 calls=$4 hold=$5 to=$6 target t common
  shift 6
  case "$transport" in
    udp) target=127.0.0.1:$port_ext; t=u1 ;;
    tls) target=127.0.0.1:$tls_in; t=t1 ;;
  esac
  common=$(sipp_common 127.0.0.2)
  local rtt_freq=$rate
  [ "$rtt_freq" -gt "$calls" ] && rtt_freq=$calls
  local cmd="sipp $target -sf bench/sipp/call_uac.xml -s user $common -p PORT -t $t -m $calls -r $rate -l $calls -d $hold -recv_timeout $((recv_timeout_s * 1000)) -timeout ${to}s -trace_stat -stf FILE -fd 1 -trace_rtt -rtt_freq $rtt_freq $*"
  echo "$cmd" >"$dir/uac.cmd"
  # shellcheck disable=SC2086
  (
    cd "$dir" || exit 1
    timeout -k 5 $((to + 10)) sipp "$target" -sf "$bench_dir/sipp/call_uac.xml" -s user $common \
      -p "$(free_port)" -t "$t" -m "$calls" -r "$rate" -l "$calls" -d "$hold" \
      -recv_timeout $((recv_timeout_s * 1000)) -timeout "${to}s" \
      -trace_err -error_file uac.err.log -trace_stat -stf uac.stat.csv -fd 1 \
      -trace_rtt -rtt_freq "$rtt_freq" -trace_screen -screen_file uac.screen.log \
      ${TRACE:+-trace_msg -message_file uac.msg.log} "$@" >uac.out 2>&1
    echo $? >uac.rc
    times >uac.times
  ) &
  uac_sub=$!
  sipp_subs+=("$uac_sub")
  [ "${UAC_BG:-0}" = 1 ] && return 0
  wait "$uac_sub"
}

sub_stop() {  # sub_stop SUBSHELL_PID [GRACE_S]: ends the SIPp run of a uas_start/uac_run subshell
  # if it is still running after GRACE_S: SIGTERM to its `timeout`, which passes it on to SIPp
  local sub=$1 grace=${2:-0} i kid
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$sub" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$sub" 2>/dev/null; then
    for kid in $(ps -o pid= --ppid "$sub"); do kill -TERM "$kid" 2>/dev/null; done
  fi
  wait "$sub" 2>/dev/null
}

# ---- the SUTs -----------------------------------------------------------------------------------
sut_roots=()   # PIDs started for the SUT (CPU and memory: these and their descendants)
redis_pid=""
sut_cmd=""     # how the SUT was started (for the report)

sipedge_config() {  # sipedge_config FILE
  cat >"$1" <<EOF
# written by bench/run-call-load.sh
[server]
domains = ["acme.test"]
workers = $SIPEDGE_WORKERS

[[listeners]]
transport = "udp"
address = "127.0.0.1:$port_ext"
side = "external"

[[listeners]]
transport = "tls"
address = "127.0.0.1:$port_tls"
side = "external"
tls = "edge"

[[listeners]]
transport = "udp"
address = "127.0.0.10:$port_int"
side = "internal"

[tls.edge]
certificate = "$certs/edge.pem"
key = "$certs/edge.key"
ca = "$certs/ca.pem"
client_certificate = "require"

[directory.static]
rules = [{ external = "{user}@acme.test", internal = "{user}@nyc.acme.test" }]

[[next_hops]]
transport = "udp"
address = "127.0.0.3:$port_uas"

[next_hop_health]
interval = "0s"

# Federation policy as in production: the partner by its certificate (TLS) or source network
# (UDP); every INVITE decided and written to the decision log (DECISION_LOG=0: no log).
[federation]
mode = "closed"

[[partners]]
name = "partner"
domains = ["partner.test"]
require_mutual_tls = false
networks = ["127.0.0.0/8"]
$( [ "${DECISION_LOG:-1}" = 1 ] && printf '\n[decision_log]\npath = "%s"\nmax_file_bytes = "100MiB"\nkeep_files = 1\n' "$IT_TMP/decisions.log")
$( [ -n "${SIPEDGE_WAIT_TIMER:-}" ] && printf '\n[txn]\nwait_timer = "%s"\n' "$SIPEDGE_WAIT_TIMER")

# Every call leaves four UDP transactions behind for their RFC 3261 wait timers (INVITE server
# and client in RFC 6026's Accepted state, 32 s; BYE server, timer J, 32 s; BYE client, timer K,
# 5 s): about 100 transaction-seconds per call, so 5,000 calls/s hold some 500,000. The default
# limit (200,000 per worker) would answer 503 long before the CPU runs out.
[limits]
max_transactions = 2000000

[admin]
listen = "127.0.0.1:$port_admin"
EOF
}

sut_start() {  # sut_start SUT: new ports, config, process; sets sut_roots, port_* (and redis_pid)
  local sut=$1 dir
  port_ext=$(free_port) && port_tls=$(free_port) && port_int=$(free_port) && port_uas=$(free_port) &&
    port_admin=$(free_port) || return 1
  sut_roots=(); redis_pid=""
  it_next "sut-$sut"
  dir=$IT_NEXT
  mkdir -p "$dir"
  case "$sut" in
    kamailio | kamailio-topos)
      local defs=() redis_port=0
      if [ "$sut" = kamailio-topos ]; then
        redis_port=$(free_port) || return 1
        redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes --save '' \
          --appendonly no --daemonize no --dir "$dir" --logfile "$dir/redis.log" >"$dir/redis.out" 2>&1 &
        redis_pid=$!
        it_track "$redis_pid"
        sut_roots+=("$redis_pid")
        wait_for_port "$redis_port" tcp 10 || { tail -n 20 "$dir/redis.log" >&2; return 1; }
        defs=(-A WITH_TOPOS)
      fi
      sed -e "s|@CERTS@|$certs|g" "$bench_dir/kamailio/tls.cfg" >"$dir/tls.cfg"
      sed -e "s|@PORT_EXT@|$port_ext|g; s|@PORT_TLS@|$port_tls|g; s|@PORT_INT@|$port_int|g" \
        -e "s|@UAS@|127.0.0.3:$port_uas|g; s|@TLS_CFG@|$dir/tls.cfg|g; s|@REDIS_PORT@|$redis_port|g" \
        "$bench_dir/kamailio/proxy.cfg" >"$dir/kamailio.cfg"
      mkdir -p "$dir/run"
      kamailio -f "$dir/kamailio.cfg" -DD -E -m 1024 -x tlsf -X tlsf -Y "$dir/run" "${defs[@]}" \
        >"$dir/kamailio.log" 2>&1 &
      local pid=$!
      it_track "$pid"
      sut_roots+=("$pid")
      sut_cmd="kamailio -f bench/kamailio/proxy.cfg(filled in) -DD -E -m 1024 -x tlsf -X tlsf ${defs[*]}"
      [ "$sut" = kamailio-topos ] &&
        sut_cmd="$sut_cmd; redis-server --bind 127.0.0.1 --port PORT --save '' --appendonly no"
      if ! { wait_for_port "$port_ext" udp 15 && wait_for_port "$port_int" udp 5 && wait_for_port "$port_tls" tcp 5; }; then
        echo "kamailio did not start:" >&2
        tail -n 20 "$dir/kamailio.log" >&2
        return 1
      fi
      sleep 1   # its workers are forked after the sockets are bound
      kill -0 "$pid" 2>/dev/null || { echo "kamailio exited:" >&2; tail -n 20 "$dir/kamailio.log" >&2; return 1; }
      ;;
    sipedge)
      sipedge_config "$dir/sipedge.toml"
      "$SIPEDGE" run --config "$dir/sipedge.toml" >"$dir/sipedge.out" 2>"$dir/sipedge.err" &
      local pid=$!
      it_track "$pid"
      sut_roots+=("$pid")
      sut_cmd="$SIPEDGE run --config FILE (workers = $SIPEDGE_WORKERS)"
      if ! { wait_for_port "$port_ext" udp 15 && wait_for_port "$port_int" udp 5 && wait_for_port "$port_tls" tcp 5 &&
        wait_for_port "$port_admin" tcp 5; }; then
        echo "sipedge did not start:" >&2
        tail -n 20 "$dir/sipedge.out" "$dir/sipedge.err" >&2
        return 1
      fi
      ;;
  esac
}

sut_stop() {  # sut_stop: SIGTERM (SIGKILL after 5 s) to what sut_start started, newest first
  local i
  for ((i = ${#sut_roots[@]} - 1; i >= 0; i--)); do it_stop "${sut_roots[i]}" 5; done
  sut_roots=(); redis_pid=""
}

sipedge_gauges() {  # sipedge_gauges: "DIALOGS TRANSACTIONS" from the admin /metrics (- if absent)
  curl -s --max-time 2 "http://127.0.0.1:$port_admin/metrics" 2>/dev/null | awk '
    $1 ~ /^sipedge_dialogs($|\{)/ { d += $2; hd = 1 }
    $1 ~ /^sipedge_transactions($|\{)/ { t += $2; ht = 1 }
    END { printf "%s %s\n", hd ? d : "-", ht ? t : "-" }'
}

sipedge_drain() {  # sipedge_drain: prints the gauges now, then waits until both are 0
  local g t0=$SECONDS
  g=$(sipedge_gauges)
  echo "    sipedge after the step: sipedge_dialogs ${g% *}, sipedge_transactions ${g#* }" >&2
  while [ "$g" != "0 0" ] && [ $((SECONDS - t0)) -lt "$DRAIN_WAIT" ]; do
    sleep 1
    g=$(sipedge_gauges)
  done
  echo "    sipedge $((SECONDS - t0)) s later: sipedge_dialogs ${g% *}, sipedge_transactions ${g#* }$([ "$g" = "0 0" ] || echo " (not back to 0 within DRAIN_WAIT=$DRAIN_WAIT s)")" >&2
  drain_note="${g% *}/${g#* }"
}

first_received() {  # first_received MSG_LOG REGEX: the first received message (start line and
  # headers joined by spaces: REGEX sees one line) that matches REGEX, printed line by line
  awk -v re="$2" '
    function done() { if (r && m != "") { one = m; gsub(/\n/, " ", one); if (one ~ re) { printf "%s", m; found = 1; exit } } r = 0; m = "" }
    /^-{40,}/ { done(); next }
    /message received/ { r = 1; m = ""; next }
    r { sub(/\r$/, ""); if (m == "" && $0 == "") next; if ($0 == "") { done(); next } m = m $0 "\n" }
    END { if (!found) done() }' "$1" 2>/dev/null
}

# ---- one probe call with message traces -----------------------------------------------------------
probe() {  # probe SUT TRANSPORT: one call, traced on both sides; prints what each side sees
  local sut=$1 transport=$2 dir to=$((hold_s + 2 * recv_timeout_s + 10))
  it_next "probe-$sut-$transport"
  dir=$IT_NEXT
  mkdir -p "$dir"
  uas_start "$dir" 1 "$to" -trace_msg -message_file uas.msg.log || return 1
  uac_run "$dir" "$transport" 1 1 "$HOLD_MS" "$to" -trace_msg -message_file uac.msg.log
  sub_stop "$uas_sub" 1
  local ok inv rr vias leak_in ok200 leak_out
  ok=$(stat_field "$dir/uac.stat.csv" 'SuccessfulCall(C)')
  # the INVITE as the UAS received it, and the 200 as the UAC received it
  inv=$(first_received "$dir/uas.msg.log" '^INVITE ')
  ok200=$(first_received "$dir/uac.msg.log" '^SIP/2\.0 200 .*CSeq: *1 INVITE')
  rr=$(grep -iE '^(record-route|rr):' <<<"$inv" | tr ',' '\n' | grep -c '<')
  vias=$(grep -iE '^(via|v):' <<<"$inv" | tr ',' '\n' | grep -c 'SIP/2.0')
  leak_in=$(grep -ciE '^(via|v|contact|m|record-route|from|f):.*127\.0\.0\.2' <<<"$inv")
  leak_out=$(grep -ciE '^(via|v|contact|m|record-route):.*127\.0\.0\.(3|10)' <<<"$ok200")
  echo "  probe call $sut/$transport: ${ok:-0}/1 successful. The UAS's INVITE: request line '$(head -n 1 <<<"$inv" | tr -d '\r')', $vias Via, $rr Record-Route entries, $leak_in lines with the partner's address (127.0.0.2). The UAC's 200: $leak_out Via/Contact/Record-Route lines with an inside address (127.0.0.3/.10)." >&2
  probe_note="UAS sees $vias Via, $rr Record-Route, partner address in $leak_in headers; UAC sees an inside address in $leak_out headers"
}

# ---- one load step ------------------------------------------------------------------------------
rows=""
step_bound() {  # step_bound: the longest a step may take, in seconds
  local b=$((2 * DURATION + hold_s + 2 * recv_timeout_s + 10 + 10 + 12))
  [ "$1" = sipedge ] && b=$((b + DRAIN_WAIT + 2))
  echo "$b"
}

step() {  # step SUT TRANSPORT RATE: one step; appends a row; returns 1 unless it passed
  local sut=$1 transport=$2 rate=$3 calls=$(($3 * DURATION)) dir
  # -timeout: the calls are started within 2 x DURATION unless SIPp falls below half the rate;
  # each lasts the hold plus at most 2 x recv_timeout_s (INVITE and BYE)
  local to=$((2 * DURATION + hold_s + 2 * recv_timeout_s + 10))
  it_next "$sut-$transport-$rate"
  dir=$IT_NEXT
  mkdir -p "$dir"
  uas_start "$dir" "$calls" $((to + 10)) || return 1
  local t0 t1 s0 s1 n0 n1 r0 r1 wall
  s0=$(sut_ticks); n0=$(cpu_ticks "${stunnel_pid:-}"); r0=$(cpu_ticks "${redis_pid:-}"); t0=$(date +%s.%N)
  uac_run "$dir" "$transport" "$rate" "$calls" "$HOLD_MS" "$to"
  t1=$(date +%s.%N); s1=$(sut_ticks); n1=$(cpu_ticks "${stunnel_pid:-}"); r1=$(cpu_ticks "${redis_pid:-}")
  sub_stop "$uas_sub" 8
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  [ -n "$example_uac" ] || { example_uac=$(cat "$dir/uac.cmd"); example_uas=$(cat "$dir/uas.cmd"); }

  local ok failed retr_c retr_s elapsed unfinished ppm achieved p50 p99 us cpu_sut cpu_uac cpu_uas cpu_stn cpu_redis
  ok=$(stat_field "$dir/uac.stat.csv" 'SuccessfulCall(C)')
  failed=$(stat_field "$dir/uac.stat.csv" 'FailedCall(C)')
  retr_c=$(stat_field "$dir/uac.stat.csv" 'Retransmissions(C)')
  retr_s=$(stat_field "$dir/uas.stat.csv" 'Retransmissions(C)')
  elapsed=$(elapsed_s "$dir/uac.stat.csv")
  unfinished=$((calls - ok - failed))
  [ "$unfinished" -lt 0 ] && unfinished=0
  ppm=$(((failed + unfinished) * 1000000 / calls))
  achieved=$(awk -v n="$ok" -v e="$elapsed" -v h="$HOLD_MS" 'BEGIN { t = e - h / 1000; r = 0; if (t > 0) r = n / t; printf "%d", r }')
  read -r p50 p99 <<<"$(rtt_percentiles "$dir")"
  us=$(awk -v d=$((s1 - s0)) -v hz="$clk_tck" -v n="$ok" 'BEGIN { if (n > 0) printf "%d", d / hz * 1e6 / n; else print "-" }')
  cpu_sut=$(cpu_pct $((s1 - s0)) "$wall")
  cpu_uac=$(cpu_pct "$(times_ticks "$dir/uac.times")" "$wall")
  cpu_uas=$(cpu_pct "$(times_ticks "$dir/uas.times")" "$wall")
  cpu_stn="-"; [ "$transport" = tls ] && cpu_stn=$(cpu_pct $((n1 - n0)) "$wall")
  cpu_redis=""; [ -n "$redis_pid" ] && cpu_redis=" (Redis $(cpu_pct $((r1 - r0)) "$wall"))"
  local verdict pass=0
  if [ "$ppm" -ge "$max_fail_ppm" ]; then
    verdict="FAIL: $(awk -v p="$ppm" 'BEGIN { printf "%.2f%%", p / 10000 }') failed or unfinished; $(failure_reason "$dir")"
  elif [ $((achieved * 100)) -lt $((rate * MIN_ACHIEVED_PCT)) ]; then
    verdict="FAIL: achieved < $MIN_ACHIEVED_PCT% of the offered rate"
  else
    verdict=pass; pass=1
  fi
  drain_note=""
  [ "$sut" = sipedge ] && sipedge_drain
  rows="$rows| $rate | $achieved | $calls | $ok | $failed | $unfinished | $retr_c+$retr_s | $p50 / $p99 | $us | $cpu_sut$cpu_redis | $cpu_uac | $cpu_uas | $cpu_stn |${drain_note:+ $drain_note |} $verdict |
"
  printf '  %-15s %-3s offered %5s/s: achieved %5s/s, %d/%d ok, %d failed, %d unfinished, retrans %s+%s, INVITE->200 p50 %s ms p99 %s ms, SUT %s us/call (%s%s), UAC %s, UAS %s, stunnel %s, sipp exit %s/%s (%ss): %s\n' \
    "$sut" "$transport" "$rate" "$achieved" "$ok" "$calls" "$failed" "$unfinished" "$retr_c" "$retr_s" "$p50" "$p99" \
    "$us" "$cpu_sut" "$cpu_redis" "$cpu_uac" "$cpu_uas" "$cpu_stn" "$(cat "$dir/uac.rc" 2>/dev/null)" \
    "$(cat "$dir/uas.rc" 2>/dev/null)" "$wall" "$verdict" >&2
  last_us=$us; last_achieved=$achieved
  [ $pass = 1 ]
}

# ---- held dialogs -------------------------------------------------------------------------------
# Two readings, with half of the calls held and then all of them: memory per held dialog is the
# growth between the two over the calls added. Both readings come HELD_SETTLE s after a setup at
# the same rate, so the transactions of the setups have ended and whatever high-water mark they
# left in the SUT's allocators was already there at the first reading: the slope is the dialogs'.
held_half1=$((HELD_CALLS / 2)); held_half2=$((HELD_CALLS - HELD_CALLS / 2))
held_h1=$(((held_half1 + HELD_RATE - 1) / HELD_RATE)); held_h2=$(((held_half2 + HELD_RATE - 1) / HELD_RATE))
# the first half's hold: past the second reading (h1 + h2 + 2 x settle, plus slack for a slow setup)
held_hold_a=$((held_h1 + held_h2 + 2 * HELD_SETTLE + (held_h1 + held_h2) / 2 + 15))
held_hold_b=$((held_h2 + HELD_SETTLE + held_h2 / 2 + 15))
held_bound() {  # the longest a held phase may take, in seconds (sut_start not included)
  echo $((2 + 2 * held_h1 + 2 * held_h2 + 2 * recv_timeout_s + 10 + 2 * HELD_SETTLE + held_hold_a + 2 * held_h1 + 2 * recv_timeout_s + 10 + 8 + 2 + 10))
}

held_wait_started() {  # held_wait_started STATFILE CALLS SETUP_S SUBSHELL: until SIPp has started CALLS
  local deadline=$((SECONDS + 2 * $3 + recv_timeout_s + 5)) created=0
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$4" 2>/dev/null; do
    created=$(stat_field "$1" 'OutgoingCall(C)')
    [ "${created:-0}" -ge "$2" ] && break
    sleep 0.5
  done
  echo "${created:-0}"
}

held_phase() {  # held_phase SUT: appends a row to held_rows
  local sut=$1 dir n=$HELD_CALLS sub_a sub_b
  local to_a=$((held_hold_a + 2 * held_h1 + 2 * recv_timeout_s + 10))
  local to_b=$((held_hold_b + 2 * held_h2 + 2 * recv_timeout_s + 10))
  it_next "held-$sut"
  dir=$IT_NEXT
  mkdir -p "$dir/a" "$dir/b"
  sleep 2
  local idle m1 m2 after c1 c2 f1 f2 cur1 cur2 fail g1="" g2=""
  idle=$(sut_mem)
  uas_start "$dir" "$n" $((to_a + 10)) || return 1
  UAC_BG=1 uac_run "$dir/a" udp "$HELD_RATE" "$held_half1" $((held_hold_a * 1000)) "$to_a"
  sub_a=$uac_sub
  c1=$(held_wait_started "$dir/a/uac.stat.csv" "$held_half1" "$held_h1" "$sub_a")
  echo "  held $sut: $c1 of $held_half1 calls started; waiting $HELD_SETTLE s" >&2
  sleep "$HELD_SETTLE"
  m1=$(sut_mem)
  cur1=$(stat_field "$dir/a/uac.stat.csv" 'CurrentCall')
  [ "$sut" = sipedge ] && g1=$(sipedge_gauges)
  echo "  held $sut: SIPp holds $cur1 calls; SUT PSS ${idle%% *} kB idle, ${m1%% *} kB now${g1:+; sipedge_dialogs ${g1% *}, sipedge_transactions ${g1#* }}" >&2
  UAC_BG=1 uac_run "$dir/b" udp "$HELD_RATE" "$held_half2" $((held_hold_b * 1000)) "$to_b"
  sub_b=$uac_sub
  c2=$(held_wait_started "$dir/b/uac.stat.csv" "$held_half2" "$held_h2" "$sub_b")
  echo "  held $sut: $c2 of $held_half2 more calls started; waiting $HELD_SETTLE s" >&2
  sleep "$HELD_SETTLE"
  m2=$(sut_mem)
  cur2=$(($(stat_field "$dir/a/uac.stat.csv" 'CurrentCall') + $(stat_field "$dir/b/uac.stat.csv" 'CurrentCall')))
  [ "$sut" = sipedge ] && g2=$(sipedge_gauges)
  echo "  held $sut: SIPp holds $cur2 calls; SUT PSS ${m2%% *} kB${g2:+; sipedge_dialogs ${g2% *}, sipedge_transactions ${g2#* }}" >&2
  sub_stop "$sub_b" $((held_hold_b + recv_timeout_s + 5))
  sub_stop "$sub_a" $((held_hold_a + recv_timeout_s + 5))
  sub_stop "$uas_sub" 8
  sleep 2
  after=$(sut_mem)
  f1=$(stat_field "$dir/a/uac.stat.csv" 'FailedCall(C)'); f2=$(stat_field "$dir/b/uac.stat.csv" 'FailedCall(C)')
  fail=$((f1 + f2))
  local i_pss m1_pss m1_rss m1_st m2_pss m2_rss m2_st a_pss
  read -r i_pss _ _ <<<"$idle"
  read -r m1_pss m1_rss m1_st <<<"$m1"
  read -r m2_pss m2_rss m2_st <<<"$m2"
  read -r a_pss _ _ <<<"$after"
  slope() { awk -v a="$1" -v b="$2" -v n=$((cur2 - cur1)) 'BEGIN { if (n > 0) printf "%d", (b - a) * 1024 / n; else print "-" }'; }
  local per_pss per_rss per_st="-" dialogs="-" note=""
  per_pss=$(slope "$m1_pss" "$m2_pss")
  per_rss=$(slope "$m1_rss" "$m2_rss")
  [ "$sut" = kamailio-topos ] && per_st=$(slope "$m1_st" "$m2_st")
  [ -n "$g2" ] && dialogs="${g1% *} / ${g2% *}"
  [ "$cur2" -lt "$n" ] && note=" (fewer than $n held at the second reading)"
  held_rows="$held_rows| $sut | $cur1 / $cur2$note | $fail | $i_pss | $m1_pss | $m2_pss | $a_pss | **$per_pss** | $per_st | $per_rss | $dialogs |
"
  echo "  held $sut: $per_pss bytes per held dialog (PSS), $per_rss (RSS summed); PSS 2 s after the last BYE: $a_pss kB" >&2
}

# ---- the run ------------------------------------------------------------------------------------
echo "call load: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "command: $invocation" >&2
example_uac=""; example_uas=""
summary=""; held_rows=""; sections=""; sut_cmds=""; probes=""
budget_left() { echo $((TIME_BUDGET - (SECONDS - start_s))); }
start_bound=45                                   # sut_start (port waits) + stunnel
stop_bound=15                                    # sut_stop and stunnel
probe_bound=$((hold_s + 2 * recv_timeout_s + 10 + 10 + 2))
worst=0; n_rates=$(wc -w <<<"$RATES")
for sut in $SUTS; do
  for transport in $TRANSPORTS; do
    worst=$((worst + start_bound + probe_bound + n_rates * $(step_bound "$sut") + stop_bound))
  done
  [ "$HELD_CALLS" -gt 0 ] && worst=$((worst + start_bound + $(held_bound) + stop_bound))
done
echo "worst case for this run: $worst s without TIME_BUDGET; with it, at most $((TIME_BUDGET + stop_bound)) s (TIME_BUDGET=$TIME_BUDGET)" >&2

for sut in $SUTS; do
  for transport in $TRANSPORTS; do
    rows=""; best="none"; best_achieved="-"; best_us="-"; stopped=""
    if [ "$(budget_left)" -lt $((start_bound + probe_bound + $(step_bound "$sut") + stop_bound)) ]; then
      summary="$summary| $sut | $transport | - | - | - | skipped: time budget |
"
      continue
    fi
    echo "$sut / $transport" >&2
    stunnel_pid=""
    if ! sut_start "$sut"; then
      sut_stop
      summary="$summary| $sut | $transport | - | - | - | did not start |
"
      continue
    fi
    if [ "$transport" = tls ]; then
      tls_in=$(free_port)
      if ! STUNNEL_DEBUG=3 start_stunnel_client "$tls_in" "127.0.0.1:$port_tls" "$certs/ca.pem" \
        "$certs/partner.pem" "$certs/partner.key" 127.0.0.1; then
        sut_stop
        summary="$summary| $sut | $transport | - | - | - | stunnel did not start |
"
        continue
      fi
      stunnel_pid=$IT_LAST_PID
    fi
    [[ "$sut_cmds" == *"$sut:"* ]] || sut_cmds="$sut_cmds- $sut: \`$sut_cmd\`
"
    probe_note=""
    probe "$sut" "$transport"
    probes="$probes- $sut/$transport: $probe_note
"
    for rate in $RATES; do
      if [ "$(budget_left)" -lt $(($(step_bound "$sut") + stop_bound)) ]; then
        stopped="time budget (TIME_BUDGET=$TIME_BUDGET s) reached before $rate/s"
        break
      fi
      if step "$sut" "$transport" "$rate"; then
        best=$rate; best_achieved=$last_achieved; best_us=$last_us
      else
        stopped="first failing step: $rate/s"
        break
      fi
    done
    [ -n "$stunnel_pid" ] && it_stop "$stunnel_pid"
    sut_stop
    title="$sut, partner leg $transport"
    [ "$transport" = tls ] && title="$title (SIPp TCP -> stunnel client -> SUT TLS, one connection)"
    drain_head=""; drain_sep=""
    [ "$sut" = sipedge ] && { drain_head=" dialogs/transactions after drain |"; drain_sep="---:|"; }
    sections="$sections
### $title

| offered calls/s | achieved calls/s | calls | successful | failed | unfinished | retrans UAC+UAS | INVITE->200 p50 / p99 ms | SUT CPU us/call | SUT CPU | UAC CPU | UAS CPU | stunnel CPU |$drain_head result |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|$drain_sep---|
$rows
Highest passing rate: **$best/s**${stopped:+ (stopped: $stopped)}.
"
    summary="$summary| $sut | $transport | $best | $best_achieved | $best_us | ${stopped:-all steps passed} |
"
    echo "  => $sut/$transport: highest passing rate $best/s, $best_us us of SUT CPU per call there${stopped:+ ($stopped)}" >&2
  done
  if [ "$HELD_CALLS" -gt 0 ]; then
    if [ "$(budget_left)" -lt $((start_bound + $(held_bound) + stop_bound)) ]; then
      held_rows="$held_rows| $sut | skipped: time budget | | | | | | | | | |
"
      continue
    fi
    echo "$sut / held dialogs" >&2
    stunnel_pid=""
    if sut_start "$sut"; then
      held_phase "$sut"
    else
      held_rows="$held_rows| $sut | did not start | | | | | | | | | |
"
    fi
    sut_stop
  fi
done

# ---- report -------------------------------------------------------------------------------------
{
  echo
  echo "## Call load: sipedge and Kamailio (SIPp UAC -> SUT -> SIPp UAS)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')); $DURATION s of offered load per step; hold $HOLD_MS ms per call."
  echo "A step passes with < 0.1% of its calls failed or unfinished and at least $MIN_ACHIEVED_PCT% of the offered rate achieved."
  echo "SUT CPU us/call: utime+stime of all the SUT's processes over the step, per successful call. CPU columns: % of one core over the step (kamailio-topos: Redis included, and shown apart)."
  echo
  echo "| SUT | partner leg | highest passing rate (calls/s) | achieved there | SUT CPU us/call there | stopped by |"
  echo "|---|---|---:|---:|---:|---|"
  printf '%s' "$summary"
  printf '%s' "$sections"
  if [ "$HELD_CALLS" -gt 0 ]; then
    echo
    echo "### Held dialogs (UDP: $held_half1, then $HELD_CALLS calls held, set up at $HELD_RATE/s, each reading $HELD_SETTLE s after its setup)"
    echo
    echo "| SUT | calls held at the readings | failed | PSS idle kB | PSS, first reading kB | PSS, second reading kB | PSS after release kB | bytes per held dialog (PSS) | of which Redis | bytes per held dialog (RSS summed) | sipedge_dialogs at the readings |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "$held_rows"
    echo
    echo "Bytes per held dialog: growth between the two readings over the calls added. PSS: summed over the SUT's"
    echo "processes from /proc/PID/smaps_rollup (shared pages split between the processes sharing them: Kamailio's"
    echo "shared memory counts once). RSS summed counts such pages once per process that touched them. \"After"
    echo "release\": 2 s after the last BYE; allocators need not give memory back."
  fi
  echo
  echo "What each side saw on the probe call (one traced call before the steps):"
  echo
  printf '%s' "$probes"
  echo
  echo "Notes:"
  echo "- Achieved = successful calls / (SIPp's elapsed time - the hold): calls set up per second."
  echo "- INVITE->200 from SIPp's -trace_rtt, in whole milliseconds (0 means < 1 ms)."
  echo "- SIPp (single-threaded) and stunnel share this machine's cores with the SUT: where the UAC, the"
  echo "  UAS or stunnel is near 100% of a core, the load generator set the limit, not the SUT."
  echo "- The TLS leg is one TLS connection (stunnel client, mutual TLS with the partner's certificate)."
  echo "- Each SUT x transport starts a fresh SUT; the steps within it add up."
  echo
  echo "Command: \`$invocation\`"
  echo
  echo "SUTs:"
  echo
  printf '%s' "$sut_cmds"
  echo
  echo "One step's SIPp UAC: \`$example_uac\`"
  echo
  echo "Its UAS: \`$example_uas\`"
} | tee "$RESULTS_FILE"
echo "(this report is also in $RESULTS_FILE; whole run $((SECONDS - start_s)) s)" >&2
[ "${KEEP_TMP:-0}" = 1 ] && echo "(per-step SIPp statistics and SUT logs in $IT_TMP)" >&2
exit 0
