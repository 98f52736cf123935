#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""peak_peer.py: the peak matrix for linecapd and DPDK's qos_sched side by side.

  peak_peer.py --peers DIR --qos-sched BIN --build B --work W --S 10,100,1000,10000
               [--users 10000] [--frames 102040] [--json OUT]

The traffic is the peer tool's QinQ capture (DIR/gen_qinq.py, 64-byte frames):
client address i is user i and qos_sched pipe i (outer VLAN i // 4096, inner
i % 4096), plus the keep-alive flows K (unassigned in linecapd) and V (a user
at 1 gbit; in qos_sched a pipe at the port rate). For each S, in this order:
  lc_ref   linecapd, no user limited
  lc_lim   linecapd, users 0 .. S-1 at R both ways, the others unlimited
  qos_ref  qos_sched, every pipe at the port rate
  qos_lim  qos_sched, pipes 0 .. S-1 at R (linecap's own profile for R),
           the others at the port rate
R is half of what a user is offered per direction in lc_ref (its received
bits per direction over the users), so each limited user may pass half of
it. Both runs of an engine use the same R; the limiting runs are measured
over whole TC periods of R's profile (rte_sched resets class credits each
period). Each limited run is compared with the reference run of its own
engine just before it.

Runs use the peer tool's runners (DIR/perflib.py): the same net_pcap
infinite_rx vdevs, lcores and settings as its peer table (README.md there).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--peers", required=True, help="the peer tool's folder (gen_qinq.py, perflib.py)")
ap.add_argument("--qos-sched", required=True)
ap.add_argument("--build", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--S", default="10,100,1000,10000")
ap.add_argument("--users", type=int, default=10000)
ap.add_argument("--frames", type=int, default=102040)
ap.add_argument("--warm", type=float, default=3)
ap.add_argument("--warm-limit", type=float, default=5)
ap.add_argument("--window", type=float, default=3)
ap.add_argument("--nwin", type=int, default=3)
ap.add_argument("--min-rate", type=int, default=16000)
ap.add_argument("--json")
a = ap.parse_args()

sys.path.insert(0, a.peers)
import perflib as P  # noqa: E402

U = a.users
if U > 3 * 4096:
    sys.exit("peak_peer.py: at most 12288 users (subport 3 holds the keep-alive pipes)")
wd = os.path.join(a.work, "run")
os.makedirs(wd, exist_ok=True)
cpcap = os.path.join(a.work, f"c-64-u{U}.pcap")
spcap = os.path.join(a.work, f"s-64-u{U}.pcap")
SAMPLE = 32


def limit_window(rate):
    """Whole TC periods of R's profile, at least 12 s, at most 64."""
    period = P.tc_period_ms(rate // 8, P.default_burst(rate)) / 1000
    return period * math.ceil(12 / period) if period < 12 else min(period, 64.0)


def users_file(path, S, rate):
    """Every user of the traffic, the first S at rate both ways, and V."""
    burst = P.default_burst(rate) if rate else 0
    with open(path, "w") as f:
        f.write("linecap-users 1\n")
        for u in range(U):
            r = rate if u < S else 0
            b = burst if u < S else 0
            f.write(f"user {u + 1} u{u}@b up={r} down={r} burst_up={b} burst_down={b}\n")
        f.write(f"user {U + 1} vip@b up=1000000000 down=1000000000\nend {U + 1}\n")


def sampled(S):
    n = min(S, SAMPLE)
    return [f"u{k * S // n}@b" for k in range(n)]


def run_lc(S, rate):
    uf = os.path.join(wd, "users-in.conf")
    users_file(uf, S if rate else 0, rate)
    lc = P.Linecapd(wd, a.build, cpcap, spcap, a.frames, f"pp{os.getpid()}", users_file=uf, users=U)
    try:
        _, bad = lc.batch(P.assign_lines(U, ips=U))
        if bad:
            P.log("assign errors:", bad)
        lc.ctl("start")
        if not rate:
            return P.pick_median(P.lc_measure(lc, a.warm, a.window, a.nwin, users=("vip@b",)))
        users = sampled(S) + ["vip@b"]
        _, whole = P.lc_series(lc, a.warm_limit, limit_window(rate), users=users)
        # A user's counters count what it was offered; sent is that less its drops.
        acc = [whole[f"{e}_{d}_bps"] * (1 - whole[f"{e}_{d}_drop_pps"] / whole[f"{e}_{d}_pps"]) / rate
               for e in sampled(S) for d in ("up", "down") if whole.get(f"{e}_{d}_pps")]
        whole["offered"] = sum(whole[f"{e}_{d}_bps"] for e in sampled(S) for d in ("up", "down")
                               if f"{e}_{d}_bps" in whole) / (2 * len(sampled(S)) * rate)
        whole["accuracy"] = sum(acc) / len(acc) if acc else None
        whole["accuracy_min"] = min(acc) if acc else None
        whole["accuracy_max"] = max(acc) if acc else None
        return whole
    finally:
        lc.stop()


def qos_cfg_limited(path, S, rate):
    """The peer tool's qos_sched configuration, pipes 0 .. S-1 at R and the
    rest at the port rate: its profile 0 is R, profile 1 the port rate."""
    rb = rate // 8
    burst = P.default_burst(rate)
    P.qos_cfg(path, limit_rate=rb, burst=burst, tc_period_ms=P.tc_period_ms(rb, burst))
    lines = open(path).read().split("\n")
    out, sp = [], None
    for ln in lines:
        if ln.startswith("[subport ") and not ln.startswith("[subport profile"):
            sp = int(ln.split()[1].rstrip("]"))
        if ln.startswith("pipe ") and sp is not None:
            if ln.startswith("pipe 4094-4095"):
                out.append(ln)
                continue
            last = 4093 if sp == 3 else 4095
            lo, hi = sp * 4096, sp * 4096 + last
            lim_hi = min(hi, S - 1)
            if lim_hi >= lo:
                out.append(f"pipe 0-{lim_hi - lo} = 0")
            if lim_hi < hi:
                out.append(f"pipe {max(lim_hi + 1, lo) - lo}-{last} = 1")
            continue
        out.append(ln)
    with open(path, "w") as f:
        f.write("\n".join(out))


def run_qos(S, rate):
    cfg = os.path.join(wd, "qos.cfg")
    if not rate:
        P.qos_cfg(cfg)
        wins = P.qos_sched(wd, a.qos_sched, cfg, cpcap, spcap, a.frames, a.warm, a.window, a.nwin,
                           f"pp{os.getpid()}", users=U)
        return P.pick_median(wins)
    qos_cfg_limited(cfg, S, rate)
    wins = P.qos_sched(wd, a.qos_sched, cfg, cpcap, spcap, a.frames, a.warm_limit,
                       limit_window(rate), 1, f"pp{os.getpid()}", users=U)
    return wins[0] if wins else {}


def ratio(x, y):
    return x / y if x is not None and y else None


if not (os.path.exists(cpcap) and os.path.exists(spcap)):
    subprocess.run([sys.executable, os.path.join(a.peers, "gen_qinq.py"), "64", cpcap, spcap,
                    "--ips", str(U), "--pipes", str(U)], check=True, stdout=subprocess.DEVNULL)

res = {"args": vars(a), "runs": [], "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
try:
    for S in [int(s) for s in a.S.split(",")]:
        if S > U:
            P.log(f"S={S} is more than the {U} users: skipped")
            continue
        r = {"S": S, "load1_before": P.loadavg()[0], "others_busy": P.others_busy()}
        P.log(f"S={S}: linecapd reference")
        r["lc_ref"] = run_lc(S, None)
        off = min(r["lc_ref"]["rx_up_bps"], r["lc_ref"]["rx_down_bps"])
        rate = max(int(0.5 * off / U), a.min_rate)
        r["rate_bps"] = rate
        r["window_s"] = limit_window(rate)
        P.log(f"S={S}: linecapd, {S} users at {rate} bit/s")
        r["lc_lim"] = run_lc(S, rate)
        P.log(f"S={S}: qos_sched reference")
        r["qos_ref"] = run_qos(S, None)
        P.log(f"S={S}: qos_sched, {S} pipes at {rate} bit/s")
        r["qos_lim"] = run_qos(S, rate)
        r["lc_ratio"] = ratio(r["lc_lim"].get("rx_mpps"), r["lc_ref"].get("rx_mpps"))
        r["qos_ratio"] = ratio(r["qos_lim"].get("rx_mpps"), r["qos_ref"].get("rx_mpps"))
        res["runs"].append(r)
        if a.json:
            json.dump(res, open(a.json, "w"), indent=1)
finally:
    P.stop_all()


def f(x, fmt):
    return format(x, fmt) if isinstance(x, (int, float)) else "-"


print("peak matrix, linecapd and qos_sched on the same QinQ traffic "
      f"({U} users, 64 B, R = half of a user's offered rate):")
print(f"{'S':>6} {'R kbit':>7} | {'lc ref':>7} {'lc lim':>7} {'x ref':>6} {'cyc/fr':>6} "
      f"{'acc':>6} {'offer':>5} {'V drop/s':>8} | {'qs ref':>7} {'qs lim':>7} {'x ref':>6} {'V drop/s':>8}")
for r in res["runs"]:
    lr, ll, qr, ql = r["lc_ref"], r["lc_lim"], r["qos_ref"], r["qos_lim"]
    vdrop = sum(ll.get(f"vip@b_{d}_drop_pps", 0) for d in ("up", "down"))
    print(f"{r['S']:>6} {r['rate_bps'] / 1000:>7.1f} | {f(lr.get('rx_mpps'), '7.3f')} "
          f"{f(ll.get('rx_mpps'), '7.3f')} {f(r['lc_ratio'], '6.2f')} "
          f"{f(ll.get('cycles_per_frame'), '6.0f')} {f(ll.get('accuracy'), '6.3f')} "
          f"{f(ll.get('offered'), '5.2f')} "
          f"{f(vdrop, '8.1f')} | {f(qr.get('rx_mpps'), '7.3f')} {f(ql.get('rx_mpps'), '7.3f')} "
          f"{f(r['qos_ratio'], '6.2f')} {f(ql.get('V_drop_pps'), '8.1f')}")
print("Mpps received, both ports; x ref: the limited run against its engine's reference "
      "just before; acc: the sampled limited users' rate / R; offer: what they were offered / R; V: a 1 gbit user through "
      "the shaper, frames it lost")
