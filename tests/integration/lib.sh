# shellcheck shell=bash disable=SC2034,SC2119,SC2120
# (SC2034: IT_LAST_LOG and the like are for the scripts that source this; SC2119/SC2120: the
# trace readers take an optional file and default to the last SIPp run's.)
# Helpers for the loopback integration tests and the load benchmark: a temporary folder whose
# processes are stopped (by PID) on exit, free loopback ports, stunnel in front of or behind
# SIPp (Debian's SIPp has no TLS), bounded SIPp runs that keep their traces, and assertions that
# say what failed. Everything here binds and connects to 127.0.0.1 only.
#
# Usage, from a test script:
#   source "$(dirname "$0")/lib.sh"
#   it_init                      # $IT_TMP, cleanup trap
#   port=$(free_port)
#   ...; run_sipp options_uac "127.0.0.1:$port" u1 100; assert_sipp_ok "OPTIONS/UDP" $?
#   it_finish                    # prints the totals, returns 1 if a check failed
#
# Environment knobs: KEEP_TMP=1 keeps the temporary folder; SIPP_RATE (calls/s, default 100);
# SIPP_TIMEOUT (seconds one SIPp run may take, default 20); SIPP_TRACE_MSG=0 turns the message
# trace off (load runs); STUNNEL_DEBUG (stunnel log level, default 5).

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_SIPP_DIR=$IT_LIB_DIR/sipp
IT_REPO_DIR=$(cd "$IT_LIB_DIR/../.." && pwd)
IT_TMP=""
IT_PIDS=()
IT_PASSES=0
IT_FAILURES=0
IT_SEQ=0
IT_LAST_PID=""
SIPP_LAST=""

# ---- temporary folder and processes -------------------------------------------------------------

it_init() {  # it_init: makes $IT_TMP and installs the cleanup trap (EXIT, INT, TERM)
  IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sipedge-it.XXXXXX") || return 1
  trap it_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

it_track() {  # it_track PID: stop this process on exit
  IT_PIDS+=("$1")
}

it_stop() {  # it_stop PID [GRACE_S]: SIGTERM, then SIGKILL after GRACE_S (default 3); reaps it
  local pid=$1 grace=${2:-3} i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}

it_cleanup() {  # the EXIT trap: stops every recorded process (newest first), removes $IT_TMP
  local i
  for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
    it_stop "${IT_PIDS[i]}" 2
  done
  IT_PIDS=()
  if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then
      echo "kept $IT_TMP" >&2
    else
      rm -rf "$IT_TMP"
    fi
  fi
}

it_next() {  # it_next NAME: sets IT_NEXT to a fresh file prefix in $IT_TMP (NN-NAME)
  # (sets a variable rather than printing one: a $(...) subshell would lose the counter)
  IT_SEQ=$((IT_SEQ + 1))
  IT_NEXT=$(printf '%s/%02d-%s' "$IT_TMP" "$IT_SEQ" "$1")
}

# ---- ports --------------------------------------------------------------------------------------

free_port() {  # free_port: prints a loopback port no socket (TCP or UDP) uses, never twice per run
  # 20000-32767 stays below Linux's ephemeral range (32768-60999), where connections take their
  # local ports. A port could still be taken between this check and the bind: callers that bind
  # it themselves (SIPp, stunnel) fail loudly, and the tests prefer port 0 where the program
  # under test reports its port. Ports handed out are remembered in $IT_TMP/ports (callers use
  # $(free_port), a subshell, so a shell variable would not remember them).
  local p i used seen=""
  used=$(ss -Htaun 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }')
  [ -n "$IT_TMP" ] && seen=$(cat "$IT_TMP/ports" 2>/dev/null)
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
    grep -qx "$p" <<<"$seen" && continue
    if ! grep -qx "$p" <<<"$used"; then
      [ -n "$IT_TMP" ] && echo "$p" >>"$IT_TMP/ports"
      echo "$p"
      return 0
    fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

wait_for_port() {  # wait_for_port PORT [tcp|udp] [TIMEOUT_S=10]: until something listens on PORT
  local port=$1 proto=${2:-tcp} timeout=${3:-10} flag=-Hltn deadline
  [ "$proto" = udp ] && flag=-Hlun
  deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -le "$deadline" ]; do
    [ -n "$(ss $flag "sport = :$port" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  echo "wait_for_port: nothing listens on $proto port $port after ${timeout}s" >&2
  return 1
}

wait_for_line() {  # wait_for_line FILE PATTERN COUNT [TIMEOUT_S=10] [PID]: COUNT lines match
  local file=$1 pattern=$2 count=$3 timeout=${4:-10} pid=${5:-} deadline
  deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -le "$deadline" ]; do
    [ "$(grep -cE -- "$pattern" "$file" 2>/dev/null)" -ge "$count" ] && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "wait_for_line: process $pid exited before printing $count x '$pattern'" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "wait_for_line: fewer than $count lines '$pattern' in $file after ${timeout}s" >&2
  return 1
}

# ---- certificates -------------------------------------------------------------------------------

mint_test_certs() {  # mint_test_certs DIR: the dev CA and leaves, plus the negative cases below
  # certs/mint-dev-certs.sh: ca.pem, edge.pem (localhost, 127.0.0.1, ::1), partner.pem,
  # other-partner.pem. Added here:
  #   wrong-host.pem  signed by the dev CA, SAN DNS:wrong.example only ("does not match" tests)
  #   untrusted.pem   SANs of edge.pem, signed by rogue-ca.pem, which nobody trusts
  local dir=$1
  bash "$IT_REPO_DIR/certs/mint-dev-certs.sh" "$dir" >/dev/null || return 1
  (
    set -e
    cd "$dir"
    leaf() {  # leaf NAME CA_NAME SANS
      [ -s "$1.pem" ] && return 0
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.csr" -subj "/O=sipedge tests/CN=$1" 2>/dev/null
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
        -days 30 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$3") \
        2>/dev/null
      rm -f "$1.csr"
      chmod 600 "$1.key"
    }
    leaf wrong-host ca "DNS:wrong.example"
    if [ ! -s rogue-ca.pem ]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue-ca.key \
        -out rogue-ca.pem -days 30 -subj "/O=sipedge tests/CN=rogue CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
      chmod 600 rogue-ca.key
    fi
    leaf untrusted rogue-ca "DNS:localhost,IP:127.0.0.1,IP:::1"
    openssl verify -CAfile ca.pem wrong-host.pem >/dev/null
    openssl verify -CAfile rogue-ca.pem untrusted.pem >/dev/null
  )
}

# ---- stunnel ------------------------------------------------------------------------------------
# Both run in the foreground (stunnel's own log on stderr, kept in $IT_TMP), without a pid file,
# and are stopped by PID on exit. $IT_LAST_PID is the stunnel just started; its log file is
# $IT_LAST_LOG.

_stunnel_start() {  # _stunnel_start CONF ACCEPT_PORT
  local conf=$1 port=$2 log=${1%.conf}.log
  stunnel "$conf" >"$log" 2>&1 &
  IT_LAST_PID=$!
  IT_LAST_LOG=$log
  it_track "$IT_LAST_PID"
  if ! wait_for_port "$port" tcp 10; then
    echo "stunnel ($conf) did not start:" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
}

_stunnel_global() {  # _stunnel_global: the global section both modes share
  printf 'foreground = yes\npid =\nsyslog = no\ndebug = %s\n' "${STUNNEL_DEBUG:-5}"
}

start_stunnel_client() {  # start_stunnel_client ACCEPT_PORT CONNECT_HOST:PORT [CA] [CERT KEY] [VERIFY_NAME]
  # SIPp (TCP) -> 127.0.0.1:ACCEPT_PORT -> TLS to CONNECT_HOST:PORT.
  # CA: verify the server's chain against it ("" = no verification).
  # CERT KEY: present a client certificate (mutual TLS) ("" "" = none).
  # VERIFY_NAME: the name (checkHost + SNI) or IP address (checkIP) the server's certificate
  #              must carry; needs CA.
  # STUNNEL_LOCAL (environment): the source address of the TLS connection (e.g. 127.0.0.200).
  local accept=$1 connect=$2 ca=${3:-} cert=${4:-} key=${5:-} name=${6:-} conf
  it_next stunnel-client
  conf=$IT_NEXT.conf
  {
    _stunnel_global
    printf '[sip-tls-client]\nclient = yes\naccept = 127.0.0.1:%s\nconnect = %s\n' "$accept" "$connect"
    printf 'sslVersionMin = TLSv1.2\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n'
    [ -n "${STUNNEL_LOCAL:-}" ] && printf 'local = %s\n' "$STUNNEL_LOCAL"
    if [ -n "$ca" ]; then
      printf 'CAfile = %s\nverifyChain = yes\n' "$ca"
    else
      printf 'verifyChain = no\n'
    fi
    if [ -n "$cert" ]; then
      printf 'cert = %s\nkey = %s\n' "$cert" "$key"
    fi
    if [ -n "$name" ]; then
      if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then
        printf 'checkIP = %s\n' "$name"
      else
        printf 'checkHost = %s\nsni = %s\n' "$name" "$name"
      fi
    fi
  } >"$conf"
  _stunnel_start "$conf" "$accept"
}

start_stunnel_server() {  # start_stunnel_server ACCEPT_PORT CONNECT_PORT CERT KEY [CA [REQUIRE=yes]]
  # TLS on 127.0.0.1:ACCEPT_PORT -> TCP to 127.0.0.1:CONNECT_PORT (a SIPp UAS).
  # CA: verify client certificates against it; REQUIRE=yes refuses clients without one.
  local accept=$1 connect=$2 cert=$3 key=$4 ca=${5:-} require=${6:-yes} conf
  it_next stunnel-server
  conf=$IT_NEXT.conf
  {
    _stunnel_global
    printf '[sip-tls-server]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\n' "$accept" "$connect"
    printf 'cert = %s\nkey = %s\nsslVersionMin = TLSv1.2\n' "$cert" "$key"
    printf 'socket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n'
    if [ -n "$ca" ]; then
      printf 'CAfile = %s\nverifyChain = yes\nrequireCert = %s\n' "$ca" "$require"
    fi
  } >"$conf"
  _stunnel_start "$conf" "$accept"
}

# ---- /metrics ------------------------------------------------------------------------------------

start_sipedge() {  # start_sipedge CONFIG LOG: `$SIPEDGE run --config CONFIG`, output in LOG
  # In the background, tracked (stopped on exit); sets edge_pid. Waits up to 10 s for its
  # "sipedge running" line; if it does not come, prints LOG and exits the script.
  "$SIPEDGE" run --config "$1" >"$2" 2>&1 &
  edge_pid=$!
  it_track "$edge_pid"
  if ! wait_for_line "$2" '^sipedge running' 1 10 "$edge_pid"; then
    echo "sipedge did not start:" >&2
    cat "$2" >&2
    exit 1
  fi
}

metric() {  # metric NAME: its value from http://127.0.0.1:$admin_port/metrics (first sample)
  exec 3<>"/dev/tcp/127.0.0.1/$admin_port" || return 1
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk -v n="$1" '$1 == n || index($1, n "{") == 1 { print $2; exit }' <&3
  exec 3<&-
}

metric_line() {  # metric_line TEXT: the value of the sample whose name and labels are TEXT
  exec 3<>"/dev/tcp/127.0.0.1/$admin_port" || return 1
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk -v n="$1" '$1 == n { print $2; exit }' <&3
  exec 3<&-
}

# ---- dnsmasq ------------------------------------------------------------------------------------

start_dnsmasq() {  # start_dnsmasq PORT < RECORDS: dnsmasq on 127.0.0.1:PORT serving RECORDS
  # RECORDS (standard input): dnsmasq.conf lines (srv-host=, host-record=, naptr-record=, ...).
  # Answers only for what RECORDS name under *.example (local=/example/: nothing is forwarded);
  # queries are logged to $IT_TMP/dnsmasq.log. Returns 1 when it does not start.
  local port=$1
  {
    printf 'no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\n'
    printf 'port=%s\npid-file=\nuser=%s\ngroup=%s\n' "$port" "$(id -un)" "$(id -gn)"
    printf 'log-queries\nlog-facility=%s\nlocal=/example/\n' "$IT_TMP/dnsmasq.log"
    cat
  } >"$IT_TMP/dnsmasq.conf"
  dnsmasq --keep-in-foreground --conf-file="$IT_TMP/dnsmasq.conf" >"$IT_TMP/dnsmasq.out" 2>&1 &
  it_track $!
  wait_for_port "$port" udp 10
}

# ---- SIPp ---------------------------------------------------------------------------------------

_sipp_scenario() {  # _sipp_scenario NAME|PATH: prints the scenario file
  case "$1" in
    */*) echo "$1" ;;
    *.xml) echo "$IT_SIPP_DIR/$1" ;;
    *) echo "$IT_SIPP_DIR/$1.xml" ;;
  esac
}

_sipp_transport() {  # udp|tcp|u1|un|t1|tn -> SIPp's -t value
  case "$1" in
    udp) echo u1 ;;
    tcp) echo t1 ;;
    *) echo "$1" ;;
  esac
}

_sipp_common() {  # the options every SIPp run gets: loopback only, no stdin, own control port
  # -i/-bind_local keep SIP on 127.0.0.1 (SIPp would otherwise put the host's address in Via
  # and listen on every address); -ci/-mi keep the control socket (UDP 8888+) and the media
  # sockets (6000+) on loopback too.
  # -max_socket: SIPp refuses -t tn when its default (50000) exceeds the open-files limit.
  echo -i 127.0.0.1 -bind_local -ci 127.0.0.1 -cp "$(free_port)" -mi 127.0.0.1 -nostdin \
    -max_socket "${SIPP_MAX_SOCKET:-1000}"
}

start_sipp_uas() {  # start_sipp_uas SCENARIO PORT TRANSPORT [extra sipp args]: a SIPp server
  # Runs in the background until the test ends (or it_stop $IT_LAST_PID); traces in
  # $SIPP_UAS_LAST.{msg,err,screen}.log (no msg log with SIPP_TRACE_MSG=0). Waits until it
  # listens.
  local scen transport port=$2 prefix
  scen=$(_sipp_scenario "$1")
  transport=$(_sipp_transport "$3")
  shift 3
  it_next "uas-$(basename "$scen" .xml)"
  prefix=$IT_NEXT
  local trace=(-trace_msg -message_file "$prefix.msg.log")
  [ "${SIPP_TRACE_MSG:-1}" = 0 ] && trace=()
  # shellcheck disable=SC2046
  sipp -sf "$scen" $(_sipp_common) -p "$port" -t "$transport" "${trace[@]}" \
    -trace_err -error_file "$prefix.err.log" \
    -trace_screen -screen_file "$prefix.screen.log" "$@" >"$prefix.out" 2>&1 &
  IT_LAST_PID=$!
  SIPP_UAS_LAST=$prefix
  it_track "$IT_LAST_PID"
  local proto=udp
  [ "$transport" != u1 ] && [ "$transport" != un ] && proto=tcp
  if ! wait_for_port "$port" "$proto" 10; then
    tail -n 20 "$prefix.out" >&2
    return 1
  fi
}

run_sipp() {  # run_sipp SCENARIO HOST:PORT TRANSPORT CALLS [extra sipp args]: SIPp's exit code
  # A bounded client run: -m CALLS at SIPP_RATE calls/s, SIPp's own -timeout (SIPP_TIMEOUT s,
  # an error when reached) and a hard `timeout` 10 s later. Files kept for the assertions:
  #   $SIPP_LAST.msg.log     every message sent and received (-trace_msg; off with SIPP_TRACE_MSG=0)
  #   $SIPP_LAST.err.log     unexpected messages and call failures (-trace_err)
  #   $SIPP_LAST.stat.csv    statistics, one row per second plus the final one (-trace_stat)
  #   $SIPP_LAST.screen.log  the final screens (-trace_screen)
  #   $SIPP_LAST.out         stdout/stderr
  # Exit codes (sipp -h): 0 all calls succeeded, 1 some failed, 97 internal exit, 99 no call
  # processed, 255 fatal error (the -timeout_error case too), 124 the hard timeout struck.
  local scen target=$2 transport calls=$4 prefix to=${SIPP_TIMEOUT:-20} rc
  scen=$(_sipp_scenario "$1")
  transport=$(_sipp_transport "$3")
  shift 4
  it_next "$(basename "$scen" .xml)-$transport"
  prefix=$IT_NEXT
  SIPP_LAST=$prefix
  local trace=(-trace_msg -message_file "$prefix.msg.log")
  [ "${SIPP_TRACE_MSG:-1}" = 0 ] && trace=()
  # shellcheck disable=SC2046
  timeout -k 5 $((to + 10)) sipp "$target" -sf "$scen" $(_sipp_common) -p "$(free_port)" \
    -t "$transport" -m "$calls" -r "${SIPP_RATE:-100}" -timeout "${to}s" -timeout_error \
    "${trace[@]}" -trace_err -error_file "$prefix.err.log" \
    -trace_stat -stf "$prefix.stat.csv" -fd 1 -trace_screen -screen_file "$prefix.screen.log" \
    "$@" >"$prefix.out" 2>&1
  rc=$?
  echo "$rc" >"$prefix.rc"
  return "$rc"
}

sipp_stat() {  # sipp_stat FIELD [PREFIX=$SIPP_LAST]: FIELD (e.g. SuccessfulCall(C)) of the final row
  local field=$1 prefix=${2:-$SIPP_LAST}
  awk -F';' -v f="$field" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == f) col = i; next }
    { last = $col }
    END { if (col) print last + 0; else print "" }' "$prefix.stat.csv" 2>/dev/null
}

# sipp_trace_summary [MSG_LOG=$SIPP_LAST.msg.log]: reads SIPp's message trace and prints
#   requests=R answered=A unanswered=U retransmitted=T lost_sends=L repeated=P
#   repeated_invite=PI repeated_non_invite=PN differing=D
# R: client transactions started by a request other than ACK (keyed by Via branch + CSeq method)
# A: those with at least one final response; U = R - A
# T: request transmissions logged beyond the first of each transaction (SIPp's retransmissions)
# L: messages SIPp pretended to lose while sending (-lost); SIPp logs only a marker for those
# P: final responses received more than once for the same transaction and status: PN of them
#    for non-INVITE transactions (the server transaction re-answering a retransmitted request),
#    PI for INVITE (a 2xx retransmitted until the ACK, or a 3xx-6xx until the ACK)
# D: transactions where copies of the same status differ in any byte (must be 0: a
#    retransmission repeats the response exactly)
# Then one line per differing transaction. Blocks SIPp logs as "Ignoring ..." repeat a message
# already logged and are skipped; messages SIPp pretends to lose (-lost) are counted, since the
# peer did send them.
sipp_trace_summary() {
  local log=${1:-$SIPP_LAST.msg.log}
  awk '
    function flush(   n, lines, i, first, branch, cseq, key, isreq, method, status) {
      if (kind == "") return
      gsub(/\r/, "", text)
      n = split(text, lines, "\n")
      first = ""; branch = ""; cseq = ""
      for (i = 1; i <= n; i++) {
        if (first == "" && lines[i] != "") { first = lines[i]; continue }
        if (first == "") continue
        if (lines[i] == "") break
        if (branch == "" && tolower(lines[i]) ~ /^(via|v)[ \t]*:/) {
          if (match(lines[i], /branch=[^;, \t]+/)) branch = substr(lines[i], RSTART + 7, RLENGTH - 7)
        }
        if (cseq == "" && tolower(lines[i]) ~ /^cseq[ \t]*:/) {
          cseq = lines[i]; sub(/^[^:]*:[ \t]*/, "", cseq); sub(/^[0-9]+[ \t]+/, "", cseq)
        }
      }
      key = branch " " cseq
      if (kind == "sent" && first !~ /^SIP\/2\.0/) {
        method = first; sub(/ .*/, "", method)
        if (method != "ACK") { sends[key]++; if (sends[key] == 1) order[++nreq] = key }
      } else if (kind == "recv" && first ~ /^SIP\/2\.0 [0-9][0-9][0-9]/) {
        status = substr(first, 9, 3)
        if (status + 0 >= 200) {
          final[key] = 1
          k2 = key " " status
          copies[k2]++
          if (copies[k2] == 1) body[k2] = text
          else { repeated++; if (cseq == "INVITE") rep_inv++; else rep_non++; if (text != body[k2] && !(k2 in bad)) { bad[k2] = 1; nbad++; badlist = badlist "\n  differing copies of " status " for branch " key } }
        }
      }
      kind = ""; text = ""
    }
    /message voluntary lost \(while sending\)/ { lostsend++ }
    /-----------------------------------------------( [0-9]|$)/ { flush(); state = "head"; next }
    state == "head" {
      if ($0 ~ /message sent/) kind = "sent"
      else if ($0 ~ /message received/) kind = "recv"
      else kind = ""
      if ($0 ~ /^Ignoring/) kind = ""
      state = "body"; text = ""; next
    }
    state == "body" && kind != "" {
      line = $0
      # "UDP message lost (recv)." style markers are appended without a newline before the
      # next separator; they are not part of the message.
      text = text line "\n"
    }
    END {
      flush()
      for (i = 1; i <= nreq; i++) {
        k = order[i]; retrans += sends[k] - 1
        if (k in final) answered++
      }
      printf "requests=%d answered=%d unanswered=%d retransmitted=%d lost_sends=%d repeated=%d repeated_invite=%d repeated_non_invite=%d differing=%d%s\n", \
        nreq, answered, nreq - answered, retrans, lostsend, repeated, rep_inv, rep_non, nbad, badlist
    }' "$log"
}

summary_field() {  # summary_field SUMMARY NAME: the value of NAME=... in a sipp_trace_summary line
  sed -n "1s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"
}

trace_count() {  # trace_count REGEX [MSG_LOG]: messages received whose start line matches REGEX
  local log=${2:-$SIPP_LAST.msg.log}
  awk -v re="$1" '
    /-----------------------------------------------( [0-9]|$)/ { state = "head"; next }
    state == "head" { recv = ($0 ~ /message received/); state = "first"; next }
    state == "first" && $0 != "" { line = $0; gsub(/\r/, "", line); if (recv && line ~ re) n++; state = "" }
    END { print n + 0 }' "$log"
}

trace_headers() {  # trace_headers STATUS[/METHOD] HEADER [MSG_LOG]: HEADER lines of received
  # responses with that status (and CSeq method), one per line, e.g. trace_headers 200/INVITE To
  local log=${3:-$SIPP_LAST.msg.log} st=${1%%/*} method=""
  [[ "$1" == */* ]] && method=${1#*/}
  awk -v st="$st" -v method="$method" -v hdr="$(tr 'A-Z' 'a-z' <<<"$2")" '
    function done() { if (want && (method == "" || cseq == method)) printf "%s", out; want = 0; out = "" }
    /-----------------------------------------------( [0-9]|$)/ { done(); state = "head"; next }
    state == "head" { recv = ($0 ~ /message received/); state = "first"; next }
    state == "first" && $0 != "" { gsub(/\r/, ""); want = recv && ($0 ~ ("^SIP/2\\.0 " st " ")); cseq = ""; out = ""; state = want ? "hdrs" : ""; next }
    state == "hdrs" {
      gsub(/\r/, "")
      if ($0 == "") { state = ""; done(); next }
      l = tolower($0)
      if (l ~ /^cseq[ \t]*:/) { cseq = $0; sub(/^[^:]*:[ \t]*[0-9]+[ \t]+/, "", cseq); sub(/[ \t]+$/, "", cseq) }
      if (l ~ ("^" hdr "[ \t]*:")) out = out $0 "\n"
    }
    END { done() }' "$log"
}

trace_tag_conflicts() {  # trace_tag_conflicts [MSG_LOG]: Call-IDs whose responses carry more than
  # one distinct To tag (a UAS keeps one tag for all responses of a dialog, provisional included)
  local log=${1:-$SIPP_LAST.msg.log}
  awk '
    function done() { if (cid != "" && tag != "") { k = cid SUBSEP tag; if (!(k in seen)) { seen[k] = 1; n[cid]++ } } cid = ""; tag = "" }
    /-----------------------------------------------( [0-9]|$)/ { done(); state = "head"; next }
    state == "head" { recv = ($0 ~ /message received/); state = "first"; next }
    state == "first" && $0 != "" { gsub(/\r/, ""); state = (recv && $0 ~ /^SIP\/2\.0 /) ? "hdrs" : ""; next }
    state == "hdrs" {
      gsub(/\r/, "")
      if ($0 == "") { state = ""; next }
      l = tolower($0)
      if (l ~ /^(call-id|i)[ \t]*:/) { cid = $0; sub(/^[^:]*:[ \t]*/, "", cid) }
      if (l ~ /^(to|t)[ \t]*:/ && match($0, /;[ \t]*tag=[^;> \t]+/)) { tag = substr($0, RSTART, RLENGTH); sub(/.*tag=/, "", tag) }
    }
    END { done(); for (c in n) if (n[c] > 1) print c }' "$log"
}

# ---- assertions ---------------------------------------------------------------------------------

check() {  # check NAME STATUS: counts a pass (STATUS 0) or prints FAIL: NAME
  # Beware: in `check "... $(cmd) ..." $?` the $(cmd) runs first and sets $?; save the status in
  # a variable before when the message holds a command substitution.
  if [ "$2" -eq 0 ]; then
    IT_PASSES=$((IT_PASSES + 1))
  else
    echo "FAIL: $1"
    IT_FAILURES=$((IT_FAILURES + 1))
  fi
}

assert_eq() {  # assert_eq NAME GOT WANT
  [ "$2" = "$3" ]
  check "$1: got '$2', want '$3'" $?
}

assert_ge() {  # assert_ge NAME GOT MIN
  [ -n "$2" ] && [ "$2" -ge "$3" ]
  check "$1: got '$2', want at least $3" $?
}

assert_le() {  # assert_le NAME GOT MAX
  [ -n "$2" ] && [ "$2" -le "$3" ]
  check "$1: got '$2', want at most $3" $?
}

_sipp_evidence() {  # what a failed SIPp assertion prints: error log and final counters
  local prefix=${1:-$SIPP_LAST}
  {
    echo "  --- $prefix.err.log (head)"
    head -c 1500 "$prefix.err.log" 2>/dev/null | sed 's/^/  | /'
    echo "  --- scenario counters"
    awk '/Messages  Retrans/ { p = 1 } p && /^---|^ *$/ && n++ > 0 { exit } p' "$prefix.screen.log" 2>/dev/null |
      head -n 20 | sed 's/^/  | /'
    echo "  --- $prefix.out (tail)"
    tail -n 5 "$prefix.out" 2>/dev/null | sed 's/^/  | /'
  } >&2
}

assert_sipp_ok() {  # assert_sipp_ok NAME RC [CALLS [STRICT=1]]: exit 0, CALLS successful, none
  # failed; STRICT also wants no message for a call that had ended (DeadCallMsgs) or for no call
  # at all (OutOfCallMsgs): on a loss-free run those are stray or duplicate responses that SIPp
  # would otherwise ignore silently. Pass STRICT=0 for runs with loss (-lost), where a late
  # repeat of a response is expected.
  local name=$1 rc=$2 calls=${3:-} strict=${4:-1} ok fail dead ooc
  [ "$rc" -eq 0 ]
  check "$name: SIPp exit code $rc, want 0" $?
  [ "$rc" -eq 0 ] || _sipp_evidence
  if [ -n "$calls" ]; then
    ok=$(sipp_stat 'SuccessfulCall(C)')
    fail=$(sipp_stat 'FailedCall(C)')
    assert_eq "$name: successful calls" "$ok" "$calls"
    assert_eq "$name: failed calls" "$fail" 0
    if [ "$strict" = 1 ]; then
      dead=$(sipp_stat 'DeadCallMsgs(C)')
      ooc=$(sipp_stat 'OutOfCallMsgs(C)')
      assert_eq "$name: messages after their call ended" "$dead" 0
      assert_eq "$name: messages for no call" "$ooc" 0
      if [ "$dead" != 0 ] || [ "$ooc" != 0 ]; then
        head -c 1500 "$SIPP_LAST.err.log" | sed 's/^/  | /' >&2
      fi
    fi
  fi
}

assert_sipp_fails() {  # assert_sipp_fails NAME RC: SIPp did not complete any call
  local name=$1 rc=$2 ok
  [ "$rc" -ne 0 ]
  check "$name: SIPp exit code $rc, want non-zero" $?
  ok=$(sipp_stat 'SuccessfulCall(C)')
  assert_eq "$name: successful calls" "${ok:-0}" 0
}

assert_trace_count() {  # assert_trace_count NAME REGEX MIN [MAX]: received start lines matching
  local name=$1 re=$2 min=$3 max=${4:-} n
  n=$(trace_count "$re")
  [ "$n" -ge "$min" ] && { [ -z "$max" ] || [ "$n" -le "$max" ]; }
  check "$name: $n received messages match '$re', want ${min}${max:+..$max}${max:-+} (trace $SIPP_LAST.msg.log)" $?
}

assert_to_tags() {  # assert_to_tags NAME STATUS[/METHOD]: every such received response has a To tag
  local name=$1 status=$2 total without
  total=$(trace_headers "$status" "To" | wc -l)
  without=$(trace_headers "$status" "To" | grep -vc ';[ \t]*tag=')
  [ "$total" -gt 0 ] && [ "$without" -eq 0 ]
  check "$name: $without of $total received $status responses lack a To tag" $?
}

assert_header_present() {  # assert_header_present NAME STATUS[/METHOD] HEADER: each such response has it
  local name=$1 status=$2 header=$3 total with
  total=$(trace_headers "$status" "CSeq" | wc -l)
  with=$(trace_headers "$status" "$header" | wc -l)
  [ "$total" -gt 0 ] && [ "$with" -ge "$total" ]
  check "$name: $with of $total received $status responses carry $header" $?
}

assert_no_body() {  # assert_no_body NAME STATUS[/METHOD]: each such response has Content-Length: 0
  local name=$1 status=$2 total zero
  total=$(trace_headers "$status" "CSeq" | wc -l)
  zero=$(trace_headers "$status" "Content-Length" | grep -cE '^[^:]*:[[:space:]]*0[[:space:]]*$')
  [ "$total" -gt 0 ] && [ "$zero" -eq "$total" ]
  check "$name: $zero of $total received $status responses have Content-Length: 0" $?
}

assert_one_tag_per_call() {  # assert_one_tag_per_call NAME: no call saw two different To tags
  local name=$1 bad ok=0
  bad=$(trace_tag_conflicts)
  [ -z "$bad" ] || ok=1
  # (the status goes through a variable: a $(...) in check's message would reset $?)
  check "$name: calls with more than one To tag in responses: $(head -n 3 <<<"$bad" | tr '\n' ' ')" $ok
}

assert_retrans_absorbed() {  # assert_retrans_absorbed NAME MIN_NON_INVITE MIN_INVITE: from the trace,
  # every transaction was answered, every repeated final response repeats the first byte for byte,
  # and at least MIN_* repeats were seen (so the retransmission paths did run)
  local name=$1 min_non=$2 min_inv=$3 sum
  sum=$(sipp_trace_summary)
  echo "  $name: $(head -n 1 <<<"$sum")"
  assert_eq "$name: unanswered transactions" "$(summary_field "$sum" unanswered)" 0
  assert_eq "$name: repeated responses that differ from the first copy" "$(summary_field "$sum" differing)" 0
  [ "$(summary_field "$sum" differing)" = 0 ] || sed -n '2,6p' <<<"$sum" >&2
  assert_ge "$name: non-INVITE final responses repeated for retransmitted requests" \
    "$(summary_field "$sum" repeated_non_invite)" "$min_non"
  assert_ge "$name: INVITE final responses retransmitted until the ACK" \
    "$(summary_field "$sum" repeated_invite)" "$min_inv"
}

it_finish() {  # it_finish: prints the totals; returns 1 if any check failed
  echo "$IT_PASSES passed, $IT_FAILURES failed"
  [ "$IT_FAILURES" -eq 0 ]
}

# ---- slapd (OpenLDAP) ---------------------------------------------------------------------------
# A real slapd on loopback, as tests/support/slapd.h starts it for the C++ tests: a slapd.conf
# (core.schema + the test schema, an mdb database with suffix dc=example,dc=test, rootdn
# cn=admin,dc=example,dc=test / admin-secret, no TLS) in a folder under $IT_TMP, the LDIF loaded
# with slapadd, slapd in the foreground (-d 0) as the current user on
# ldap://127.0.0.1:$SLAPD_PORT/ only. Never the system service, never port 389. Tracked (it_track),
# stopped by PID. Sets SLAPD_DIR, SLAPD_PORT, SLAPD_URI, SLAPD_PID (= $IT_LAST_PID); slapd's own
# output goes to $SLAPD_DIR/slapd.out.

_slapd_accepts() {  # _slapd_accepts PORT: a TCP connection to 127.0.0.1:PORT succeeds
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_slapd_launch() {  # _slapd_launch: starts slapd from $SLAPD_DIR on $SLAPD_PORT, waits until it
  # accepts (10 s); returns 1 if it exits or does not accept
  local i
  /usr/sbin/slapd -d 0 -f "$SLAPD_DIR/slapd.conf" -h "ldap://127.0.0.1:$SLAPD_PORT/" \
    </dev/null >>"$SLAPD_DIR/slapd.out" 2>&1 &
  SLAPD_PID=$!
  IT_LAST_PID=$SLAPD_PID
  IT_LAST_LOG=$SLAPD_DIR/slapd.out
  it_track "$SLAPD_PID"
  for ((i = 0; i < 200; i++)); do
    kill -0 "$SLAPD_PID" 2>/dev/null || { wait "$SLAPD_PID" 2>/dev/null; return 1; }
    _slapd_accepts "$SLAPD_PORT" && return 0
    sleep 0.05
  done
  it_stop "$SLAPD_PID" 2
  return 1
}

start_slapd() {  # start_slapd DIR LDIF [SCHEMA=tests/data/ldap/sipedge.schema]: slapd on a free
  # loopback port serving LDIF; DIR (created; relative: under $IT_TMP) holds its configuration,
  # database and output
  local dir=$1 ldif=$2 schema=${3:-$IT_REPO_DIR/tests/data/ldap/sipedge.schema} attempt
  [[ "$dir" == /* ]] || dir=$IT_TMP/$dir
  mkdir -p "$dir/db" || return 1
  SLAPD_DIR=$(cd "$dir" && pwd)
  cat >"$SLAPD_DIR/slapd.conf" <<SLAPD_CONF
include /etc/ldap/schema/core.schema
include $schema
pidfile $SLAPD_DIR/slapd.pid
argsfile $SLAPD_DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
rootpw admin-secret
directory $SLAPD_DIR/db
index objectClass eq
SLAPD_CONF
  if ! /usr/sbin/slapadd -f "$SLAPD_DIR/slapd.conf" -l "$ldif" >"$SLAPD_DIR/slapadd.out" 2>&1; then
    echo "start_slapd: slapadd failed:" >&2
    tail -n 20 "$SLAPD_DIR/slapadd.out" >&2
    return 1
  fi
  # A port free a moment ago may be taken by the time slapd binds it: try another.
  for ((attempt = 0; attempt < 5; attempt++)); do
    SLAPD_PORT=$(free_port) || return 1
    SLAPD_URI=ldap://127.0.0.1:$SLAPD_PORT
    _slapd_launch && return 0
  done
  echo "start_slapd: slapd did not accept on 127.0.0.1:$SLAPD_PORT:" >&2
  tail -n 20 "$SLAPD_DIR/slapd.out" >&2
  return 1
}

stop_slapd() {  # stop_slapd: stops the slapd start_slapd/restart_slapd started (by PID), waits
  # until its port refuses connections
  local i
  it_stop "$SLAPD_PID" 5
  for ((i = 0; i < 100; i++)); do
    _slapd_accepts "$SLAPD_PORT" || return 0
    sleep 0.05
  done
  echo "stop_slapd: 127.0.0.1:$SLAPD_PORT still accepts" >&2
  return 1
}

restart_slapd() {  # restart_slapd: starts slapd again on the same port with the same data
  local attempt
  for ((attempt = 0; attempt < 5; attempt++)); do
    _slapd_launch && return 0
    sleep 0.5  # the port may still be held briefly
  done
  echo "restart_slapd: slapd did not accept on 127.0.0.1:$SLAPD_PORT again:" >&2
  tail -n 20 "$SLAPD_DIR/slapd.out" >&2
  return 1
}
