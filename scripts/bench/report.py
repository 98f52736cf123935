#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The report of scripts/bench.sh: the table of a results file, and the chart
of its packet rates.

  scripts/bench/report.py RESULTS.json [CHART.png]

Prints the table (docs/BENCHMARKS.md explains every figure) and, when
CHART.png is given, the results hold packet rates and gnuplot is installed,
draws them to CHART.png (through CHART.png.dat, removed afterwards).
"""
import json
import os
import shutil
import subprocess
import sys

CHART = """set terminal pngcairo size 1000,540 font "sans,10"
set output "{png}"
set title "linecap: Mpps per configuration (both directions, one worker core, pcap PMD, no hugepages)"
set key autotitle columnhead top right
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "Mpps"
set yrange [0:*]
set grid ytics
set bmargin 5
set xtics font ",9"
plot for [i=2:{last}] "{dat}" using i:xtic(1) title (columnhead(i) eq "64" ? "64-byte frames" : "IMIX"), \\
     for [i=2:{last}] "{dat}" using (column(0) + (i - 2 - ({n} - 1) / 2.0) / ({n} + 1.0)):i:(sprintf("%.2f", column(i))) \\
         with labels offset 0,0.7 font ",8" notitle
"""


def table(r, dat):
    """The lines of the table of results r; the packet rates, when there are
    any, also to the chart's data file dat (none when dat is empty)."""
    out = []
    def p(s=""):
        out.append(s)
    CONFS = [("wire", "linecapd: wire only (state absent)"),
             ("flows", "linecapd: flows + 10k users assigned (disabled)"),
             ("shaping", "linecapd: shaping, not limiting (sched)"),
             ("limiting", "linecapd: shaping, limiting (sched)"),
             ("police", "linecapd: police, not limiting"),
             ("police_limiting", "linecapd: police, limiting")]
    m = r.get("machine", {})
    p(f"linecap benchmark, {m.get('date','?')}, commit {m.get('commit','?')}"
      f"{' (QUICK)' if m.get('quick') else ''}: {m.get('cpus','?')} x {m.get('cpu','?')}, "
      f"DPDK {m.get('dpdk','?')}, {m.get('notes','')}")
    rate = r.get("rate")
    targets = []
    if rate:
        rp = r.get("rate_params", {})
        tr = [t for t in ("64", "imix") if t in rate]
        p()
        p(f"Packet rate: Mpps of both directions together, {rp.get('flows')} flows of "
          f"{rp.get('users')} users; median of {rp.get('windows', 1)} windows of {rp.get('window_s')} s "
          f"after {rp.get('warmup_s')} s warm-up")
        hdr = f"{'configuration':50s}" + "".join(f" {t + ' Mpps':>10s} {'x base':>7s} {'cyc/fr':>7s} {'drop%':>6s}" for t in tr)
        p(hdr)
        p("-" * len(hdr))
        line = f"{'testpmd io, 1 core (baseline: mean of before/after)':50s}"
        for t in tr:
            b = rate[t]
            line += f" {b['baseline']:10.3f} {'1.00':>7s} {'':>7s} {'':>6s}"
        p(line)
        line = f"{'  baseline before / after':50s}"
        for t in tr:
            b = rate[t]
            line += f" {b['baseline_before']:>4.2f}/{b['baseline_after']:<5.2f} {'':>7s} {'':>7s} {'':>6s}"
        p(line)
        chart = []
        for key, name in CONFS:
            line = f"{name:50s}"
            for t in tr:
                c = rate[t].get(key)
                if not c:
                    line += f" {'-':>10s} {'':>7s} {'':>7s} {'':>6s}"
                    continue
                ratio = c["mpps"] / rate[t]["baseline"]
                c["ratio"] = ratio
                line += f" {c['mpps']:10.3f} {ratio:7.2f} {c['cycles_per_frame'] or 0:7.0f} {100 * c['dropped_share']:6.1f}"
            p(line)
        p(f"  (limiting: every user at {rp.get('limit')} per direction; queue_size {rp.get('queue_size')}; "
          "cyc/fr: worker TSC cycles per received frame)")
        for t in tr:
            if "flows" in rate[t]:
                targets.append((f"wire with flows >= 0.4x baseline ({t})", rate[t]["flows"]["ratio"] >= 0.4,
                                f"{rate[t]['flows']['ratio']:.2f}x"))
            if "shaping" in rate[t]:
                targets.append((f"shaping not limiting >= 0.2x baseline ({t})", rate[t]["shaping"]["ratio"] >= 0.2,
                                f"{rate[t]['shaping']['ratio']:.2f}x"))
        with open(dat or "/dev/null", "w") as f:
            f.write("conf " + " ".join(tr) + "\n")
            f.write('"testpmd io\\n(baseline)" ' + " ".join(f"{rate[t]['baseline']:.4f}" for t in tr) + "\n")
            short = {"wire": "wire only", "flows": "flows +\\nusers", "shaping": "shaping,\\nnot limiting",
                     "limiting": "shaping,\\nlimiting", "police": "police,\\nnot limiting",
                     "police_limiting": "police,\\nlimiting"}
            for key, _ in CONFS:
                if all(key in rate[t] for t in tr):
                    f.write(f'"{short[key]}" ' + " ".join(f"{rate[t][key]['mpps']:.4f}" for t in tr) + "\n")
    sc = r.get("scaling")
    if sc and sc.get("rows"):
        scaling(sc, p)
    acc = r.get("accuracy")
    if acc:
        p()
        p("Rate accuracy: achieved / limit over the steady window, from the output captures' timestamps")
        p("(offered load in brackets, x limit; windows: " + ", ".join(
            f"{k} {v['window_s']:.1f} s" for k, v in acc.get('sched', {}).items()) + ")")
        engines = [e for e in ("sched", "police") if e in acc]
        hdr = f"{'limit':10s}" + "".join(f" {e + ' up':>18s} {e + ' down':>18s}" for e in engines)
        p(hdr)
        p("-" * len(hdr))
        worst = 0
        for lim in ("1mbit", "10mbit", "100mbit", "1gbit"):
            line = f"{lim:10s}"
            for e in engines:
                a = acc[e].get(lim)
                if not a:
                    line += f" {'-':>18s} {'-':>18s}"
                    continue
                for d in ("up", "down"):
                    worst = max(worst, abs(a[d] - 1))
                    line += f" {a[d]:9.4f} ({a['offered_' + d]:5.1f}x)"
            p(line)
        targets.append(("rate accuracy within +-1%", worst <= 0.01, f"worst {100 * worst:.2f}%"))
    peak = r.get("peak")
    if peak and peak.get("runs"):
        pp = peak.get("params", {})
        runs = peak["runs"]
        p()
        if pp.get("offered"):
            p(f"Peak hour: {pp.get('users')} users of 64-byte traffic ({pp.get('flows')} flows), all assigned; "
              f"S of them limited, each way, to 1/{pp.get('offered')} of what each is offered in that run "
              "(the limit column), the rest unlimited.")
        else:
            p(f"Peak hour: {pp.get('users')} users of 64-byte traffic ({pp.get('flows')} flows), all assigned; "
              f"S of them limited to {pp.get('rate')} each way (half of what each is offered), the rest unlimited.")
        pair_ref = (f"{pp['ab']} with the same users limited" if pp.get("ab")
                    else "one with none limited")
        p("x ref: received Mpps against a run with none limited just before; paired: the median of "
          f"{pp.get('pairs', 0)} pairs of {pp.get('pair_window_s', '')} s windows, each of a linecapd started "
          f"for it, {pair_ref} then one with the run's users limited, one at a time, seconds apart; "
          "per CPU s: the same as x ref for frames")
        p("per second of the worker's own CPU time; accuracy: the limited users' rate / limit over "
          f"{pp.get('accuracy_window_s')} s (min-max); offered: what each was offered, x its limit")
        hdr = (f"{'S':>6s} {'limit':>10s} {'Mpps':>7s} {'x ref':>6s} {'paired':>6s} {'per CPU s':>9s} {'cycles/frame':>12s} "
               f"{'accuracy':>9s} {'min-max':>13s} {'offered':>8s} {'unlimited drops':>15s}")
        p(hdr)
        p("-" * len(hdr))
        worst_x, worst_acc, lost, paired = None, 0, 0, False
        for k, v in sorted(((k, v) for k, v in runs.items() if k.startswith("s")),
                           key=lambda kv: kv[1]["s"]):
            x = v.get("x_ref")
            xp = v.get("x_pair")
            acc_v = v.get("accuracy")
            p(f"{v['s']:6d} {v.get('rate', ''):>10s} {v['mpps']:7.3f} {x if x is not None else float('nan'):6.2f} "
              f"{xp if xp is not None else float('nan'):6.2f} "
              f"{v.get('x_ref_cpu') or float('nan'):9.2f} {v['cycles_per_frame']:12.0f} "
              f"{acc_v if acc_v is not None else float('nan'):9.4f} "
              f"{v.get('accuracy_min') or 0:6.3f}-{v.get('accuracy_max') or 0:6.3f} "
              f"{v.get('offered_x') or 0:7.2f}x {v.get('unlimited_drops', 0):15d}")
            # Paired windows where the run has them: the drift between runs touches them least.
            xt = xp if xp is not None else x
            paired = paired or xp is not None
            if xt is not None:
                worst_x = xt if worst_x is None else min(worst_x, xt)
            if acc_v is not None:
                worst_acc = max(worst_acc, abs(acc_v - 1))
            lost += v.get("unlimited_drops", 0)
        if worst_x is not None:
            targets.append(("peak: received >= 0.8x not limiting, every S" +
                            (" (paired)" if paired else ""), worst_x >= 0.8,
                            f"lowest {worst_x:.2f}x"))
            targets.append(("peak: limited users' mean rate within +-1%", worst_acc <= 0.01,
                            f"worst {100 * worst_acc:.2f}%"))
            targets.append(("peak: unlimited users lose nothing", lost == 0, f"{lost} frames"))
    ctl = r.get("control")
    if ctl:
        p()
        p("Control plane")
        a = ctl.get("assign", {})
        for k, name in (("assign_new", "assign, new users (pending)"), ("assign_again", "assign, same lines again")):
            if k in a:
                v = a[k]
                p(f"  {name:44s} {v['per_second']:>10,} /s   p50 {v['p50_us']:>9.1f} us   p99 {v['p99_us']:>9.1f} us")
        for n, v in ctl.get("user_set_per_s", {}).items():
            p(f"  {'user set, %s new static users in a batch' % n:44s} {v:>10,.0f} /s")
        if "fork_anchor" in a:
            p(f"  {'anchor: one process per line (fork+exec)':44s} {a['fork_anchor']['per_second']:>10,} /s")
        x = ctl.get("xray", {})
        for k, name in (("parse_lines_per_s", "linecap-xray parser alone, lines"),
                        ("pipeline_lines_per_s", "linecap-xray per-line work, lines"),
                        ("end_to_end_recorder_per_s", "linecap-xray -> socket recorder, assignments"),
                        ("end_to_end_linecapd_per_s", "linecap-xray -> linecapd, assignments")):
            if x.get(k) is not None:
                p(f"  {name:44s} {x[k]:>10,} /s")
        if "assign_new" in a:
            targets.append((">= 500,000 assignments/s", a["assign_new"]["per_second"] >= 500000,
                            f"{a['assign_new']['per_second']:,}/s new, "
                            f"{a.get('assign_again', {}).get('per_second', 0):,}/s again"))
    mem = r.get("memory")
    if mem:
        MiB = 1048576
        p()
        p(f"Memory of linecapd (sched, queue_size 256, {mem['mbufs']} mbufs of 2 KiB; VmRSS / VmHWM / EAL heap allocated, MiB)")
        for k, v in mem["start"].items():
            p(f"  at start, {k.replace('_', ', ').replace('flows', 'flows ').replace('users', 'users '):34s}"
              f" {v['rss'] / MiB:8.0f} {v['hwm'] / MiB:8.0f} {v['heap'] / MiB:8.0f}")
        v = mem["after_assign"]
        p(f"  {'1M flows, 64k users, 10k users assigned':44s} {v['rss'] / MiB:8.0f} {v['hwm'] / MiB:8.0f} {v['heap'] / MiB:8.0f}")
        for v in mem["under_load"]:
            p(f"  {'  after %d s under load (%d flows)' % (v['t'], v['flows']):44s}"
              f" {v['rss'] / MiB:8.0f} {v['hwm'] / MiB:8.0f} {v['heap'] / MiB:8.0f}")
        if mem.get("bytes_per_flow_heap") is not None:
            p(f"  bytes per flow: {mem['bytes_per_flow_heap']:.0f} (heap), {mem['bytes_per_flow_rss']:.0f} (RSS at start)   "
              f"bytes per user: {mem['bytes_per_user_heap']:.0f} (heap), {mem['bytes_per_user_rss']:.0f} (RSS at start)")
        p(f"  RSS growth from start to the end of the load: {mem['rss_growth_under_load'] / MiB:+.1f} MiB")
    lat = r.get("latency")
    if lat:
        p()
        if "skipped" in lat:
            p(f"Latency under load: skipped ({lat['skipped']})")
        else:
            p("Latency under load: ping RTT (ms) from the client IP of one user at 10 mbit each way, saturated by iperf3")
            p("(lab.sh: network namespaces, veth, af_packet PMD; tcp_up/tcp_down: TCP Cubic; udp_up: UDP at 20 Mbit/s)")
            p(f"  {'aqm':6s} {'load':>9s} {'idle p50':>9s} {'p50':>8s} {'p90':>8s} {'max':>8s} {'added p50':>10s} {'ping lost':>10s} {'iperf3 Mbit/s':>14s}")
            for aqm in ("none", "pie"):
                if aqm not in lat:
                    continue
                i = lat[aqm]["idle"]
                for d in ("tcp_up", "tcp_down", "udp_up"):
                    l = lat[aqm].get(d)
                    if not l:
                        continue
                    lost = f"{l['sent'] - l['n']}/{l['sent']}"
                    if not l.get("n"):
                        p(f"  {aqm:6s} {d:>9s} {i.get('p50', 0):9.2f} {'no reply':>8s} {'':8s} {'':8s} {'':10s} {lost:>10s}")
                        continue
                    p(f"  {aqm:6s} {d:>9s} {i.get('p50', 0):9.2f} {l['p50']:8.2f} {l['p90']:8.2f} {l['max']:8.2f}"
                      f" {l['p50'] - i.get('p50', 0):10.2f} {lost:>10s} {l['iperf3_bps'] / 1e6:14.2f}")
                c = lat[aqm].get("counters")
                if c:
                    p(f"  {'':6s} user counters: up {c['up']['packets']} frames, {c['up']['drops']} dropped; "
                      f"down {c['down']['packets']} frames, {c['down']['drops']} dropped")
    met = r.get("metrics")
    if met:
        c = met["control"]
        p()
        p(f"Prometheus scrape of /metrics at {met['users']:,} users (no traffic)")
        p(f"  page {met['bytes'] / 1e6:.1f} MB, {met['series']:,} series, scrape {met['seconds']:.2f} s (median of 5)")
        p(f"  control thread: {c['steps']} steps, {c['seconds'] * 1e3:.0f} ms in all, "
          f"first step {c['head_step_seconds'] * 1e3:.2f} ms, longest other {c['step_max_seconds'] * 1e3:.2f} ms")
        for k, name in (("no_scrape", "no scrape"), ("one_scrape", "one scrape after another"),
                        ("four_scrapes", "4 scrapes at once")):
            v = met["ping"].get(k)
            if v:
                p(f"  management ping, {name:26s} p50 {v['p50_ms']:7.3f} ms   p99 {v['p99_ms']:7.3f} ms   max {v['max_ms']:7.2f} ms")
    if r.get("errors"):
        p()
        p("Errors during the run: " + " | ".join(r["errors"]))
    if targets:
        p()
        p("Targets")
        for name, ok, val in targets:
            p(f"  {'met   ' if ok else 'MISSED'} {name:48s} {val}")
    sec = r.get("seconds", {})
    con = r.get("contended", {})
    if sec:
        p()
        p("Run time: " + ", ".join(f"{k} {v} s" + (" (contended)" if con.get(k) else "") for k, v in sec.items()))

    return out


def scaling(sc, p):
    """The scaling section's table, line by line to p."""
    rows = sc["rows"]
    sp = sc.get("params", {})
    ns = sorted({int(n) for row in rows.values() for n in row} | {int(n) for n in sc.get("skipped", {})})
    p()
    p(f"Scaling: received Mpps of {sp.get('traffic', '64')}-byte traffic (both ports summed), {sp.get('flows')} flows "
      f"of {sp.get('users')} users, on 1 to {max(ns)} forwarding cores (testpmd) or workers (linecapd);")
    p("the same captures on every run (N > 1: N RX queues a port, the captures split by client address); "
      f"median of {sp.get('windows', 1)} windows of {sp.get('window_s')} s")
    p("x 1: against the same row with 1 core; x testpmd: linecapd against testpmd io with as many cores;")
    p("below it, for linecapd: the workers' busy TSC cycles per received frame, the share of frames handed to")
    p("another worker, each worker's share of the frames received, and frames lost to full handoff rings")
    hdr = f"{'configuration':40s}"
    for n in ns:
        hdr += f" {'%d core%s Mpps' % (n, 's' if n > 1 else ''):>13s}"
        hdr += f" {'x 1':>5s}" if n > 1 else ""
        hdr += f" {'x testpmd':>9s}"
    p(hdr)
    p("-" * len(hdr))
    names = [("testpmd", "testpmd io"), ("wire", "linecapd: wire only (state absent)"),
             ("shaping", "linecapd: shaping, not limiting (sched)")]
    for key, name in names:
        row = rows.get(key, {})
        line = f"{name:40s}"
        for n in ns:
            c = row.get(str(n))
            x1 = f"{c['x_1']:5.2f}" if c and c.get("x_1") is not None else f"{'-':>5s}"
            xt = (f"{c['x_testpmd']:9.2f}" if c and key != "testpmd" and c.get("x_testpmd") is not None
                  else f"{'-' if key != 'testpmd' else '':>9s}")
            line += f" {c['mpps']:13.3f}" if c and c.get("mpps") is not None else f" {'-':>13s}"
            line += f" {x1}" if n > 1 else ""
            line += f" {xt}"
        p(line)
    for key, name in names[1:]:
        row = rows.get(key, {})
        parts = []
        for n in ns:
            c = row.get(str(n))
            if not c:
                continue
            t = f"{n}: {c['cycles_per_frame']:.0f} cyc/fr" if c.get("cycles_per_frame") else f"{n}:"
            if n > 1:
                t += f", {100 * c.get('handed_off_share', 0):.0f} % handed over"
                if c.get("worker_rx_share"):
                    t += " (received " + "/".join(f"{100 * x:.0f}" for x in c["worker_rx_share"]) + " %)"
                if c.get("handoff_full"):
                    t += f", {100 * c.get('handoff_full_share', 0):.2f} % lost to full handoff rings"
            parts.append(t)
        if parts:
            p(f"  {name.replace('linecapd: ', '')}: " + "; ".join(parts))
    for n, why in sorted(sc.get("skipped", {}).items()):
        p(f"  linecapd with {n} workers: not measured ({why})")
    lc = sp.get("lcores", {})
    cpu = sc.get("cpu", {})
    p("  lcores: " + "; ".join(f"{n}: {v}" for n, v in sorted(lc.items())) +
      f" ({sp.get('cpus')} CPUs; the main lcore on CPU 0)")
    if cpu:
        p(f"  load average {cpu.get('loadavg_start')} at the start, {cpu.get('loadavg_end')} at the end; "
          f"{100 * cpu.get('steal_share', 0):.1f} % of CPU time stolen by the host")


def chart(png, dat):
    """Draw the data file dat to png with gnuplot; the exit status."""
    with open(dat) as f:
        n = len(f.readline().split()) - 1
    script = CHART.format(png=png, dat=dat, n=n, last=n + 1).replace("\\\n", "")
    rc = subprocess.run(["gnuplot"], input=script, text=True).returncode
    if rc == 0:
        os.remove(dat)
    return rc


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: report.py RESULTS.json [CHART.png]")
    png = sys.argv[2] if len(sys.argv) == 3 else ""
    dat = png + ".dat" if png else ""
    with open(sys.argv[1]) as f:
        r = json.load(f)
    print("\n".join(table(r, dat)))
    sys.stdout.flush()
    if dat and os.path.exists(dat) and shutil.which("gnuplot"):
        sys.exit(chart(png, dat))


if __name__ == "__main__":
    main()
