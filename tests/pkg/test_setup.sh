#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# linecap-setup on a host without the NICs (this one), and on a stand-in
# sysfs (LINECAP_SYSFS) with stand-ins for DPDK's tools and modprobe on the
# PATH that only record how they were called:
#   - the appliance's config names ports that are not here: it says which,
#     and what it would have run, exits 1 and runs nothing;
#   - with the ports there on their kernel driver, --dry-run says what it
#     would run and runs nothing; without --dry-run it runs exactly that;
#   - what is done already is not done again;
#   - bad keys and values are refused (status 2); no [host], nothing to do.
# Needs: LC_SOURCE (the tree), or SETUP (the program to test).
. "$(dirname "$0")/lib.sh"
SETUP=${SETUP:-${LC_SOURCE:?}/scripts/linecap-setup}
CONF_PROD=${CONF_PROD:-${LC_SOURCE:-}/config/linecap.conf.production}
W=$PKG_WORK

# Stand-ins of the tools: each appends its command line to $W/calls.
mkdir -p "$W/tools"
for t in dpdk-hugepages.py dpdk-devbind.py modprobe; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$t" "$W" > "$W/tools/$t"
    chmod +x "$W/tools/$t"
done
export PATH=$W/tools:$PATH
: > "$W/calls"

# run_setup OUT EXPECTED_STATUS ARG...: linecap-setup, its output in OUT.
run_setup() {
    local out=$1 want=$2 rc=0
    shift 2
    "$SETUP" "$@" > "$out" 2>&1 || rc=$?
    sed 's/^/  | /' "$out"
    [ "$rc" = "$want" ] || fail "linecap-setup $*: status $rc, expected $want"
}

expect_in() {
    grep -qF -- "$2" "$1" || fail "the output does not say: $2"
}

no_calls() {
    [ ! -s "$W/calls" ] || fail "$1 ran: $(cat "$W/calls")"
}

# 1. The appliance's config, on this host (its own sysfs), without its NICs.
echo "linecap-setup --dry-run on the package's config, without its NICs:"
run_setup "$W/out1" 1 --dry-run --config "$CONF_PROD"
expect_in "$W/out1" "no PCI device 0000:03:00.0 on this host"
expect_in "$W/out1" "no PCI device 0000:03:00.1 on this host"
expect_in "$W/out1" "dpdk-devbind.py --bind=vfio-pci 0000:03:00.0"
expect_in "$W/out1" "nothing was changed"
echo "and without --dry-run, as the unit runs it:"
run_setup "$W/out1b" 1 --config "$CONF_PROD"
expect_in "$W/out1b" "no PCI device 0000:03:00.0 on this host"
no_calls "linecap-setup without the NICs"
echo "ok: the missing ports are named, with what would have been done; nothing ran"

# 2. A host with two NUMA nodes, no hugepages, the ports on ixgbe.
sys=$W/sys
for n in 0 1; do
    mkdir -p "$sys/devices/system/node/node$n/hugepages/hugepages-2048kB"
    echo 0 > "$sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages"
done
mkdir -p "$sys/bus/pci/drivers/ixgbe"
for a in 0000:03:00.0 0000:03:00.1; do
    mkdir -p "$sys/bus/pci/devices/$a"
    ln -s ../../../bus/pci/drivers/ixgbe "$sys/bus/pci/devices/$a/driver"
done
cat > "$W/host.conf" <<'CONF'
[eal]
args = -l 2,3 -a 0000:03:00.0 -a 0000:03:00.1
[host]
hugepages = 2G     ; on each node
bind = 0000:03:00.0 03:00.1
driver = vfio-pci
[wire]
autostart = no
CONF
echo "linecap-setup --dry-run, the ports there on ixgbe:"
LINECAP_SYSFS=$sys run_setup "$W/out2" 0 --dry-run --config "$W/host.conf"
expect_in "$W/out2" "would run (hugepages: 1024 pages of 2048 KiB on each of 2 node(s), now 0, 0"
expect_in "$W/out2" "dpdk-hugepages.py --reserve 2G"
expect_in "$W/out2" "would run (driver vfio-pci: not loaded): modprobe vfio-pci"
expect_in "$W/out2" "would run (ports 0000:03:00.0 0000:03:00.1 to vfio-pci): dpdk-devbind.py --bind=vfio-pci 0000:03:00.0 0000:03:00.1"
no_calls "linecap-setup --dry-run"
echo "ok: --dry-run says what it would run, and runs nothing"

echo "linecap-setup, the ports there on ixgbe:"
LINECAP_SYSFS=$sys run_setup "$W/out3" 0 --config "$W/host.conf"
grep -q '^dpdk-hugepages.py --reserve 2G' "$W/calls" || fail "hugepages not reserved: $(cat "$W/calls")"
grep -qx 'modprobe vfio-pci' "$W/calls" || fail "vfio-pci not loaded: $(cat "$W/calls")"
grep -qx 'dpdk-devbind.py --bind=vfio-pci 0000:03:00.0 0000:03:00.1' "$W/calls" ||
    fail "ports not bound: $(cat "$W/calls")"
expect_in "$W/out3" "the host is ready"
echo "ok: it ran DPDK's tools as it said it would"

# 3. Done already: enough pages on each node, the module there, the ports
# on vfio-pci. Only the hugetlbfs mount depends on this host.
for n in 0 1; do
    echo 1024 > "$sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages"
done
mkdir -p "$sys/bus/pci/drivers/vfio-pci"
for a in 0000:03:00.0 0000:03:00.1; do
    ln -sfn ../../../bus/pci/drivers/vfio-pci "$sys/bus/pci/devices/$a/driver"
done
: > "$W/calls"
echo "linecap-setup, everything done already:"
LINECAP_SYSFS=$sys run_setup "$W/out4" 0 --config "$W/host.conf"
expect_in "$W/out4" "port 0000:03:00.0: on vfio-pci already"
if grep -Eq 'modprobe|devbind|--reserve' "$W/calls"; then
    fail "done again: $(cat "$W/calls")"
fi
echo "ok: nothing done twice"

# 4. Refused configs, and none at all.
: > "$W/calls"
echo "bad [host] values:"
printf '[host]\nhugepages = lots\n' > "$W/bad1.conf"
run_setup "$W/out5" 2 --dry-run --config "$W/bad1.conf"
expect_in "$W/out5" "[host] hugepages = 'lots': expected a size"
printf '[host]\nbind = eth0\n' > "$W/bad2.conf"
run_setup "$W/out6" 2 --dry-run --config "$W/bad2.conf"
expect_in "$W/out6" "[host] bind: 'eth0' is not a PCI address"
printf '[host]\nhugepage = 2G\n' > "$W/bad3.conf"
run_setup "$W/out7" 2 --dry-run --config "$W/bad3.conf"
expect_in "$W/out7" "[host] hugepage: unknown key"
run_setup "$W/out8" 2 --dry-run --config "$W/no-such.conf"
expect_in "$W/out8" "No such file or directory"
printf '[wire]\nmtu = 1518\n' > "$W/nohost.conf"
run_setup "$W/out9" 0 --config "$W/nohost.conf"
expect_in "$W/out9" "no [host] section, nothing to do"
no_calls "linecap-setup on refused configs"
echo "ok: bad keys and values refused with status 2, a config without [host] is nothing to do"
echo "PASS: pkg-setup"
