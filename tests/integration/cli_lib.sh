# Shared by the CLI tests (parse_cli_test.sh, check_config_test.sh, decisions_cli_test.sh,
# bindings_cli_test.sh, policy_cli_test.sh): a temporary directory, pass/fail counters, the check
# on a command's exit code and those on its output. Source it after `set -u`; then call
# cli_finish NAME at the end (prints "NAME: N passed, M failed" and returns 1 on any failure).
# A script that starts processes sets CLI_CLEANUP to a function that stops them; it runs before
# the directory is removed.
tmp=$(mktemp -d)
failures=0
passes=0
CLI_CLEANUP=${CLI_CLEANUP:-}

_cli_cleanup() {
  [ -n "$CLI_CLEANUP" ] && "$CLI_CLEANUP"
  rm -rf "$tmp"
}
trap _cli_cleanup EXIT

check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then
    passes=$((passes + 1))
  else
    echo "FAIL: $1"
    failures=$((failures + 1))
  fi
}

expect_exit() {  # expect_exit NAME WANT CMD...: stdout in $tmp/out, stderr in $tmp/err
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ]
  check "$name: exit $got, want $want (stderr: $(head -c 600 "$tmp/err"))" $?
}

# Checks on the last expect_exit's output files.
expect_line() {  # expect_line NAME EXACT-LINE: a line of stdout
  grep -qxF -- "$2" "$tmp/out"
  check "$1: missing line '$2' in stdout: $(head -c 800 "$tmp/out")" $?
}

expect_err() {  # expect_err NAME EXACT-LINE: a line of stderr
  grep -qxF -- "$2" "$tmp/err"
  check "$1: missing line '$2' in stderr: $(head -c 800 "$tmp/err")" $?
}

expect_count() {  # expect_count NAME N: stdout has N lines
  local got
  got=$(wc -l <"$tmp/out")
  [ "$got" -eq "$2" ]
  check "$1: $got lines, want $2: $(head -c 800 "$tmp/out")" $?
}

expect_no() {  # expect_no NAME TEXT: TEXT nowhere in stdout
  ! grep -qF -- "$2" "$tmp/out"
  check "$1: unexpected '$2' in: $(head -c 800 "$tmp/out")" $?
}

cli_finish() {  # cli_finish NAME
  echo "$1: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
