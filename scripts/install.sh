#!/usr/bin/env bash
# Install everything Dockyard needs on Debian 12 (run as root): kernel tools from Debian,
# Python packages into ./.venv. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nftables iproute2 busybox-static dnsutils dnsperf runc gcc libc6-dev musl-tools python3-venv util-linux procps coreutils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's own interpreter where there is one, whatever python3 PATH finds first: it is what
# a fresh Debian 12 runs, and, built with PGO/LTO and a static libpython, it starts ~2 ms
# sooner than a shared-library build such as pyenv's (every CLI command pays its start).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
if [ -x .venv/bin/python ] && [ "$(readlink -f .venv/bin/python)" != "$(readlink -f "$PYTHON")" ]; then
    echo "recreating .venv with $PYTHON" >&2
    rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v -i 'warning: location' || true
# Bytecode for every module, written now: an editable install writes none, and where
# PYTHONDONTWRITEBYTECODE is set nothing ever would, so each CLI command would compile
# the modules it imports anew (~15 ms).
.venv/bin/python -m compileall -q src/dockyard >/dev/null
# The `dockyard` command: a lean launcher in place of pip's (see dockyard/cli/launcher.py).
.venv/bin/python -m dockyard.cli.launcher .venv/bin/dockyard
.venv/bin/dockyard --help >/dev/null
echo "dockyard installed in $(pwd)/.venv" >&2
