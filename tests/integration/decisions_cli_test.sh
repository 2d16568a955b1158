#!/usr/bin/env bash
# `sipedge decisions` as an operator runs it on a log set (rotated files + current, one malformed
# line): each filter, --json, --summary, --follow (across a rotation), and bad arguments.
# Usage: decisions_cli_test.sh SIPEDGE_BINARY
set -u
bin=$1
follow_pid=
stop_follow() {
  if [ -n "$follow_pid" ]; then
    kill "$follow_pid" 2>/dev/null
  fi
}
CLI_CLEANUP=stop_follow
# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# rec TIME VERDICT STATUS RULE PARTNER SRC METHOD CALL-ID: one line as the writer writes it.
rec() {
  printf '{"time":"%s","id":"d-%s","verdict":"%s","status":%s,"reason":"","rule":"%s","partner":"%s","direction":"inbound","transport":"tls","src":"%s","cert_subject":"CN=edge.%s.example","cert_sans":["DNS:edge.%s.example"],"cert_fingerprint":"AB:CD","country":"US","method":"%s","call_id":"%s","from":"sip:a@%s.example","to":"sip:b@acme.example","ruri":"sip:b@acme.example","mapped":""}\n' \
    "$1" "$8" "$2" "$3" "$4" "$5" "$6" "$5" "$5" "$7" "$8" "$5"
}

log=$tmp/decisions.log
{
  rec 2026-11-22T10:00:00.000Z allow 0 'partners[globex]' globex 203.0.113.7:5061 INVITE c1
  rec 2026-11-22T10:30:00.000Z deny 403 'partners[globex].methods' globex 203.0.113.7:5062 MESSAGE c2
} >"$log.2"
{
  rec 2026-11-22T11:00:00.000Z deny 403 'partners[initech].networks' initech 198.51.100.9:5061 INVITE c3
  echo '{"time":"2026-11-22T11:10:00.000Z","verdict":'
  rec 2026-11-22T11:20:00.000Z throttle 503 'partners[globex].rate_limits.requests' globex 203.0.113.7:5063 INVITE c4
} >"$log.1"
{
  rec 2026-11-22T12:00:00.000Z allow 0 'partners[initech]' initech 198.51.100.9:5061 OPTIONS c5
  rec 2026-11-22T12:30:00.000Z deny 403 'partners[globex].methods' globex 192.0.2.1:5061 MESSAGE c6
} >"$log"

# Everything, oldest first; the malformed line is reported with file:line and the run exits 1.
expect_exit "all" 1 "$bin" decisions "$log"
expect_count "all" 6
head -1 "$tmp/out" | grep -q '^2026-11-22T10:00:00.000Z allow 0 ' && tail -1 "$tmp/out" | grep -q '^2026-11-22T12:30:00.000Z deny'
check "all: oldest first" $?
expect_line "human line" "2026-11-22T10:30:00.000Z deny 403 partners[globex].methods globex inbound tls 203.0.113.7:5062 MESSAGE sip:a@globex.example -> sip:b@acme.example call-id=c2"
expect_err "malformed" "sipedge decisions: $log.1:2: malformed decision: at byte 37: \"verdict\": unexpected end of line in a value"
expect_err "malformed count" "sipedge decisions: 1 malformed line(s)"

# Filters (each avoids the malformed line through the raw prefilter or the time window).
expect_exit "partner+verdict" 0 "$bin" decisions --partner globex --verdict deny "$log"
expect_count "partner+verdict" 2
expect_exit "since/until absolute" 0 "$bin" decisions --since 2026-11-22T12:00:00Z --until 2026-11-22T12:30:00Z "$log"
expect_count "since/until absolute" 1
expect_line "since/until absolute" "2026-11-22T12:00:00.000Z allow 0 partners[initech] initech inbound tls 198.51.100.9:5061 OPTIONS sip:a@initech.example -> sip:b@acme.example call-id=c5"
expect_exit "since with offset" 0 "$bin" decisions --since 2026-11-22T13:15:00+01:00 "$log"
expect_count "since with offset" 1
expect_exit "relative since" 0 "$bin" decisions --since 1h "$log"  # the records are old
expect_count "relative since" 0
expect_exit "relative until" 1 "$bin" decisions --until 1h "$log"  # everything, the bad line too
expect_count "relative until" 6
expect_exit "rule glob" 0 "$bin" decisions --rule 'partners[*].methods' --rule '*.networks' --call-id c2 --call-id c3 --call-id c6 "$log"
expect_count "rule glob" 3
expect_exit "rule exact" 0 "$bin" decisions --rule 'partners[globex].rate_limits.requests' --partner globex "$log"
expect_count "rule exact" 1
expect_exit "method" 0 "$bin" decisions --method message --partner globex "$log"
expect_count "method" 2
expect_exit "src ip" 0 "$bin" decisions --src 203.0.113.7 --partner globex "$log"
expect_count "src ip" 3
expect_exit "src ip:port" 0 "$bin" decisions --src 203.0.113.7:5062 --partner globex "$log"
expect_count "src ip:port" 1
expect_exit "call-id json" 0 "$bin" decisions --json --call-id c4 "$log"
expect_count "call-id json" 1
sed -n 3p "$log.1" >"$tmp/want"
cmp -s "$tmp/out" "$tmp/want"
check "--json prints the line unchanged" $?
expect_exit "rotated file alone" 0 "$bin" decisions --json "$log.2"
expect_count "rotated file alone" 2

# --summary.
expect_exit "summary" 1 "$bin" decisions --summary "$log"
expect_line "summary total" "decisions: 6"
expect_line "summary deny" "             3  deny"
expect_line "summary allow" "             2  allow"
expect_line "summary throttle" "             1  throttle"
expect_line "summary top partner" "             3  globex"
expect_line "summary top rule" "             2  partners[globex].methods"
expect_line "summary top source" "             3  203.0.113.7"
expect_exit "summary filtered" 0 "$bin" decisions --summary --partner initech "$log"
expect_line "summary filtered" "decisions: 2"

# Bad arguments: exit 2 with a message.
expect_exit "no log" 2 "$bin" decisions
expect_err "no log" "sipedge decisions: which log? give the decision log's path (LOG...) or --config FILE to read [decision_log] path from"
expect_exit "bad since" 2 "$bin" decisions --since yesterday "$log"
grep -q "^sipedge decisions: --since 'yesterday' is neither an RFC 3339 time" "$tmp/err"
check "bad since message" $?
expect_exit "bad until" 2 "$bin" decisions --until 5y "$log"
expect_exit "bad verdict" 2 "$bin" decisions --verdict denied "$log"
expect_err "bad verdict" "sipedge decisions: --verdict 'denied': expected allow, deny, redirect or throttle"
expect_exit "summary+json" 2 "$bin" decisions --summary --json "$log"
expect_exit "summary+follow" 2 "$bin" decisions --summary --follow "$log"
expect_exit "unknown option" 2 "$bin" decisions --bogus "$log"
expect_exit "missing file" 1 "$bin" decisions "$tmp/none.log"
expect_err "missing file" "sipedge decisions: $tmp/none.log: no such file (nor rotated files $tmp/none.log.N)"

# --config: the path comes from [decision_log].
cat >"$tmp/sipedge.toml" <<TOML
[decision_log]
path = "decisions.log"
TOML
expect_exit "config" 0 "$bin" decisions --config "$tmp/sipedge.toml" --call-id c5
expect_count "config" 1

# --follow: the existing matching lines, then new ones, across a rotation, until SIGTERM (exit 0).
flog=$tmp/follow.log
rec 2026-11-22T12:00:00.000Z deny 403 r globex 192.0.2.1:5061 INVITE f1 >"$flog"
"$bin" decisions --follow --json --verdict deny "$flog" >"$tmp/follow.out" 2>"$tmp/follow.err" &
follow_pid=$!
wait_lines() {  # wait_lines N: up to 10 s for N lines in follow.out
  for _ in $(seq 100); do
    [ "$(wc -l <"$tmp/follow.out")" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_lines 1
check "follow: existing line" $?
rec 2026-11-22T12:00:01.000Z allow 0 r globex 192.0.2.1:5061 INVITE f2 >>"$flog"
rec 2026-11-22T12:00:02.000Z deny 403 r globex 192.0.2.1:5061 INVITE f3 >>"$flog"
wait_lines 2
check "follow: appended line" $?
mv "$flog" "$flog.1"  # rotation: a new file at the path
rec 2026-11-22T12:00:03.000Z deny 403 r globex 192.0.2.1:5061 INVITE f4 >"$flog"
wait_lines 3
check "follow: line after rotation" $?
kill -TERM "$follow_pid"
for _ in $(seq 50); do
  kill -0 "$follow_pid" 2>/dev/null || break
  sleep 0.1
done
wait "$follow_pid"
rc=$?
follow_pid=
[ "$rc" -eq 0 ]
check "follow: SIGTERM exits 0 (got $rc)" $?
[ "$(grep -o '"call_id":"f[0-9]"' "$tmp/follow.out" | tr '\n' ' ')" = '"call_id":"f1" "call_id":"f3" "call_id":"f4" ' ]
check "follow: the deny lines in order: $(cat "$tmp/follow.out")" $?

cli_finish decisions_cli_test
