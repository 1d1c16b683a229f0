#!/usr/bin/env bash
# Install the Debian 12 packages slabwatch needs to build, run and test.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
        build-essential cmake pkg-config
        libev-dev libsystemd-dev libyaml-dev libjson-c-dev
        libtracefs-dev libtraceevent-dev zlib1g-dev liblzma-dev
        check
        systemd xz-utils gzip util-linux procps python3 man-db groff-base passwd prometheus
        clang libclang-rt-14-dev
        chromium
)
if [ "${1:-}" = "--devices" ]; then
        # Cross builds and kernels under qemu (scripts/cross, scripts/vmtest).
        packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
                  gcc-mipsel-linux-gnu libc6-dev-mipsel-cross qemu-user-static
                  qemu-system-x86 qemu-system-mips qemu-system-arm file cpio)
fi
if [ "${1:-}" = "--runtime-only" ]; then
        packages=(build-essential cmake pkg-config libev-dev libsystemd-dev libyaml-dev
                  libjson-c-dev libtracefs-dev libtraceevent-dev zlib1g-dev liblzma-dev)
fi

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
