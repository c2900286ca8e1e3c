#!/usr/bin/env bash
# Install everything Dockyard needs on Debian 12 (run as root): kernel tools from Debian,
# Python packages into ./.venv. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nftables iproute2 busybox-static dnsutils dnsperf runc gcc libc6-dev python3-venv util-linux procps coreutils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v -i 'warning: location' || true
.venv/bin/python -c 'import dockyard, pyroute2' 
echo "dockyard installed in $(pwd)/.venv" >&2
