#!/usr/bin/env bash
# Install what pqfeed needs to build and test on Debian: -dev packages,
# test servers and peers (apt; b3sum is test_blake3's independent reference),
# and interop readers (npm, from the lock file).
# Safe to repeat: does nothing when everything is present.
set -eu
cd "$(dirname "$0")/.."
APT_PKGS=(build-essential pkg-config clang libclang-rt-14-dev
  libzstd-dev liblz4-dev zlib1g-dev libsnappy-dev libbrotli-dev libxxhash-dev libisal-dev
  libcurl4-openssl-dev libexpat1-dev libssl-dev libyaml-dev libsqlite3-dev libpq-dev
  libcmocka-dev sqlite3 strace
  b3sum
  ceph-mon ceph-osd radosgw ceph-common awscli rclone time
  postgresql
  ${PQF_EXTRA_APT:-})
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -f tests/interop/package.json ] && [ "${PQF_NO_NPM:-0}" != 1 ]; then
    if [ ! -d tests/interop/node_modules ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules/.stamp ]; then
        echo "deps: npm ci in tests/interop"
        (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
    fi
fi
