#!/usr/bin/env python3
"""Throughput benchmark for reghivedump.

Generates splunkd-like SCP v2 request streams (bench/gen_stream.py), drives
each candidate with them the way splunkd does (bench/drive.rs, compiled with
rustc -O, moves the bytes and measures; this script checks its summary of every
reply), and prints a markdown report (events/s, MB/s, peak RSS, ratios, startup
cost).

Candidates, on the same stream, in the same run (interleaved per repeat):
  reghivedump   the command under test (target/release/reghivedump by default)
  splunklib     the same rule as a splunklib StreamingCommand
                (bench/splunklib_reghivedump.py, splunk-sdk from a venv)
  floor         bench/echo_chunk.rs: reads each request whole and sends its body
                back unchanged (no CSV, no rule), with the command's kernel hints:
                the floor for any command that obeys the protocol's
                read-the-request-then-reply rule
  cat           `cat` driven by the same driver: the floor for moving the bytes
                through the same pipes, chunk by chunk (cat echoes each request,
                which is itself a well-formed chunk, and overlaps in and out)
  cat-1MiB      the same with the pipes set to 1 MiB by the driver: the size the
                command sets for its own pipes
  cat-stream    the whole stream through `cat` with a concurrent reader
                (pipelined, not half-duplex; shown for reference)

Usage: python3 bench/run.py [--quick] [--bin PATH] [--repeat N] [--out FILE]
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, "target", "bench")
SDK_VERSION = "2.1.1"

sys.path.insert(0, HERE)
import gen_stream  # noqa: E402

PIPE_SIZE = 0   # 0: the system's default pipe buffer; else F_SETPIPE_SZ on every pipe
DRIVE = None    # the compiled bench/drive.rs


class ProtocolError(Exception):
    pass


# --------------------------------------------------------------------------
# streams

CONFIGS = {
    # name: (events, bytes_per_event or None for the natural event, required fields only)
    "10k": (10_000, None, False),
    "100k": (100_000, None, False),
    "1M": (1_000_000, None, False),
    "100k-0.2KB": (100_000, 200, False),
    "100k-4KB": (100_000, 4000, False),
    "100k-required": (100_000, None, True),
}
DEFAULT_CONFIGS = ["10k", "100k", "1M", "100k-0.2KB", "100k-4KB", "100k-required"]
QUICK_CONFIGS = ["10k", "100k-0.2KB"]
# The bars are judged on these: the realistic event, every field sent.
BENCHMARK_STREAMS = ("10k", "100k", "1M")


def stream_path(events, bpe, chunk_size, seed, only_fields):
    tag = ""
    if only_fields is not None:
        tag = "_only" + hashlib.sha1(",".join(only_fields).encode()).hexdigest()[:10]
    name = "ev%d_bpe%s_cs%d_seed%d%s.bin" % (events, bpe or "natural", chunk_size, seed, tag)
    return os.path.join(WORK, "streams", name)


def ensure_stream(events, bpe, chunk_size, seed, only_fields=None):
    path = stream_path(events, bpe, chunk_size, seed, only_fields)
    meta_path = path + ".json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("format") == 1 and os.path.getsize(path) == meta["bytes"]:
            return path, meta
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log("generating %s ..." % os.path.relpath(path, ROOT))
    t = time.perf_counter()
    meta = gen_stream.generate(path, events, chunk_size, bpe, seed, 0.001, 0.002,
                               only_fields=only_fields)
    log("  %d bytes, %d matches, %.1f s" % (meta["bytes"], meta["matches"], time.perf_counter() - t))
    return path, meta


# --------------------------------------------------------------------------
# the driver (bench/drive.rs)

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def drive(mode, path, argv, extra=()):
    """Run bench/drive.rs in one mode over one stream; its JSON result."""
    cmd = [DRIVE, mode, "--stream", path]
    if PIPE_SIZE:
        cmd += ["--pipe-size", str(PIPE_SIZE)]
    cmd += list(extra) + ["--"] + list(argv)
    p = subprocess.run(cmd, stdout=subprocess.PIPE)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        raise ProtocolError("driver exited with %d and no result" % p.returncode)
    if "error" in res:
        raise ProtocolError(res["error"])
    return res


def run_protocol(name, argv, path, meta, verify, logdir, pipe_size=None):
    """Drive one candidate over a whole stream, half-duplex, and check every reply.
    The driver's clock stops while it summarises a reply (the child is blocked in
    read() then); the checks here run after the child has exited."""
    stderr_path = os.path.join(logdir, "%s.stderr" % name)
    extra = ["--stderr", stderr_path]
    if pipe_size:
        extra += ["--pipe-size", str(pipe_size)]
    if verify is CommandCheck:
        extra += ["--csv", CommandCheck.match_field]
    res = drive("protocol", path, argv, extra)
    checker = verify(meta)
    if res["replies"] != len(meta["chunks"]) + 1:
        raise ProtocolError("%d replies for %d requests" % (res["replies"], len(meta["chunks"]) + 1))
    for s in res["summaries"]:
        checker(json.loads(s["request"]), s)
    checker.done()
    return {"wall": res["wall"], "cpu": res["user"] + res["sys"], "rss_kib": res["rss_kib"],
            "replies": res["replies"], "driver_cpu": res["driver_cpu"]}


def run_cat_stream(path, meta):
    """The whole stream through cat, writer and reader concurrent."""
    res = drive("stream", path, ["cat"])
    if res["bytes_out"] != meta["bytes"]:
        raise ProtocolError("cat moved %d of %d bytes" % (res["bytes_out"], meta["bytes"]))
    return {"wall": res["wall"], "cpu": res["user"] + res["sys"], "rss_kib": res["rss_kib"],
            "replies": 0, "driver_cpu": res["driver_cpu"]}


# --------------------------------------------------------------------------
# reply checks, on the driver's summary of each reply:
#   meta (reply metadata text), body_bytes, same_body (body == request body),
#   same_chunk (metadata and body == the request's), and with --csv the body's
#   csv: utf8, error, header, rows, ragged [row, cells], id_bad, id_runs
#   [[first, count], ...] of _serial/_chunked_idx, match_rows (non-empty match field)

def reply_meta(s):
    try:
        reply = json.loads(s["meta"])
    except ValueError:
        raise ProtocolError("reply metadata is not JSON: %r" % s["meta"][:200])
    if not isinstance(reply, dict):
        raise ProtocolError("reply metadata is not an object")
    return reply


class EchoCheck:
    """cat: every reply must be the request, byte for byte."""

    def __init__(self, meta):
        pass

    def __call__(self, req_meta, s):
        if not s["same_chunk"]:
            raise ProtocolError("cat echo differs from the request")

    def done(self):
        pass


class FloorCheck:
    """The half-duplex floor: `finished` echoed, the body sent back unchanged."""

    def __init__(self, meta):
        pass

    def __call__(self, req_meta, s):
        reply = reply_meta(s)
        if req_meta.get("action") == "execute" and reply.get("finished") != req_meta.get("finished"):
            raise ProtocolError("floor: finished not echoed")
        if not s["same_body"]:
            raise ProtocolError("floor: body differs from the request")

    def done(self):
        pass


class CommandCheck:
    """A streaming command: getinfo answered with a streaming type and no error;
    one reply per execute request echoing `finished`; a well-formed UTF-8 CSV
    body; every input row comes back once and in order (by _serial); the rows
    carrying `match_field` are exactly the events the generator made to match."""

    match_field = "detection_name"

    def __init__(self, meta):
        self.meta = meta
        self.chunk = 0
        self.next_serial = 0
        self.matches = []
        self.rows = 0

    def __call__(self, req_meta, s):
        reply = reply_meta(s)
        if "error" in reply:
            raise ProtocolError("reply carries an error: %r" % reply["error"])
        for level, text in reply.get("inspector", {}).get("messages", []):
            if str(level).upper() in ("ERROR", "FATAL"):
                raise ProtocolError("reply carries an %s message: %s" % (level, text))
        if req_meta.get("action") == "getinfo":
            if reply.get("type", "streaming") != "streaming":
                raise ProtocolError("getinfo reply type %r" % reply.get("type"))
            # required_fields is allowed: the benchmark sends every field anyway
            # (the worst case for the command).
            if s["body_bytes"]:
                raise ProtocolError("getinfo reply has a body")
            return
        if bool(reply.get("finished", False)) != bool(req_meta.get("finished", False)):
            raise ProtocolError("reply finished=%r for request finished=%r"
                                % (reply.get("finished"), req_meta.get("finished")))
        expect = self.meta["chunks"][self.chunk]
        self.chunk += 1
        c = s["csv"]
        if not c["utf8"]:
            raise ProtocolError("reply body is not UTF-8")
        if "error" in c:
            raise ProtocolError("reply body is not CSV: %s" % c["error"])
        header = c["header"]
        if header is None:
            if expect:
                raise ProtocolError("empty reply body for %d input rows" % expect)
            return
        # rows are identified by _serial, or by _chunked_idx (0.. within the chunk)
        # in a stream that carries only the required fields
        if "_serial" in header:
            base = 0
        elif "_chunked_idx" in header:
            base = self.next_serial
        else:
            raise ProtocolError("reply header has neither _serial nor _chunked_idx")
        if c["ragged"]:
            row, cells = c["ragged"]
            raise ProtocolError("row %d of %d cells under a header of %d" % (row, cells, len(header)))
        if c["id_bad"] is not None:
            raise ProtocolError("row %d has no integer _serial/_chunked_idx" % c["id_bad"])
        n = c["rows"]
        if n != expect:
            raise ProtocolError("%d rows out for %d rows in" % (n, expect))
        runs = c["id_runs"]
        if n and (c["id_runs_truncated"] or len(runs) != 1 or runs[0] != [self.next_serial - base, n]):
            raise ProtocolError("rows out of order: _serial runs %r..., expected [[%d, %d]]"
                                % (runs[:3], self.next_serial - base, n))
        if self.match_field in header:
            self.matches += [self.next_serial + r for r in c["match_rows"]]
        self.next_serial += n
        self.rows += n

    def done(self):
        if self.chunk != len(self.meta["chunks"]):
            raise ProtocolError("answered %d of %d execute chunks" % (self.chunk, len(self.meta["chunks"])))
        if self.matches != self.meta["match_serials"]:
            raise ProtocolError("flagged %d events, expected %d (first differences: %r)"
                                % (len(self.matches), self.meta["matches"],
                                   sorted(set(self.matches) ^ set(self.meta["match_serials"]))[:5]))


# --------------------------------------------------------------------------
# startup

def getinfo_reply(argv, path):
    """The command's getinfo reply metadata (a dict), from one getinfo-only run."""
    return json.loads(drive("getinfo", path, argv, ["--runs", "1"])["reply"])


def startup(bin_argv, sl_argv, path, runs, sl_runs):
    # interleaved with `true`, so both see the same background load
    r = drive("getinfo", path, bin_argv, ["--runs", str(runs), "--baseline", "true"])
    res = {"true": r["baseline"], "reghivedump": r["runs"], "reghivedump_reply": r["reply"]}
    if sl_argv and sl_runs:
        res["splunklib"] = drive("getinfo", path, sl_argv, ["--runs", str(sl_runs)])["runs"]
    return res


# --------------------------------------------------------------------------
# environment

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
                break
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "pipe": "%d KiB" % ((PIPE_SIZE or fcntl_pipe_size()) // 1024)}


def fcntl_pipe_size():
    import fcntl
    r, w = os.pipe()
    try:
        return fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
    finally:
        os.close(r)
        os.close(w)


def ensure_venv():
    venv = os.path.join(WORK, "venv")
    py = os.path.join(venv, "bin", "python")
    ok = False
    if os.path.exists(py):
        r = subprocess.run([py, "-c", "import splunklib; print(splunklib.__version__)"],
                           capture_output=True, text=True)
        ok = r.returncode == 0 and r.stdout.strip() == SDK_VERSION
    if not ok:
        log("creating %s with splunk-sdk==%s ..." % (os.path.relpath(venv, ROOT), SDK_VERSION))
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "splunk-sdk==%s" % SDK_VERSION], check=True)
    return py


def build_rs(name):
    """Compile bench/<name>.rs (std only, no crate) into target/bench/<name>."""
    src = os.path.join(HERE, name + ".rs")
    out = os.path.join(WORK, name)
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        log("rustc -O bench/%s.rs ..." % name)
        os.makedirs(WORK, exist_ok=True)
        subprocess.run(["rustc", "-O", "--edition", "2021", src, "-o", out], check=True)
    return out


def build():
    log("cargo build --release ...")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "reghivedump")


# --------------------------------------------------------------------------
# report

def fmt_int(x):
    return "{:,}".format(int(round(x)))


def median(xs):
    return statistics.median(xs)


def report(args, mach, results, start, cmdline, commit):
    L = []
    w = L.append
    w("# Benchmark results\n")
    w("Written by `bench/run.py`; [README.md](README.md) says what each number measures.\n")
    w("## Machine\n")
    w("- `nproc`: %s; CPU: %s; memory: %s; Linux %s; Python %s; pipe buffer %s"
      % (mach["nproc"], mach["cpu"], mach["mem"], mach["kernel"], mach["python"], mach["pipe"]))
    w("- command under test: `%s`%s" % (args.bin_label, (" at commit `%s`" % commit) if commit else ""))
    w("- splunklib: splunk-sdk %s (StreamingCommand, `bench/splunklib_reghivedump.py`)" % SDK_VERSION)
    w("- run: `%s`" % cmdline)
    w("- timings: best (fastest) of %d interleaved repeats, median in brackets; the machine is "
      "shared, and load from others only ever adds time, so ratios and bars use the best runs; "
      "CPU = child user+sys (median); driver CPU = the driver's (`bench/drive.rs`) own CPU "
      "while its clock runs (median); "
      "peak RSS = child's VmHWM read just before its stdin is closed. MB = 10^6 bytes." % args.repeat)
    w("")
    w("## Throughput\n")
    w("| stream | events | B/event | chunks (largest) | candidate | wall s [median] | events/s | MB/s | CPU s | driver CPU s | ns/event | peak RSS MiB |")
    w("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        meta = r["meta"]
        for cand in ("reghivedump", "splunklib", "floor", "cat", "cat-1MiB", "cat-stream"):
            runs = r["runs"].get(cand)
            if runs is None:
                continue
            if isinstance(runs, str):
                w("| %s | %s | %.0f | %d (%.1f MB) | %s | %s | | | | | | |"
                  % (r["name"], fmt_int(meta["events"]), meta["row_bytes_mean"], len(meta["chunks"]),
                     meta["largest_chunk_bytes"] / 1e6, cand, runs))
                continue
            best = median([x["wall"] for x in runs])
            wall = min(x["wall"] for x in runs)
            cpu = median([x["cpu"] for x in runs])
            rss = max(x["rss_kib"] for x in runs) / 1024
            dc = [x["driver_cpu"] for x in runs if x.get("driver_cpu") is not None]
            w("| %s | %s | %.0f | %d (%.1f MB) | %s | %.3f [%.3f] | %s | %.0f | %.3f | %s | %.0f | %.1f |"
              % (r["name"], fmt_int(meta["events"]), meta["row_bytes_mean"], len(meta["chunks"]),
                 meta["largest_chunk_bytes"] / 1e6, cand, wall, best,
                 fmt_int(meta["events"] / wall), meta["bytes"] / wall / 1e6, cpu,
                 "%.3f" % median(dc) if dc else "", wall / meta["events"] * 1e9, rss))
    w("")
    w("## Ratios and bars\n")
    pipes = "%d KiB / 1 MiB" % ((PIPE_SIZE or fcntl_pipe_size()) // 1024)
    w("| stream | events/s ÷ splunklib (bar ≥ 50) | CPU: splunklib ÷ reghivedump | time ÷ cat, same driver, " + pipes + " pipes (bar ≤ 2) | time ÷ cat-stream | time ÷ half-duplex floor | splunklib ÷ floor (best reachable) | peak RSS ÷ largest chunk | RSS bar: ≤ 2 × chunk + 16 MiB |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    bars = {"splunklib": [], "cat": [], "rss": []}

    def med(runs, key="wall"):
        if not isinstance(runs, list):
            return None
        xs = [x[key] for x in runs]
        return min(xs) if key == "wall" else median(xs)

    for r in results:
        runs = r["runs"]
        rh = runs.get("reghivedump")
        if not isinstance(rh, list):
            w("| %s | %s | | | | | | | |" % (r["name"], rh))
            continue
        t_rh = med(rh)
        cells = []
        sl = runs.get("splunklib")
        if isinstance(sl, list):
            ratio = med(sl) / t_rh
            bars["splunklib"].append((r["name"], ratio >= 50))
            cells.append("%.0f× %s" % (ratio, "pass" if ratio >= 50 else "**FAIL**"))
            cells.append("%.0f×" % (med(sl, "cpu") / med(rh, "cpu")))
        else:
            cells += ["not run", ""]
        # The bar holds only if it holds for both pipe sizes: the command widens its
        # pipes to 1 MiB, which also speeds up the driver's side.
        cats = [runs.get(k) for k in ("cat", "cat-1MiB")]
        ratios = [t_rh / med(ct) for ct in cats if isinstance(ct, list)]
        if ratios:
            bars["cat"].append((r["name"], max(ratios) <= 2))
            cells.append("%s %s" % (" / ".join("%.2f" % x for x in ratios),
                                    "pass" if max(ratios) <= 2 else "**FAIL**"))
        else:
            cells.append("")
        for k in ("cat-stream", "floor"):
            cells.append("%.2f" % (t_rh / med(runs[k])) if isinstance(runs.get(k), list) else "")
        if isinstance(sl, list) and isinstance(runs.get("floor"), list):
            cells.append("%.0f×" % (med(sl) / med(runs["floor"])))
        else:
            cells.append("")
        chunk = r["meta"]["largest_chunk_bytes"]
        rss = max(x["rss_kib"] for x in rh) * 1024
        limit = 2 * chunk + 16 * 2**20
        bars["rss"].append((r["name"], rss <= limit))
        cells.append("%.2f" % (rss / chunk))
        cells.append("%.1f ≤ %.1f MiB %s%s" % (rss / 2**20, limit / 2**20,
                                            "pass" if rss <= limit else "**FAIL**",
                                            " (within 1 chunk + 16 MiB)" if rss <= chunk + 16 * 2**20 else ""))
        w("| %s | %s |" % (r["name"], " | ".join(cells)))
    w("")
    # linearity
    by = {r["name"]: r for r in results if isinstance(r["runs"].get("reghivedump"), list)}

    def ns_ev(name):
        r = by[name]
        return min(x["wall"] for x in r["runs"]["reghivedump"]) / r["meta"]["events"] * 1e9

    def ns_b(name):
        r = by[name]
        return min(x["wall"] for x in r["runs"]["reghivedump"]) / r["meta"]["bytes"] * 1e9

    def cpu_ev(name):
        r = by[name]
        return median([x["cpu"] for x in r["runs"]["reghivedump"]]) / r["meta"]["events"] * 1e9

    def vs(name, other):
        r = by[name]
        o = r["runs"].get(other)
        if not isinstance(o, list):
            return None
        return min(x["wall"] for x in r["runs"]["reghivedump"]) / min(x["wall"] for x in o)

    lin = []
    ev_names = [n for n in ("10k", "100k", "1M") if n in by]
    if len(ev_names) > 1:
        lin.append("- events (same ~1.5 KB event), at %s: wall ns/event %s; CPU ns/event %s; "
                   "time ÷ floor %s. Flat means linear in events."
                   % (", ".join(ev_names), ", ".join("%.0f" % ns_ev(n) for n in ev_names),
                      ", ".join("%.0f" % cpu_ev(n) for n in ev_names),
                      ", ".join("%.2f" % (vs(n, "floor") or 0) for n in ev_names)))
    b_names = [n for n in ("100k-0.2KB", "100k", "100k-4KB") if n in by]
    if len(b_names) > 1:
        lin.append("- bytes, at %s: wall ns/input byte %s; CPU ns/input byte %s; wall ns/event %s"
                   % (", ".join("%s (%.0f B/event)" % (n, by[n]["meta"]["row_bytes_mean"]) for n in b_names),
                      ", ".join("%.2f" % ns_b(n) for n in b_names),
                      ", ".join("%.2f" % (cpu_ev(n) * by[n]["meta"]["events"] / by[n]["meta"]["bytes"])
                                for n in b_names),
                      ", ".join("%.0f" % ns_ev(n) for n in b_names)))
        xs = [by[n]["meta"]["bytes"] / by[n]["meta"]["events"] for n in b_names]
        for label, f in (("wall", ns_ev), ("CPU", cpu_ev)):
            ys = [f(n) for n in b_names]
            mx, my = statistics.mean(xs), statistics.mean(ys)
            b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            lin.append("- least-squares fit over those streams, %s: time per event ≈ %.0f ns + %.3f ns × bytes"
                       % (label, my - b * mx, b))
    if lin:
        w("## Linearity\n")
        L.extend(lin)
        w("")
    if start:
        w("## Startup (getinfo-only run)\n")
        w("Spawn, write the getinfo request, read the reply, close stdin, wait for exit; "
          "%d runs each." % len(start["reghivedump"]))
        w("")
        w("| program | median ms | p90 ms | min ms |")
        w("|---|---:|---:|---:|")
        for k in ("true", "reghivedump", "splunklib"):
            if k in start:
                xs = sorted(start[k])
                w("| %s | %.2f | %.2f | %.2f |" % (
                    "`true` (spawn and exit, no I/O)" if k == "true" else k,
                    median(xs) * 1e3, xs[int(len(xs) * 0.9) - 1 if len(xs) > 1 else 0] * 1e3, xs[0] * 1e3))
        med = median(start["reghivedump"]) * 1e3
        diff = median([a - b for a, b in zip(start["reghivedump"], start["true"])]) * 1e3
        w("| reghivedump − `true`, paired runs | %.2f | | |" % diff)
        w("")
        w("reghivedump getinfo reply: `%s`. Bar (well under 5 ms): %.2f ms, %s; %.2f ms above `true`."
          % (start["reghivedump_reply"], med, "pass" if med < 5 else "**FAIL**",
             med - median(start["true"]) * 1e3))
        w("")
    # The bars are judged on the benchmark stream (the ~1.5 KB event, all fields);
    # the other streams show how cost scales, and are summarised apart.
    for title, names in (("benchmark stream (~1.5 KB events, all fields: 10k, 100k, 1M)",
                          BENCHMARK_STREAMS),
                         ("all streams", None)):
        summary = []
        for key, label in (("splunklib", "≥ 50× splunklib"), ("cat", "≤ 2× cat"),
                           ("rss", "RSS ≤ 2 chunks + 16 MiB")):
            verdicts = [ok for name, ok in bars[key] if names is None or name in names]
            if verdicts:
                summary.append("%s: %s" % (label, "pass" if all(verdicts) else "**FAIL**"))
        if summary:
            w("Summary, %s: %s." % (title, "; ".join(summary)))
            w("")
    return "\n".join(L)


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="reghivedump throughput benchmark")
    ap.add_argument("--bin", help="command under test (default: cargo build --release, then "
                                  "target/release/reghivedump)")
    ap.add_argument("--configs", default=None,
                    help="comma-separated streams, from: %s (default: all)" % ", ".join(CONFIGS))
    ap.add_argument("--quick", action="store_true", help="small streams, 1 repeat, 20 startup runs")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--splunklib-max-events", type=int, default=100_000,
                    help="skip splunklib on streams with more events (default 100000)")
    ap.add_argument("--startup-runs", type=int, default=200)
    ap.add_argument("--match-field", default="detection_name",
                    help="reply column that is non-empty on flagged events")
    ap.add_argument("--candidates", default="reghivedump,splunklib,floor,cat,cat-1MiB,cat-stream")
    ap.add_argument("--pipe-size", type=int, default=0,
                    help="set every pipe's buffer to this many bytes (default: the system's, "
                         "64 KiB on Linux)")
    ap.add_argument("--out", help="also write the markdown report to this file")
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
        args.startup_runs = 20
    names = args.configs.split(",") if args.configs else (QUICK_CONFIGS if args.quick else DEFAULT_CONFIGS)
    for n in names:
        if n not in CONFIGS:
            ap.error("unknown stream %r" % n)
    cands = args.candidates.split(",")
    global PIPE_SIZE
    PIPE_SIZE = args.pipe_size
    CommandCheck.match_field = args.match_field

    if args.bin:
        bin_path = os.path.abspath(args.bin)
        args.bin_label = args.bin
    else:
        bin_path = build()
        args.bin_label = "target/release/reghivedump"
    commit = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip() or None
    except OSError:
        pass
    sl_py = ensure_venv() if "splunklib" in cands else None
    sl_argv = [sl_py, os.path.join(HERE, "splunklib_reghivedump.py")] if sl_py else None
    bin_argv = [bin_path]
    floor_argv = [build_rs("echo_chunk")] if "floor" in cands else None
    global DRIVE
    DRIVE = build_rs("drive")
    cat = shutil.which("cat")
    logdir = os.path.join(WORK, "logs")
    os.makedirs(logdir, exist_ok=True)

    # The fields the command asks splunkd for, from its own getinfo reply.
    probe_path, _ = ensure_stream(10, None, args.chunk_size, args.seed)
    required = None
    if any(CONFIGS[n][2] for n in names):
        required = getinfo_reply(bin_argv, probe_path).get("required_fields")
        if not required:
            log("the command declares no required_fields: skipping the required-fields stream")
            names = [n for n in names if not CONFIGS[n][2]]

    results = []
    failed = False
    for name in names:
        events, bpe, required_only = CONFIGS[name]
        path, meta = ensure_stream(events, bpe, args.chunk_size, args.seed,
                                   required if required_only else None)
        entry = {"name": name, "meta": meta, "runs": {}}
        plan = []
        for c in cands:
            if c == "splunklib" and events > args.splunklib_max_events:
                entry["runs"][c] = "skipped (> %s events)" % fmt_int(args.splunklib_max_events)
                continue
            plan.append(c)
        for rep in range(args.repeat):
            for c in plan:
                if isinstance(entry["runs"].get(c), str):
                    continue
                log("[%s] %s run %d/%d" % (name, c, rep + 1, args.repeat))
                try:
                    if c == "reghivedump":
                        res = run_protocol(c, bin_argv, path, meta, CommandCheck, logdir)
                    elif c == "splunklib":
                        res = run_protocol(c, sl_argv, path, meta, CommandCheck, logdir)
                    elif c == "floor":
                        res = run_protocol(c, floor_argv, path, meta, FloorCheck, logdir)
                    elif c == "cat":
                        res = run_protocol(c, [cat], path, meta, EchoCheck, logdir)
                    elif c == "cat-1MiB":
                        res = run_protocol(c, [cat], path, meta, EchoCheck, logdir, 1 << 20)
                    elif c == "cat-stream":
                        res = run_cat_stream(path, meta)
                    else:
                        raise SystemExit("unknown candidate %r" % c)
                except ProtocolError as e:
                    log("  FAILED: %s" % e)
                    entry["runs"][c] = "FAILED: %s" % str(e).replace("|", "/")[:150]
                    failed = True
                    continue
                log("  %.3f s, %.0f events/s, peak RSS %.1f MiB"
                    % (res["wall"], events / res["wall"], res["rss_kib"] / 1024))
                entry["runs"].setdefault(c, []).append(res)
        results.append(entry)

    start = None
    if "reghivedump" in cands and args.startup_runs:
        log("startup: %d getinfo-only runs" % args.startup_runs)
        try:
            start = startup(bin_argv, sl_argv, probe_path, args.startup_runs,
                            min(20, args.startup_runs) if sl_argv else 0)
        except ProtocolError as e:
            log("  FAILED: %s" % e)
            failed = True

    cmdline = "python3 bench/run.py" + ("".join(" " + a for a in sys.argv[1:]))
    text = report(args, machine(), results, start, cmdline, commit)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
