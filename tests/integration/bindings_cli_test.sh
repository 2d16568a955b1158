#!/usr/bin/env bash
# `sipedge bindings` on a location database that location_fixture wrote through the SQLite store
# (so this test never duplicates the schema): the table, --json, an AOR filter, expired bindings
# hidden, --config, exit codes, and reading while another process holds the database open and
# writes it.
# Usage: bindings_cli_test.sh SIPEDGE_BINARY LOCATION_FIXTURE_BINARY
set -u
bin=$1
fixture=$2
hold_pid=
stop_hold() {
  if [ -n "$hold_pid" ]; then
    kill "$hold_pid" 2>/dev/null
    wait "$hold_pid" 2>/dev/null
  fi
}
CLI_CLEANUP=stop_hold
# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# Fields: AOR|CONTACT|Q|EXPIRES_IN|INSTANCE|REG_ID|RECEIVED|SIDE|USER_AGENT|PATH,PATH
db=$tmp/bindings.sqlite
"$fixture" "$db" \
  'alice@acme.example|sip:alice@192.0.2.1:5060|0.5|3600|<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>|1|udp:192.0.2.1:5060|internal|Softphone "Beta" 2.0\x|<sip:p1.acme.example;lr>,<sip:p2.acme.example;lr>' \
  'alice@acme.example|sip:alice@198.51.100.7:5061;transport=tls|1|600|||tls:198.51.100.7:40001|internal|Desk' \
  'bob@globex.example|sip:bob@203.0.113.9:5061;transport=tls|0.25|7200|||tls:203.0.113.9:5061|external|' \
  'old@acme.example|sip:old@192.0.2.50|1|-60|||udp:192.0.2.50:5060|internal|Stale'
check "fixture wrote the database: exit $?" $?

# The table: a header, then by AOR and use order (q 1 before 0.5); the expired one is hidden.
# EXPIRES counts down from the fixture's write, so it is matched loosely.
expect_exit "table" 0 "$bin" bindings --database "$db"
expect_count "table" 4
head -1 "$tmp/out" | grep -qE '^AOR +CONTACT +Q +EXPIRES +INSTANCE +REG-ID +RECEIVED +SIDE +USER-AGENT +PATH$'
check "table: header: $(head -1 "$tmp/out")" $?
sed -n 2p "$tmp/out" | grep -qE '^alice@acme\.example +sip:alice@198\.51\.100\.7:5061;transport=tls +1 +(59[0-9]|600)s +- +- +tls:198\.51\.100\.7:40001 +internal +Desk +-$'
check "table: alice's first binding: $(sed -n 2p "$tmp/out")" $?
sed -n 3p "$tmp/out" | grep -qE '^alice@acme\.example +sip:alice@192\.0\.2\.1:5060 +0\.5 +(35[0-9][0-9]|3600)s +<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6> +1 +udp:192\.0\.2\.1:5060 +internal +Softphone "Beta" 2\.0\\x +<sip:p1\.acme\.example;lr>,<sip:p2\.acme\.example;lr>$'
check "table: alice's second binding: $(sed -n 3p "$tmp/out")" $?
sed -n 4p "$tmp/out" | grep -qE '^bob@globex\.example +sip:bob@203\.0\.113\.9:5061;transport=tls +0\.25 +(7[01][0-9][0-9])s +- +- +tls:203\.0\.113\.9:5061 +external +- +-$'
check "table: bob: $(sed -n 4p "$tmp/out")" $?
expect_no "table: expired" "old@acme.example"

# --json: one object per line, strings escaped.
expect_exit "json" 0 "$bin" bindings --database "$db" --json
expect_count "json" 3
sed -n 2p "$tmp/out" | sed -E 's/"expires":[0-9]+/"expires":E/; s/"expires_in":[0-9]+/"expires_in":N/; s/"updated":[0-9]+/"updated":U/' >"$tmp/alice.json"
grep -qxF '{"aor":"alice@acme.example","contact":"sip:alice@192.0.2.1:5060","q":0.5,"expires":E,"expires_in":N,"call_id":"fixture-sip:alice@192.0.2.1:5060","cseq":1,"instance":"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>","reg_id":1,"path":["<sip:p1.acme.example;lr>","<sip:p2.acme.example;lr>"],"received":"udp:192.0.2.1:5060","side":"internal","user_agent":"Softphone \"Beta\" 2.0\\x","updated":U}' "$tmp/alice.json"
check "json: alice's second binding: $(cat "$tmp/alice.json")" $?
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/out"
  check "json: every line parses" $?
fi
expect_no "json: expired" "old@acme.example"

# An AOR filter, as user@host or a URI (host case-insensitive).
expect_exit "aor" 0 "$bin" bindings bob@globex.example --database "$db"
expect_count "aor" 2
expect_exit "aor as URI" 0 "$bin" bindings 'sip:alice@ACME.example' --database "$db" --json
expect_count "aor as URI" 2
expect_exit "unknown aor" 3 "$bin" bindings carol@acme.example --database "$db"
expect_count "unknown aor" 0
expect_err "unknown aor" "sipedge bindings: carol@acme.example has no bindings"
expect_exit "expired aor" 3 "$bin" bindings old@acme.example --database "$db"

# --config: [registrar] database, relative to the configuration file.
cat >"$tmp/edge.toml" <<'EOF'
[server]
domains = ["acme.example"]

[[listeners]]
transport = "udp"
address = "127.0.0.1:5060"
side = "internal"

[registrar]
database = "bindings.sqlite"
EOF
expect_exit "config" 0 "$bin" bindings --config "$tmp/edge.toml" bob@globex.example
expect_count "config" 2
sed '/^\[registrar\]/,$d' "$tmp/edge.toml" >"$tmp/memory.toml"
expect_exit "config without database" 1 "$bin" bindings --config "$tmp/memory.toml"
expect_err "config without database" \
  "sipedge bindings: $tmp/memory.toml has no [registrar] database: bindings are kept in memory only (nothing to read)"
expect_exit "missing config" 1 "$bin" bindings --config "$tmp/none.toml"

# Errors: a missing file (not created), a file that is not a database, another database.
expect_exit "missing file" 1 "$bin" bindings --database "$tmp/none.sqlite"
expect_err "missing file" "sipedge bindings: cannot open $tmp/none.sqlite: unable to open database file"
[ ! -e "$tmp/none.sqlite" ]
check "missing file: not created" $?
head -c 8192 /dev/urandom | tr '\0' x >"$tmp/garbage.sqlite"
expect_exit "not a database" 1 "$bin" bindings --database "$tmp/garbage.sqlite"
expect_err "not a database" "sipedge bindings: cannot open $tmp/garbage.sqlite: file is not a database"
cp "$tmp/edge.toml" "$tmp/text.sqlite"
expect_exit "text file" 1 "$bin" bindings --database "$tmp/text.sqlite"

# Usage errors.
expect_exit "no database" 2 "$bin" bindings
expect_exit "both sources" 2 "$bin" bindings --database "$db" --config "$tmp/edge.toml"
expect_exit "unknown option" 2 "$bin" bindings --database "$db" --csv
expect_exit "two aors" 2 "$bin" bindings a@b c@d --database "$db"

# Another process holds the database open and rewrites it (WAL) while we read.
live=$tmp/live.sqlite
"$fixture" --hold "$live" 'dave@acme.example|sip:dave@192.0.2.4|1|3600' \
  'erin@acme.example|sip:erin@192.0.2.5|0.8|3600' >"$tmp/hold.out" 2>"$tmp/hold.err" &
hold_pid=$!
for _ in $(seq 1 100); do
  grep -q ready "$tmp/hold.out" 2>/dev/null && break
  sleep 0.1
done
grep -q ready "$tmp/hold.out"
check "hold: fixture ready ($(cat "$tmp/hold.err"))" $?
[ -e "$live-wal" ]
check "hold: in WAL mode" $?
for i in 1 2 3 4 5; do
  expect_exit "while held $i" 0 "$bin" bindings --database "$live" --json
  expect_count "while held $i" 2
done
expect_exit "while held, aor" 0 "$bin" bindings erin@acme.example --database "$live"
expect_line "while held, aor" "$(head -1 "$tmp/out")"
grep -qE '^erin@acme\.example +sip:erin@192\.0\.2\.5 +0\.8 ' "$tmp/out"
check "while held, aor: $(cat "$tmp/out")" $?
kill "$hold_pid"
wait "$hold_pid"
check "hold: fixture stopped cleanly: exit $?" $?
hold_pid=
expect_exit "after close" 0 "$bin" bindings --database "$live"
expect_count "after close" 3

cli_finish bindings_cli
