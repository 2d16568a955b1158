#!/usr/bin/env bash
# `sipedge parse` as an operator runs it: exit codes, the per-file lines, --stream, --summary.
# Usage: parse_cli_test.sh SIPEDGE_BINARY SOURCE_DIR
set -u
bin=$1
src=$2
# shellcheck source=cli_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

ex=$src/examples/messages
tor=$src/tests/data/torture

expect_exit "valid message" 0 "$bin" parse "$ex/invite.sip"
expect_line "valid message" "$ex/invite.sip: ok (600 bytes)"
expect_line "start line" "  request: INVITE sip:bob@acme.example SIP/2.0"
expect_line "typed Via" "  Via: SIP/2.0/TLS sent-by=127.0.0.10:5061 branch=z9hG4bK-partner-1 rport"
expect_line "typed From" '  From: uri=sip:jerry@partner.example display="Jerry Seinfeld" tag=a73kszlfl'
expect_line "typed CSeq" "  CSeq: 1 INVITE"
expect_line "on-demand Supported" "  Supported: 100rel,timer"
expect_line "on-demand Content-Type" "  Content-Type: application/sdp"

expect_exit "contacts with q" 0 "$bin" parse "$ex/register.sip"
expect_line "contact q/expires" "  Contact: uri=sip:bob@127.0.0.20:5060 q=0.700 expires=3600"

# Validation errors name the byte and the reason; exit 1.
expect_exit "cseq mismatch" 1 "$bin" parse "$ex/bad-cseq.sip"
expect_line "cseq mismatch" "$ex/bad-cseq.sip: error at byte 201: CSeq method does not match request method"
expect_exit "torture scalar02" 1 "$bin" parse "$tor/invalid/scalar02.dat"
expect_line "torture scalar02" "$tor/invalid/scalar02.dat: error at byte 174: Malformed CSeq: sequence number out of range"

# Several files: one bad file makes the whole run fail, the good ones are still reported.
expect_exit "mixed files" 1 "$bin" parse "$ex/invite.sip" "$ex/bad-cseq.sip"
expect_line "mixed files" "summary: 1 messages ok, 1 errors, 0 keep-alives, 838 bytes"

# A stream capture with a keep-alive between messages.
expect_exit "stream" 0 "$bin" parse --stream "$ex/tls-stream.cap"
expect_line "stream" "$ex/tls-stream.cap: ok (353 bytes, at byte 604)"
expect_line "stream" "summary: 3 messages ok, 0 errors, 1 keep-alives, 1557 bytes"

# A stream cut in the middle of a message.
head -c 900 "$ex/tls-stream.cap" >"$tmp/cut.cap"
expect_exit "truncated stream" 1 "$bin" parse --stream "$tmp/cut.cap"
expect_line "truncated stream" "$tmp/cut.cap: error at byte 957: incomplete message at end of stream"

# Missing Content-Length on a stream is an error with the offset of the message.
printf 'OPTIONS sip:a@acme.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n\r\n' >"$tmp/nocl.cap"
expect_exit "stream without Content-Length" 1 "$bin" parse --stream "$tmp/nocl.cap"
expect_line "stream without Content-Length" "$tmp/nocl.cap: error at byte 0: Missing Content-Length: required on stream transports"

# --summary over the whole torture set: totals only, grouped by reason.
expect_exit "summary" 1 "$bin" parse --summary "$tor"/valid/*.dat "$tor"/invalid/*.dat
expect_line "summary totals" "summary: 30 messages ok, 19 errors, 0 keep-alives, 25056 bytes"
expect_line "summary reason" "         3  Malformed start line: extra whitespace in request line"
! grep -q ": ok (" "$tmp/out"
check "summary prints no per-file lines" $?

# Unreadable file and usage errors.
expect_exit "missing file" 1 "$bin" parse "$tmp/does-not-exist.sip"
grep -q "does-not-exist.sip: cannot read: No such file or directory" "$tmp/err"
check "missing file message" $?
expect_exit "no file argument" 2 "$bin" parse
expect_exit "unknown subcommand" 2 "$bin" frobnicate

expect_exit "help" 0 "$bin" parse --help
grep -q -- "--stream" "$tmp/out"
check "help lists --stream" $?

# Hostile bytes: a file of random data never crashes the parser.
head -c 65536 /dev/urandom >"$tmp/random.bin"
"$bin" parse "$tmp/random.bin" >/dev/null 2>&1
[ $? -eq 1 ]
check "random bytes rejected cleanly" $?
"$bin" parse --stream "$tmp/random.bin" >/dev/null 2>&1
[ $? -eq 1 ]
check "random stream rejected cleanly" $?

cli_finish parse_cli_test
