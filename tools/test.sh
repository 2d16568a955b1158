#!/usr/bin/env bash
# The whole test suite: install, build twice (optimised, and with ASan+UBSan), run every test.
# Usage: tools/test.sh            (both builds)
#        SIPEDGE_TEST_SANITIZE=0 tools/test.sh   (optimised build only, for a quick loop)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh test
jobs=$(nproc)
passed=0
failed=0
# Runs ctest on a build dir and adds its counts to the totals.
run_ctest() {
  local dir=$1 log
  log=$(mktemp)
  set +e
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  rm -f "$log"
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  passed=$((passed + ${total:-0} - ${bad:-0}))
  failed=$((failed + ${bad:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    echo "$passed passed, $((failed > 0 ? failed : 1)) failed"
    exit 1
  fi
}

bash tools/check-layering.sh

# SIPEDGE_TESTS=ON explicitly: tools/demo.sh configures the same build dir without the tests.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIPEDGE_WERROR=ON -DSIPEDGE_TESTS=ON
cmake --build build -j "$jobs"
run_ctest build

if [ "${SIPEDGE_TEST_SANITIZE:-1}" != 0 ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSIPEDGE_WERROR=ON -DSIPEDGE_TESTS=ON \
        -DSIPEDGE_SANITIZE="address;undefined"
  cmake --build build-asan -j "$jobs"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_ctest build-asan
fi
echo "sipedge tests: $passed passed, $failed failed"

