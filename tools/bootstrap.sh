#!/bin/sh
# bootstrap.sh — installs the Debian 12 packages outpost needs to build, test and run.
# Run as root (or with sudo). Safe to run again: apt-get skips what is installed.
set -eu
# clang + libclang-rt-14-dev: the libFuzzer harnesses (tools/fuzz.sh); lcov: tools/coverage.sh;
# iproute2 + nftables: the bad-network tests in namespaces (tests/net); gdb: gcore, for the
# relay's core dump in integration.security_log.
pkgs="cmake gcc make pkg-config libuv1-dev libsqlite3-dev libmsgpack-dev libsodium-dev
      libcmocka-dev python3 clang libclang-rt-14-dev lcov iproute2 nftables gdb"
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
          grep -q '^install ok installed' || echo "$p"; done)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: these packages are missing: $(echo $missing); run as root to install them" >&2
    exit 3
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # a list of package names
apt-get install -y -qq --no-install-recommends $missing >/dev/null
