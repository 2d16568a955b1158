#!/usr/bin/env bash
# SIP parser benchmark (issue 2): sipedge vs sofia-sip vs libosip2.
#
# Configures a separate optimized build (build-bench: Release with -O2, no tests, no sanitizers),
# builds bench/sip_parse_bench, runs it (5 repetitions, aggregates only) and prints ns/iteration,
# items/s and the sipedge/sofia-sip and sipedge/libosip2 throughput ratios (medians).
# The repetitions of all benchmarks are interleaved in random order, so that the host's slow and
# fast periods (this is a shared VM: run-to-run noise of 30% was seen) hit every library alike.
#
# Usage: bench/run-parse-bench.sh [extra benchmark flags, e.g. --benchmark_filter=invite]
# Environment: BUILD_DIR (default <repo>/build-bench), MIN_TIME (seconds per run, default 1),
#              REPETITIONS (default 5), JSON_OUT (default $BUILD_DIR/sip_parse_bench.json).
# Runtime: about 95 s for the benchmark itself (2 cores), plus up to WAIT_IDLE and the build.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
min_time="${MIN_TIME:-1}"
repetitions="${REPETITIONS:-5}"
json_out="${JSON_OUT:-$build_dir/sip_parse_bench.json}"

# ---- dependencies (idempotent) ----
bash "$repo/tools/install-deps.sh" bench

# ---- build (Release, -O2 like the distribution builds of sofia-sip and libosip2) ----
cmake -S "$repo" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DSIPEDGE_BENCH=ON -DSIPEDGE_TESTS=OFF -DSIPEDGE_FUZZ=OFF -DSIPEDGE_SANITIZE= \
  >/dev/null
cmake --build "$build_dir" --target sip_parse_bench

# ---- run ----
# Wait (up to WAIT_IDLE seconds, default 120) until the CPUs are quiet: over one second, less
# than 15% of one core busy (steal included). The load average reacts too slowly for this.
busy_pct() {
  local a1 a2 a3 a4 a5 a6 a7 a8 b1 b2 b3 b4 b5 b6 b7 b8
  read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ </proc/stat
  sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ </proc/stat
  local busy=$(( (b1 + b2 + b3 + b6 + b7 + b8) - (a1 + a2 + a3 + a6 + a7 + a8) ))
  local total=$(( busy + (b4 + b5) - (a4 + a5) ))
  echo $(( total > 0 ? busy * 100 * $(nproc) / total : 0 ))
}
waited=0
while (( $(busy_pct) > 15 && waited < ${WAIT_IDLE:-120} )); do
  if (( waited == 0 )); then echo "waiting for other processes to go quiet..." >&2; fi
  waited=$((waited + 5))
  sleep 4
done
busy="$(busy_pct)"
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //');" \
     "other load before the run: ${busy}% of one core; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if (( busy > 15 )); then
  echo "WARNING: something else is using the CPUs; the numbers will be noisy" >&2
fi
cmd=("$build_dir/bench/sip_parse_bench"
     --benchmark_repetitions="$repetitions"
     --benchmark_report_aggregates_only=true
     --benchmark_min_time="$min_time"
     --benchmark_enable_random_interleaving=true
     --benchmark_format=console
     --benchmark_out_format=json --benchmark_out="$json_out"
     "$@")
echo "+ ${cmd[*]}"
"${cmd[@]}"

# ---- summary ----
python3 - "$json_out" <<'EOF'
import json, sys

data = json.load(open(sys.argv[1]))
med = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    lib, msg = b["run_name"].split("/", 1)
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    med[(lib, msg)] = (b["cpu_time"] * unit, b["items_per_second"], b["bytes_per_second"])

order = ["invite_sdp", "ok_200", "via20"]
msgs = sorted({msg for (_, msg) in med}, key=lambda m: (order.index(m) if m in order else 99, m))
libs = ["BM_sipedge_parse", "BM_sofia_parse", "BM_osip_parse", "BM_sipedge_b2bua"]

print()
reps = next((b["repetitions"] for b in data["benchmarks"] if "repetitions" in b), "?")
ctx = data["context"]
print("medians of %s repetitions; sipedge build: %s; libbenchmark: %s" % (
    reps, ctx.get("sipedge_build", "?"), ctx.get("library_build_type", "?")))
print()
print("| benchmark | message | ns/iter (CPU) | items/s | MB/s |")
print("|---|---|---:|---:|---:|")
for lib in libs:
    for msg in msgs:
        if (lib, msg) in med:
            ns, ips, bps = med[(lib, msg)]
            print("| %s | %s | %.0f | %s | %.1f |" % (lib, msg, ns, f"{ips:,.0f}", bps / 1e6))
print()
print("| message | sipedge/sofia-sip | sipedge/libosip2 | target >= 2.5x sofia-sip |")
print("|---|---:|---:|---|")
for msg in msgs:
    se = med.get(("BM_sipedge_parse", msg))
    so = med.get(("BM_sofia_parse", msg))
    os_ = med.get(("BM_osip_parse", msg))
    if not (se and so and os_):
        continue
    r_so = se[1] / so[1]
    r_os = se[1] / os_[1]
    print("| %s | %.2fx | %.2fx | %s |" % (msg, r_so, r_os, "met" if r_so >= 2.5 else "NOT met"))
EOF
