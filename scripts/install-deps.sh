#!/usr/bin/env bash
# Installs what linecap needs to build, test and run its demos, from Debian's
# packages (the network-namespace lab needs iproute2, ethtool, iperf3 and
# ping; the demo's plot, gnuplot; `linecapctl top`, ncurses, and its test,
# tmux; management over TLS, OpenSSL (and openssl(1) for its test's
# certificates); the Debian package, debhelper, lintian and fakeroot; the
# unit files' check, systemd's systemd-analyze; the metrics test, curl and the
# Prometheus server with promtool). Does nothing when everything is already
# there.
#
# The prometheus package ships a service that would listen on port 9090 of
# every address with its default config. The tests run their own
# Prometheus as a child on 127.0.0.1, so the service is never started: it
# is installed with a policy-rc.d that refuses every start, and left
# disabled (systemd unit and SysV script).
set -euo pipefail

pkgs=(
    build-essential pkg-config meson ninja-build
    libdpdk-dev dpdk dpdk-dev
    libpcap-dev libcmocka-dev libjansson-dev libmicrohttpd-dev
    clang libclang-rt-14-dev
    jq python3 curl prometheus
    debhelper dpkg-dev fakeroot lintian libmicrohttpd-dev systemd
    iproute2 ethtool iperf3 iputils-ping gnuplot-nox
    libncurses-dev tmux
    libssl-dev openssl
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

# No service a package brings may start during the install: a policy-rc.d
# of our own refuses every start, unless the system has one already.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" > /dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
fi
rc=0
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
if [ "$own_policy" = 1 ]; then
    $SUDO rm -f "$policy"
fi
[ "$rc" -eq 0 ] || exit "$rc"

# The Prometheus service, if this run installed it: disabled (the package
# enables it), and stopped where systemd runs and something started it.
for p in "${missing[@]}"; do
    [ "$p" = prometheus ] || continue
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now prometheus.service || true
    else
        $SUDO env DPKG_MAINTSCRIPT_PACKAGE=prometheus \
            deb-systemd-helper disable prometheus.service || true
    fi
    # The package's SysV script too, for a system booted without systemd.
    $SUDO update-rc.d prometheus disable > /dev/null 2>&1 || true
done
