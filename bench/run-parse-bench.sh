#!/usr/bin/env bash
# SIP parser benchmark (issue 2): sipedge vs sofia-sip vs libosip2.
#
# Configures a separate optimized build (build-bench: Release with -O2, no tests, no sanitizers),
# builds bench/sip_parse_bench, runs it (5 repetitions, aggregates only) and prints ns/iteration,
# items/s and the sipedge/sofia-sip and sipedge/libosip2 throughput ratios (medians).
#
# Usage: bench/run-parse-bench.sh [extra benchmark flags, e.g. --benchmark_filter=invite]
# Environment: BUILD_DIR (default <repo>/build-bench), MIN_TIME (seconds per run, default 1),
#              REPETITIONS (default 5), JSON_OUT (default $BUILD_DIR/sip_parse_bench.json).
# Runtime: about 70 s for the benchmark itself on 2 cores, plus the first build.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-bench}"
min_time="${MIN_TIME:-1}"
repetitions="${REPETITIONS:-5}"
json_out="${JSON_OUT:-$build_dir/sip_parse_bench.json}"

# ---- dependencies (idempotent) ----
deps=(cmake ninja-build g++ pkg-config python3
      libexpected-dev libcli11-dev libfmt-dev libevent-dev libssl-dev libc-ares-dev
      libmaxminddb-dev libtomlplusplus-dev
      libbenchmark-dev libosip2-dev libsofia-sip-ua-dev)
missing=()
for p in "${deps[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# ---- build (Release, -O2 like the distribution builds of sofia-sip and libosip2) ----
cmake -S "$repo" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DSIPEDGE_BENCH=ON -DSIPEDGE_TESTS=OFF -DSIPEDGE_FUZZ=OFF -DSIPEDGE_SANITIZE= \
  >/dev/null
cmake --build "$build_dir" --target sip_parse_bench

# ---- run ----
load="$(cut -d' ' -f1 /proc/loadavg)"
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load average $load"
if awk -v l="$load" 'BEGIN { exit !(l > 0.7) }'; then
  echo "WARNING: load average $load: something else is running; the numbers will be noisy" >&2
fi
cmd=("$build_dir/bench/sip_parse_bench"
     --benchmark_repetitions="$repetitions"
     --benchmark_report_aggregates_only=true
     --benchmark_min_time="$min_time"
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

msgs = []
for (_, msg) in med:
    if msg not in msgs:
        msgs.append(msg)
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
