#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a bounded time on a copy of
# its committed seed corpus, with its dictionary (dict_for). Fails on any crash, leak, timeout,
# OOM or property violation and prints the reproducer's path.
#
#   FUZZ_SECONDS=60 bash .ci/fuzz.sh               # every target, 60 s each (the default)
#   FUZZ_TARGETS="sip_uri" bash .ci/fuzz.sh        # a subset
#   FUZZ_BUILD_DIR=/tmp/bf bash .ci/fuzz.sh        # another build directory (default build-fuzz)
#
# Reproduce a failure with: <build>/fuzz/<target>_fuzz <reproducer>
# The repository is never written to: new corpus entries and artifacts stay in the build dir.

set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
all_targets="sip_message sip_uri sip_stream_framer txn_fsm"
all_targets+=" dns_answer dns_locator transport_received"
all_targets+=" config_toml identity_values policy_decide decision_record"
all_targets+=" registrar_request digest_values"
targets=${FUZZ_TARGETS:-$all_targets}

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
  echo "fuzz.sh: FUZZ_SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi

# ---- toolchain: clang and the libFuzzer runtime (idempotent) ----------------------------------
bash "$repo/tools/install-deps.sh" test

# ---- build --------------------------------------------------------------------------------------
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja \
  -DSIPEDGE_FUZZ=ON -DSIPEDGE_TESTS=OFF \
  -DSIPEDGE_SANITIZE="address;undefined" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
build_targets=()
for t in $targets; do
  build_targets+=("${t}_fuzz")
done
cmake --build "$build" --target "${build_targets[@]}"

# ---- run ----------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

max_len_for() {
  case "$1" in
    sip_uri) echo 4096 ;;
    dns_locator) echo 8192 ;;  # structured input: steps, not one message
    policy_decide) echo 4096 ;;  # a small config and a few requests
    *) echo 65536 ;;
  esac
}

# The dictionary for a target; none for dns_locator, whose bytes are choices, not a format.
dict_for() {
  case "$1" in
    dns_answer) echo "$repo/fuzz/dict/dns.dict" ;;
    dns_locator) echo "" ;;
    policy_decide) echo "" ;;  # structured input: choices, not text
    decision_record) echo "$repo/fuzz/dict/decision.dict" ;;
    registrar_request) echo "$repo/fuzz/dict/registrar.dict" ;;
    digest_values) echo "$repo/fuzz/dict/digest.dict" ;;
    config_toml) echo "$repo/fuzz/dict/toml.dict" ;;
    identity_values) echo "$repo/fuzz/dict/sip.dict" ;;
    *) echo "$repo/fuzz/dict/sip.dict" ;;
  esac
}

failed=()
summary=()
for t in $targets; do
  bin="$build/fuzz/${t}_fuzz"
  seeds="$repo/fuzz/corpus/$t"
  work="$build/fuzz-run/$t"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz.sh: $bin was not built" >&2
    failed+=("$t")
    continue
  fi
  if [[ -z "$(ls -A "$seeds" 2>/dev/null)" ]]; then
    echo "fuzz.sh: seed corpus $seeds is missing or empty" >&2
    failed+=("$t")
    continue
  fi
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$seeds/." "$work/corpus/"
  log="$work/fuzz.log"
  echo "=== $t: ${seconds}s, corpus copy in $work/corpus, log $log"
  status=0
  dict_args=()
  dict=$(dict_for "$t")
  if [[ -n "$dict" ]]; then
    dict_args=(-dict="$dict")
  fi
  "$bin" "$work/corpus" \
    "${dict_args[@]}" \
    -max_total_time="$seconds" \
    -max_len="$(max_len_for "$t")" \
    -rss_limit_mb=2048 \
    -timeout=10 \
    -artifact_prefix="$work/artifacts/" \
    -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  # Anything libFuzzer wrote to the artifact prefix but slow units is a failure.
  mapfile -t artifacts < <(find "$work/artifacts" -type f ! -name 'slow-unit-*' | sort)
  stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$stats")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if (( status != 0 )) || (( ${#artifacts[@]} > 0 )); then
    failed+=("$t")
    echo "--- $t FAILED (exit $status); end of log:"
    tail -n 60 "$log"
    for a in "${artifacts[@]}"; do
      echo "fuzz.sh: reproducer: $a  (run: $bin $a)"
    done
    summary+=("$t: FAILED exit=$status cov=${cov:-?} execs=${execs:-?} exec/s=${rate:-?}")
  else
    echo "--- $t ok: ${stats}"
    summary+=("$t: ok cov=${cov:-?} execs=${execs:-?} exec/s=${rate:-?} corpus=$(ls "$work/corpus" | wc -l)")
  fi
done

echo "=== summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
if (( ${#failed[@]} > 0 )); then
  echo "fuzz.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all targets passed"
