#!/usr/bin/env python3
"""Runs the benchmark matrix: every server x payload size x connection count x CPU placement,
driven by ttrpc-bench, beside the raw echo baseline and the codec throughput. Prints tables,
writes bench.json and bench.svg. Standard library only. Nothing here asserts on timings: the
targets are evaluated and printed as met or missed, and the exit status is 0 unless a program
failed to start or a point failed outright (those are listed)."""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time

SERVERS = {
    # name: (argv after the binary directory, binary)
    "raw": ("raw-echo", []),
    "c": ("ttrpc-ref-server", []),
    "go": ("ttrpc-peer-go", ["server"]),
    "rust-async": ("ttrpc-peer-rust", ["server", "--flavor", "async"]),
    "rust-sync": ("ttrpc-peer-rust", ["server", "--flavor", "sync"]),
}
# Where the server and the generator run. CPU numbers are the first two online CPUs.
PLACEMENTS = {
    "shared": ("0", "0"),   # both on CPU 0: the cost of a call end to end, one core
    "split": ("0", "1"),    # server on CPU 0, generator on CPU 1
    "free": (None, None),   # unpinned: the scheduler decides
}
SIZE_NAMES = {0: "0", 64: "64 B", 1024: "1 KiB", 16384: "16 KiB", 262144: "256 KiB",
              1048576: "1 MiB"}


def size_name(n):
    return SIZE_NAMES.get(n, "%.2f MiB max" % (n / 1048576.0) if n > 1048576 else str(n))


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


def proc_cpu_seconds(pid):
    """utime + stime of the whole process, every thread included."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "loadavg_at_start": os.getloadavg()}


def pinned(cpu, argv):
    return (["taskset", "-c", cpu] if cpu is not None else []) + argv


class Server:
    def __init__(self, name, bindir, rundir, cpu):
        binary, extra = SERVERS[name]
        self.name = name
        self.path = os.path.join(rundir, name + ".sock")
        argv = [os.path.join(bindir, binary)] + extra + ["--listen", "unix:" + self.path]
        self.log = open(os.path.join(rundir, name + ".log"), "w")
        self.proc = subprocess.Popen(pinned(cpu, argv), stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = ""
        deadline = time.time() + 15
        # "ready" comes on stdout once the socket listens; a dead server ends the wait.
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line or line.strip() == "ready":
                break
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError("%s did not print ready" % name)
        time.sleep(0.2)  # let runtimes finish starting their threads before the idle reading
        self.idle = proc_status(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class RssSampler(threading.Thread):
    """Samples VmRSS every 20 ms while a point runs; keeps the maximum."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.peak = max(self.peak, proc_status(self.pid).get("VmRSS", 0))
            self.halt.wait(0.02)

    def finish(self):
        self.halt.set()
        self.join()
        self.peak = max(self.peak, proc_status(self.pid).get("VmRSS", 0))
        return self.peak


def run_point(args, server, size, conns, gen_cpu):
    argv = [os.path.join(args.bin, "ttrpc-bench"), "load", "--connect", "unix:" + server.path,
            "--size", str(size), "--conns", str(conns), "--seconds", str(args.seconds),
            "--warmup", str(args.warmup)]
    if server.name == "raw":
        argv.append("--raw")
    sampler = RssSampler(server.proc.pid)
    cpu0 = proc_cpu_seconds(server.proc.pid)
    sampler.start()
    try:
        out = subprocess.run(pinned(gen_cpu, argv), capture_output=True, text=True,
                             timeout=args.seconds + args.warmup + 30)
        text = out.stdout.strip().splitlines()
        point = json.loads(text[-1]) if text else {"ok": False, "error": out.stderr.strip()}
    except subprocess.TimeoutExpired:
        point = {"ok": False, "error": "ttrpc-bench timed out"}
    cpu1 = proc_cpu_seconds(server.proc.pid)
    if point.get("ok") and not point.get("calls"):
        point["ok"] = False
        point["error"] = "no call completed inside the window: raise BENCH_SECONDS"

    point["server_rss_peak"] = sampler.finish()
    calls = point.get("calls", 0)
    if cpu0 is not None and cpu1 is not None and calls:
        # The server's CPU over warm-up, window and drain, per call counted: an upper bound.
        point["server_cpu_us_per_call"] = (cpu1 - cpu0) * 1e6 / calls
    point.update({"server": server.name, "size": size, "conns": conns})
    return point


def fmt_rate(x):
    if x >= 1e5:
        return "%.0fk" % (x / 1e3)
    if x >= 1e4:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def fmt_us(x):
    if x is None:
        return "-"
    if x >= 10000:
        return "%.1f ms" % (x / 1000)
    if x >= 1000:
        return "%.2f ms" % (x / 1000)
    return "%.1f us" % x


def mib(n):
    return "%.1f" % (n / 1048576.0) if n else "-"


def raw_for(p, raw_pass):
    """The raw-echo point to compare p with: the one run just before it (same placement, size
    and connections, seconds apart, so a noisy neighbour hits both alike), else the raw pass."""
    pair = p.get("raw_pair")
    if pair and pair.get("ok") and pair.get("calls"):
        return pair
    r = raw_pass.get((p["placement"], p["size"], p["conns"]))
    return r if r and r.get("ok") and r.get("calls") else None


def raw_pass_index(points):
    return {(p["placement"], p["size"], p["conns"]): p for p in points if p["server"] == "raw"}


def table(points, placement):
    """Markdown table for one placement, rows sorted server, size, conns."""
    rows = [p for p in points if p["placement"] == placement]
    raw = raw_pass_index(points)
    order = list(SERVERS)
    rows.sort(key=lambda p: (order.index(p["server"]), p["size"], p["conns"]))
    lines = ["| server | payload | conns | calls/s | x raw | payload MB/s | p50 | p99 | "
             "gen CPU/call | server CPU/call | server RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in rows:
        if not p.get("ok"):
            lines.append("| %s | %s | %d | failed: %s | | | | | | | |"
                         % (p["server"], size_name(p["size"]), p["conns"], p.get("error", "")))
            continue
        r = raw_for(p, raw)
        ratio = "%.2f" % (p["calls_per_s"] / r["calls_per_s"]) if r else "-"
        lines.append("| %s | %s | %d | %s | %s | %.1f | %s | %s | %s | %s | %s |" % (
            p["server"], size_name(p["size"]), p["conns"], fmt_rate(p["calls_per_s"]), ratio,
            p["calls_per_s"] * p["size"] / 1e6, fmt_us(p["p50_us"]), fmt_us(p["p99_us"]),
            fmt_us(p["gen_cpu_us_per_call"]), fmt_us(p.get("server_cpu_us_per_call")),
            mib(p["server_rss_peak"])))
    return "\n".join(lines)


def compact(points, placement, conns, sizes):
    """One row per server, one column per size: calls/s and the ratio to raw."""
    get = {(p["server"], p["size"]): p for p in points
           if p["placement"] == placement and p["conns"] == conns and p.get("ok")}
    lines = ["| %d conn%s | %s |" % (conns, "" if conns == 1 else "s",
                                    " | ".join(size_name(s) for s in sizes)),
             "|---|" + "---|" * len(sizes)]
    for name in SERVERS:
        if not any(k[0] == name for k in get):
            continue
        cells = []
        for s in sizes:
            p = get.get((name, s))
            r = raw_for(p, raw_pass_index(points)) if p else None
            if not p:
                cells.append("-")
            elif name == "raw" or not r:
                cells.append(fmt_rate(p["calls_per_s"]))
            else:
                cells.append("%s (%.2f)" % (fmt_rate(p["calls_per_s"]),
                                            p["calls_per_s"] / r["calls_per_s"]))
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    return "\n".join(lines)


def evaluate_targets(points, rss, placement, max_size):
    """The issue's targets for one placement, each as met / missed / n/a with the numbers."""
    get = {(p["server"], p["size"], p["conns"]): p for p in points
           if p["placement"] == placement and p.get("ok")}
    raw_pass = raw_pass_index(points)
    out = []

    def add(name, met, detail):
        out.append({"placement": placement, "target": name,
                    "verdict": "n/a" if met is None else ("met" if met else "missed"),
                    "detail": detail})

    sizes = sorted({p["size"] for p in points})
    for size in sizes:
        c, g = get.get(("c", size, 16)), get.get(("go", size, 16))
        r = raw_for(c, raw_pass) if c else None
        if c and r:
            x = c["calls_per_s"] / r["calls_per_s"]
            add("C >= 0.8x raw, 16 conns, %s" % size_name(size), x >= 0.8, "%.2fx raw" % x)
        rgo = raw_for(g, raw_pass) if g else None
        if c and g and r and rgo:
            cg = c["calls_per_s"] / g["calls_per_s"]
            rg = rgo["calls_per_s"] / g["calls_per_s"]
            # Each against its own raw pair: the C/Go ratio with the machine's drift removed.
            norm = (c["calls_per_s"] / r["calls_per_s"]) / (g["calls_per_s"] / rgo["calls_per_s"])
            add("C >= 2x Go where raw allows, 16 conns, %s" % size_name(size),
                None if rg < 2 else cg >= 2,
                "C %.2fx Go (%.2fx against each one's raw); raw %.2fx Go" % (cg, norm, rg))
    c = get.get(("c", 0, 1))
    r = raw_for(c, raw_pass) if c else None
    if c and r:
        x = c["p50_us"] / r["p50_us"]
        add("p50 at 1 conn, empty payload <= 1.2x raw", x <= 1.2,
            "%.1f us vs %.1f us: %.2fx" % (c["p50_us"], r["p50_us"], x))
    c = get.get(("c", max_size, 1))
    r = raw_for(c, raw_pass) if c else None
    if c and r and max_size >= 4 * 1048576 - 1024:
        x = c["p50_us"] / r["p50_us"]
        add("4 MiB round trip (p50, 1 conn) <= 1.3x raw", x <= 1.3,
            "%s vs %s: %.2fx" % (fmt_us(c["p50_us"]), fmt_us(r["p50_us"]), x))
    rc, rg = rss.get((placement, "c")), rss.get((placement, "go"))
    if rc and rg:
        for key, label in (("idle", "idle VmRSS"), ("peak16", "peak VmRSS at 16 conns"),
                           ("hwm", "VmHWM")):
            if rc.get(key) and rg.get(key):
                x = rc[key] / rg[key]
                add("C RSS <= 1/3 Go (%s)" % label, x <= 1 / 3,
                    "%s vs %s MiB: %.2fx" % (mib(rc[key]), mib(rg[key]), x))
    return out


SVG_COLORS = {"raw": "#555555", "c": "#1f77b4", "go": "#2ca02c", "rust-async": "#d62728",
              "rust-sync": "#ff7f0e"}


def svg_chart(points, placement, sizes):
    """Two panels (1 and 16 connections): calls/s by payload size, one line per server (raw
    dashed), log scale."""
    import math
    w, h, pad_l, pad_b, pad_t, gap = 460, 320, 60, 50, 40, 40
    total_w = 2 * w + gap + 140
    rows = [p for p in points if p["placement"] == placement and p.get("ok")]
    vals = []
    for p in rows:
        v = p["calls_per_s"]
        p["_y"] = v
        if v > 0:
            vals.append(v)
    if not vals:
        return "<svg xmlns='http://www.w3.org/2000/svg'/>"
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    out = ["<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
           "font-family='sans-serif' font-size='11'>" % (total_w, h + pad_t),
           "<rect width='100%' height='100%' fill='white'/>",
           "<text x='10' y='16' font-size='13'>ttrpc Echo/Echo, closed loop, one call in flight "
           "per connection, CPU placement '%s': calls/s by payload size (log scale)</text>"
           % placement]
    for panel, conns in enumerate((1, 16)):
        x0 = panel * (w + gap) + pad_l
        pw, ph = w - pad_l - 10, h - pad_b - 10
        y0 = pad_t

        def ypos(v):
            return y0 + ph - (math.log10(v) - math.log10(lo)) / \
                (math.log10(hi) - math.log10(lo)) * ph

        def xpos(i):
            return x0 + i * pw / max(1, len(sizes) - 1)
        out.append("<text x='%d' y='%d' font-size='12'>%d connection%s</text>"
                   % (x0, y0 - 6, conns, "" if conns == 1 else "s"))
        out.append("<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>"
                   % (x0, y0, pw, ph))
        decade = lo
        while decade <= hi * 1.001:
            y = ypos(decade)
            out.append("<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#ddd'/>"
                       % (x0, x0 + pw, y, y))
            out.append("<text x='%d' y='%.1f' text-anchor='end'>%g</text>" % (x0 - 4, y + 4,
                                                                               decade))
            decade *= 10
        for i, s in enumerate(sizes):
            out.append("<text x='%.1f' y='%d' text-anchor='middle'>%s</text>"
                       % (xpos(i), y0 + ph + 16, size_name(s).replace(" max", "")))
        for name in SERVERS:
            pts = sorted((p for p in rows if p["server"] == name and p["conns"] == conns),
                         key=lambda p: p["size"])
            coords = ["%.1f,%.1f" % (xpos(sizes.index(p["size"])), ypos(p["_y"]))
                      for p in pts if p["_y"] > 0 and p["size"] in sizes]
            if coords:
                dash = " stroke-dasharray='5,3'" if name == "raw" else ""
                out.append("<polyline fill='none' stroke='%s' stroke-width='2'%s points='%s'/>"
                           % (SVG_COLORS[name], dash, " ".join(coords)))
    lx = 2 * w + gap + 10
    for i, name in enumerate(SERVERS):
        y = pad_t + 20 + i * 18
        out.append("<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='%s' stroke-width='2'/>"
                   % (lx, lx + 20, y, y, SVG_COLORS[name]))
        out.append("<text x='%d' y='%d'>%s</text>" % (lx + 26, y + 4, name))
    out.append("</svg>")
    for p in rows:
        p.pop("_y", None)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="directory holding the programs")
    ap.add_argument("--seconds", type=float, default=1.0, help="measured window per point")
    ap.add_argument("--warmup", type=float, default=0.2)
    ap.add_argument("--out", default="build/reports")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--placements", default=",".join(PLACEMENTS))
    ap.add_argument("--sizes", default=None, help="comma list; default: ttrpc-bench sizes")
    ap.add_argument("--conns", default="1,16")
    ap.add_argument("--codec-seconds", type=float, default=0.3)
    ap.add_argument("--no-pair", action="store_true",
                    help="skip the raw-echo point run just before each server point")
    ap.add_argument("--chart", default="shared", help="the placement the SVG shows")
    args = ap.parse_args()

    bench = os.path.join(args.bin, "ttrpc-bench")
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [int(s) for s in subprocess.check_output([bench, "sizes"], text=True).split()]
    max_size = max(sizes)
    conns_list = [int(c) for c in args.conns.split(",")]
    servers = [s for s in args.servers.split(",") if s]
    if "raw" not in servers:
        servers.insert(0, "raw")  # every ratio needs it
    placements = [p for p in args.placements.split(",") if p]
    if (os.cpu_count() or 1) < 2:
        placements = [p for p in placements if p != "split"]
    started = time.time()
    info = machine()
    print("machine: %d CPUs, %s, Linux %s, load average %.2f at start"
          % (info["nproc"], info["cpu_model"], info["kernel"], info["loadavg_at_start"][0]))
    print("points: %g s each after %g s warm-up; %d servers x %d sizes x %d conn counts x %d "
          "placements" % (args.seconds, args.warmup, len(servers), len(sizes), len(conns_list),
                          len(placements)), flush=True)

    codec = []
    out = subprocess.run([bench, "codec", "--seconds", str(args.codec_seconds)],
                         capture_output=True, text=True)
    points, rss, problems = [], {}, []
    for line in out.stdout.splitlines():
        codec.append(json.loads(line))
    if out.returncode != 0:
        problems.append("ttrpc-bench codec failed: %s" % out.stderr.strip())
    rundir = tempfile.mkdtemp(prefix="ttrpc-bench.")
    for placement in placements:
        server_cpu, gen_cpu = PLACEMENTS[placement]
        # raw-echo stays up for the whole placement: its own pass, then a paired point before
        # every server point.
        try:
            raw_server = Server("raw", args.bin, rundir, server_cpu)
        except (RuntimeError, OSError) as e:
            problems.append("%s/raw: %s" % (placement, e))
            raw_server = None
        for name in servers:
            if name == "raw":
                server = raw_server
                if server is None:
                    continue
            else:
                try:
                    server = Server(name, args.bin, rundir, server_cpu)
                except (RuntimeError, OSError) as e:
                    problems.append("%s/%s: %s" % (placement, name, e))
                    continue
            peak16 = 0
            for size in sizes:
                for conns in conns_list:
                    if not server.alive():
                        server.stop()
                        problems.append("%s/%s died before size %d" % (placement, name, size))
                        server = Server(name, args.bin, rundir, server_cpu)
                    pair = None
                    if name != "raw" and raw_server is not None and not args.no_pair:
                        pair = run_point(args, raw_server, size, conns, gen_cpu)
                    p = run_point(args, server, size, conns, gen_cpu)
                    p["placement"] = placement
                    if pair is not None:
                        p["raw_pair"] = {k: pair.get(k) for k in (
                            "ok", "calls", "calls_per_s", "p50_us", "p99_us",
                            "gen_cpu_us_per_call", "server_cpu_us_per_call")}
                    points.append(p)
                    if not p.get("ok"):
                        problems.append("%s/%s size %d conns %d: %s"
                                        % (placement, name, size, conns, p.get("error")))
                    if conns == 16:
                        peak16 = max(peak16, p["server_rss_peak"])
                    print("  %-6s %-10s %-14s %2d conns: %s" % (
                        placement, name, size_name(size), conns,
                        "%s calls/s, p50 %s" % (fmt_rate(p["calls_per_s"]), fmt_us(p["p50_us"]))
                        if p.get("ok") else "FAILED " + p.get("error", "")), flush=True)
            end = proc_status(server.proc.pid)
            rss[(placement, name)] = {"idle": server.idle.get("VmRSS", 0), "peak16": peak16,
                                      "hwm": end.get("VmHWM", 0)}
            if name != "raw":
                server.stop()
        if raw_server is not None:
            raw_server.stop()

    info["loadavg_at_end"] = os.getloadavg()
    targets = []
    for placement in placements:
        targets += evaluate_targets(points, rss, placement, max_size)

    print()
    print("## Frame decoder against memcpy (64 KiB feeds)\n")
    print("| frame data | decoder MB/s | frames/s | memcpy MB/s | ratio |\n|---|---|---|---|---|")
    for c in codec:
        if c["kind"] == "decoder":
            print("| %s | %.0f | %s | %.0f | %.2f |" % (
                size_name(c["frame_data"]), c["decode_bytes_s"] / 1e6,
                fmt_rate(c["decode_frames_s"]), c["memcpy_bytes_s"] / 1e6,
                c["ratio_to_memcpy"]))
    for c in codec:
        if c["kind"] == "memcpy":
            print("memcpy of %s blocks: %.0f MB/s" % (size_name(c["block"]), c["bytes_s"] / 1e6))
    for placement in placements:
        print("\n## Placement %s (server CPU %s, generator CPU %s)\n" % (
            placement, *[c if c is not None else "any" for c in PLACEMENTS[placement]]))
        for conns in conns_list:
            print(compact(points, placement, conns, sizes))
            print()
        print(table(points, placement))
    print("\n## Server memory (MiB): idle after start / peak sampled under 16 conns / VmHWM\n")
    print("| server | " + " | ".join(placements) + " |\n|---|" + "---|" * len(placements))
    for name in servers:
        cells = []
        for placement in placements:
            r = rss.get((placement, name))
            cells.append("%s / %s / %s" % (mib(r["idle"]), mib(r["peak16"]), mib(r["hwm"]))
                         if r else "-")
        print("| %s | %s |" % (name, " | ".join(cells)))
    print("\n## Targets\n")
    print("| placement | target | verdict | measured |\n|---|---|---|---|")
    for t in targets:
        print("| %s | %s | %s | %s |" % (t["placement"], t["target"], t["verdict"], t["detail"]))
    if problems:
        print("\nproblems:")
        for p in problems:
            print("  " + p)

    os.makedirs(args.out, exist_ok=True)
    report = {
        "machine": info,
        "config": {"seconds": args.seconds, "warmup": args.warmup, "sizes": sizes,
                   "conns": conns_list, "servers": servers,
                   "placements": {p: PLACEMENTS[p] for p in placements}},
        "codec": codec,
        "points": points,
        "rss": [dict(placement=k[0], server=k[1], **v) for k, v in rss.items()],
        "targets": targets,
        "problems": problems,
        "wall_seconds": time.time() - started,
    }
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(report, f, indent=1)
    # One core for both ends has no cross-CPU wake-ups, the noisiest part of a VM's numbers.
    chart_placement = args.chart if args.chart in placements else placements[0]
    with open(os.path.join(args.out, "bench.svg"), "w") as f:
        f.write(svg_chart(points, chart_placement, sizes))
    print("\nload average at the end: %.2f (other work on the machine skews every number)"
          % info["loadavg_at_end"][0])
    print("\nwrote %s and %s (%.0f s in all)" % (os.path.join(args.out, "bench.json"),
                                                 os.path.join(args.out, "bench.svg"),
                                                 time.time() - started))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
