#!/usr/bin/env bash
# Installs what sipedge needs from Debian's packages, idempotently: only missing packages are
# installed, and the package lists are refreshed only when something is missing.
# Usage: tools/install-deps.sh [build] [test] [bench]   (default: build)
set -euo pipefail

build=(cmake ninja-build g++ pkg-config
       libevent-dev libssl-dev libc-ares-dev libmaxminddb-dev libtomlplusplus-dev
       libexpected-dev libcli11-dev libfmt-dev openssl libldap-dev
       libsqlite3-dev libjemalloc-dev)
# Unit, integration and fuzz tests: GoogleTest, clang + libFuzzer runtime, real peers (SIPp,
# dnsmasq for DNS, stunnel in front of SIPp for TLS; ss from iproute2 to wait for ports; Kamailio
# as the internal proxy; the MaxMind DB writer for test GeoIP databases).
test=(libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-format sip-tester dnsmasq-base stunnel4
      iproute2 slapd ldap-utils kamailio libmaxmind-db-writer-perl python3)
# Benchmarks compare against the two C SIP stacks Debian ships.
bench=(libbenchmark-dev libosip2-dev libsofia-sip-ua-dev python3 kamailio kamailio-tls-modules
       kamailio-redis-modules redis-server)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)
wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build[@]}") ;;
    test) wanted+=("${build[@]}" "${test[@]}") ;;
    bench) wanted+=("${build[@]}" "${bench[@]}") ;;
    *) echo "install-deps: unknown group '$g' (build, test, bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
