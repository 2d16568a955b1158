# Shared by the CLI tests (parse_cli_test.sh, check_config_test.sh, decisions_cli_test.sh): a
# temporary directory, pass/fail counters and the checks on a command's exit code. Source it
# after `set -u`; then call cli_finish NAME at the end (prints "NAME: N passed, M failed" and
# returns 1 on any failure). A script that starts processes sets CLI_CLEANUP to a function that
# stops them; it runs before the directory is removed.
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

cli_finish() {  # cli_finish NAME
  echo "$1: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
