#!/usr/bin/env bash
# `sipedge decisions` on a ~1 GB decision log (issue 5: "fast on a 1 GB log").
#
# Usage: bench/decisions-bench.sh SIPEDGE_BINARY [DIR] [BYTES]
#   DIR    where the log set is written (default /tmp/sipedge-decisions-bench; removed at the end
#          unless KEEP=1)
#   BYTES  total size (default 1 GiB), in 100 MiB files as rotation leaves them (PATH.10 ... PATH)
#
# The log comes from bench/decisions-gen.py (the writer's exact line format, varied content).
# Each query runs 3 times with the files in the page cache (one untimed read first), output to
# /dev/null; the table shows wall, user and system seconds and MB/s (log bytes / wall time).
set -euo pipefail
bin=$(readlink -f "$1")
dir=${2:-/tmp/sipedge-decisions-bench}
bytes=${3:-$((1 << 30))}
here=$(cd "$(dirname "$0")" && pwd)
log=$dir/decisions.log
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$dir"' EXIT
fi

if [ ! -f "$log" ] || [ "$(cat "$log"* | wc -c)" -lt "$bytes" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  python3 "$here/decisions-gen.py" "$log" "$bytes"
fi
total=$(cat "$log"* | wc -c)  # also warms the page cache
lines=$(cat "$log"* | wc -l)
echo "log: $log and rotated files, $total bytes, $lines decisions"
# A Call-ID from the middle of the set, for the --call-id query.
mid=$(ls "$log".* | sort -t. -k3 -n | tail -1)
call_id=$(sed -n '1000p' "$mid" | sed 's/.*"call_id":"\([^"]*\)".*/\1/')

run() {  # run NAME ARGS...
  local name=$1
  shift
  for i in 1 2 3; do
    /usr/bin/time -f '%e %U %S' -o "$dir/time" "$bin" decisions "$@" >"$dir/out" 2>"$dir/err" ||
      { echo "$name failed: $(cat "$dir/err")" >&2; exit 1; }
    read -r wall user sys <"$dir/time"
    mbs=$(awk -v b="$total" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0) ? b / 1e6 / w : 0 }')
    printf '| %-40s | %d | %6.2f | %6.2f | %5.2f | %5s | %8d |\n' "$name" "$i" "$wall" "$user" \
      "$sys" "$mbs" "$(wc -l <"$dir/out")"
  done
}

echo "| query | run | wall s | user s | sys s | MB/s | output lines |"
echo "|---|---|---|---|---|---|---|"
run "--summary" --summary "$log"
run "--partner initech --verdict deny" --partner initech --verdict deny "$log"
run "--json --call-id ID" --json --call-id "$call_id" "$log"
run "--since/--until (1 of 7 days) --json" --json --since 2026-11-18T00:00:00Z \
  --until 2026-11-19T00:00:00Z "$log"
