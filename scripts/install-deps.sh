#!/usr/bin/env bash
# Installs what linecap needs to build, test and run its demos, from Debian's
# packages (the network-namespace lab needs iproute2, ethtool, iperf3 and
# ping; the demo's plot, gnuplot; `linecapctl top`, ncurses, and its test,
# tmux; management over TLS, OpenSSL (and openssl(1) for its test's
# certificates); the Debian package, debhelper, lintian and fakeroot; the
# unit files' check, systemd's systemd-analyze; the metrics test, curl and the
# Prometheus server with promtool; the lab's proxy, v2ray). Does nothing
# when everything is already there.
#
# The prometheus package ships a service that would listen on port 9090 of
# every address with its default config. The tests run their own
# Prometheus as a child on 127.0.0.1, so the service is never started: it
# is installed with a policy-rc.d that refuses every start, and left
# disabled (systemd unit and SysV script).
#
# The v2ray package (4.34) is the same story, worse: its default config
# listens on a public port with a well-known id. The lab runs v2ray only
# inside its namespaces, with configs of its own (scripts/lab.sh proxy), so
# the service is installed under the same policy-rc.d and then masked (or,
# without systemd, its SysV script disabled), and any v2ray the install
# started anyway is stopped.
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
    v2ray
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
# v2ray_quiet: the v2ray service, whether or not this run installed it,
# masked, so that nothing (a later upgrade, a reboot) starts it with the
# package's config.
v2ray_quiet() {
    dpkg-query -W -f='${Status}' v2ray 2>/dev/null | grep -q "install ok installed" ||
        return 0
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now v2ray.service > /dev/null 2>&1 || true
        $SUDO systemctl mask v2ray.service > /dev/null 2>&1 || true
    elif [ ! -L /etc/systemd/system/v2ray.service ]; then
        # No systemd running: the mask by hand, as systemctl makes it.
        $SUDO mkdir -p /etc/systemd/system
        $SUDO ln -sf /dev/null /etc/systemd/system/v2ray.service
    fi
    $SUDO update-rc.d v2ray disable > /dev/null 2>&1 || true
    # A v2ray of the package (run with its own config) must not be left
    # running; the lab's instances run with configs under a lab's folder.
    for pid in $(pgrep -x v2ray 2>/dev/null || true); do
        if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '/etc/v2ray/'; then
            echo "install-deps: stopping the v2ray service's process $pid"
            $SUDO kill "$pid" 2>/dev/null || true
        fi
    done
}

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
if [ ${#missing[@]} -eq 0 ]; then
    v2ray_quiet
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
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
# v2ray's unit is masked before it exists, so that not even a system with a
# policy-rc.d that allows starts runs it with the package's config.
for p in "${missing[@]}"; do
    [ "$p" = v2ray ] || continue
    $SUDO mkdir -p /etc/systemd/system
    $SUDO ln -sfn /dev/null /etc/systemd/system/v2ray.service
done
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

v2ray_quiet
