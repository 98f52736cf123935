#!/usr/bin/env bash
# Installs what linecap needs to build, test and run its demos, from Debian's
# packages (the network-namespace lab needs iproute2, ethtool, iperf3 and
# ping; the demo's plot, gnuplot; `linecapctl top`, ncurses, and its test,
# tmux; the Debian package, debhelper, lintian and fakeroot; the unit files'
# check, systemd's systemd-analyze). Does nothing when everything is already
# there.
set -euo pipefail

pkgs=(
    build-essential pkg-config meson ninja-build
    libdpdk-dev dpdk dpdk-dev
    libpcap-dev libcmocka-dev libjansson-dev
    clang libclang-rt-14-dev
    jq python3
    debhelper dpkg-dev fakeroot lintian libmicrohttpd-dev systemd
    iproute2 ethtool iperf3 iputils-ping gnuplot-nox
    libncurses-dev tmux
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
