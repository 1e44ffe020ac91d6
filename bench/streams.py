#!/usr/bin/env python3
"""Thousands of concurrent streams (issue 14): bench/run.sh --streams N.

Started by bench/run.sh, which builds claude-proxy, bench/sse_load and
bench/sse_upstream, raises ulimit -n and installs the peers from npm
(bench/peers, versions pinned in its lockfile). On 127.0.0.1, with free
ports, one server after the other, each with a fresh paced upstream:

  direct        sse_load straight to sse_upstream: the tools alone
  floor         nginx proxy_pass (proxy_buffering off), relaying the
                upstream's OpenAI stream as it is
  process-floor bench/fork_relay: N processes blocking in accept(), one
                stream each, relaying bytes with no translation: the
                floor of claude-proxy's design (a process per stream)
  claude-proxy  workers = max_workers = N: a pool ready for the burst
  claude-proxy adaptive
                workers 4, spare_workers 1 (the defaults), max_workers N:
                the pool grows while the burst waits in the listen queue
  ccr           @musistudio/claude-code-router 2.0.0 (node)
  claudish      claudish 10.1.1 "serve" (bun)

Each server gets N streams opened in one burst (sse_load: a non-blocking
connect each, then epoll), every stream --stream-events events at one per
--stream-interval-ms (sse_upstream paces each stream from its own start).
Per server: streams completed, first byte and duration percentiles (from
just before each connect), the largest gap between events, PSS of all the
server's processes at the middle of the streams (and idle before), the
kernel's page tables and stacks meanwhile (system-wide), the server's CPU
per event relayed and its ratio to the floor's, the client's and the
upstream's own CPU and how late the upstream sent its events (the proof
that neither was the limit), and the CPU other jobs used meanwhile.

Writes bench/results-streams.json and bench/results-streams.txt.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import bench

HERE = bench.HERE
TICK = bench.TICK

# ---- process trees -----------------------------------------------------------

def descendants(pid):
    """pid and every process below it."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out

def tree_cpu(pid):
    """CPU seconds of pid's tree, plus what its processes reaped.

    Each live process's time comes from /proc/PID/schedstat (nanoseconds
    on the CPU): /proc/PID/stat counts whole clock ticks, and a worker
    that relays one stream runs for a few milliseconds, so summing
    thousands of truncated tick counts reads almost nothing. The reaped
    children's time (cutime, cstime) is only kept in ticks, but summed by
    the kernel before it is rounded."""
    total = 0.0
    for p in descendants(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        reaped = (int(rest[13]) + int(rest[14])) / TICK
        try:
            with open("/proc/%d/schedstat" % p) as f:
                own = int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            own = (int(rest[11]) + int(rest[12])) / TICK
        total += own + reaped
    return total

def tree_pss(pid):
    """{"processes", "pss_kib", "uss_kib"} of pid's tree."""
    n = pss = uss = 0
    for p in descendants(pid):
        m = bench.smaps(p)
        if m:
            n += 1
            pss += m["pss_kib"]
            uss += m["uss_kib"]
    return {"processes": n, "pss_kib": pss, "uss_kib": uss}

def kernel_mem():
    """System-wide page tables and kernel stacks, KiB."""
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("PageTables", "KernelStack"):
                out[k] = int(v.split()[0])
    return out

def wait_for(pred, timeout, what, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(step)
    raise RuntimeError("timed out waiting for %s" % what)

# ---- the servers ---------------------------------------------------------------

FLOOR_CONF = """
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    tcp_nodelay on;
    keepalive_timeout 300s;
    upstream slow {{
        server 127.0.0.1:{upstream_port};
        keepalive {conns};
    }}
    server {{
        listen 127.0.0.1:{port} backlog=65535;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / {{
            proxy_pass http://slow;
            proxy_buffering off;    # relay each event as it comes
            proxy_read_timeout 300s;
        }}
    }}
}}
"""

ANTHROPIC_BODY = {"model": "bench-slow", "max_tokens": 4096, "stream": True,
                  "messages": [{"role": "user",
                                "content": "Trickle, please."}]}
OPENAI_BODY = {"model": "bench-slow-remote", "stream": True,
               "stream_options": {"include_usage": True},
               "messages": [{"role": "user", "content": "Trickle, please."}]}

def write_body(tmp, name, doc):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return path

def openai_client(tmp):
    return {"path": "/v1/chat/completions",
            "body": write_body(tmp, "openai.json", OPENAI_BODY),
            "headers": ["Authorization: Bearer bench"],
            "end": "[DONE]", "fail": None}

def anthropic_client(tmp):
    return {"path": "/v1/messages",
            "body": write_body(tmp, "anthropic.json", ANTHROPIC_BODY),
            "headers": ["anthropic-version: 2023-06-01",
                        "x-api-key: bench"],
            "end": "event: message_stop", "fail": "event: error"}

def start_direct(ctx, uport):
    return {"pid": None, "port": uport, "client": openai_client(ctx["tmp"]),
            "what": "sse_load straight to sse_upstream (no server)"}

def start_floor(ctx, uport):
    d = os.path.join(ctx["tmp"], "floor")
    os.makedirs(d, exist_ok=True)
    port = bench.free_port()
    conns = max(1024, 3 * ctx["n"] + 64)
    conf = FLOOR_CONF.format(dir=d, port=port, upstream_port=uport,
                             conns=conns, nofile=2 * conns + 64,
                             user="user root;" if os.geteuid() == 0 else "")
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = ctx["procs"].spawn(["nginx", "-p", d + "/", "-e", d + "/error.log",
                            "-c", path], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(d, "stderr.log"), "ab"))
    bench.wait_port(port, p)
    bench.wait_children(p.pid, 2)
    return {"proc": p, "pid": p.pid, "port": port,
            "client": openai_client(ctx["tmp"]),
            "what": "nginx %s, 2 workers, proxy_pass with proxy_buffering "
                    "off" % (bench.sh(["nginx", "-v"]) or "").split("/")[-1]}

def start_process_floor(ctx, uport):
    n = ctx["n"]
    p = ctx["procs"].spawn([ctx["tools"]["fork_relay"], "--workers", str(n),
                            "--upstream-port", str(uport)],
                           stdout=subprocess.PIPE, text=True,
                           stderr=open(os.path.join(ctx["tmp"],
                                                    "fork_relay.log"), "ab"))
    t0 = time.monotonic()
    line = p.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError("fork_relay did not start: %r" % line)
    return {"proc": p, "pid": p.pid, "port": int(line.split()[1]),
            "client": openai_client(ctx["tmp"]),
            "pool_ready_s": round(time.monotonic() - t0, 2),
            "what": "bench/fork_relay, %d processes blocking in accept(), "
                    "one stream each, bytes relayed untranslated" % n}

def start_claude_proxy(ctx, uport, adaptive):
    n = ctx["n"]
    workers = 4 if adaptive else n
    conf = {"port": 0, "workers": workers, "max_workers": n,
            "spare_workers": 1, "log_body_max_chars": 0,
            "log_stream_text_preview_chars": 0,
            "providers": [{"name": "slow",
                           "base_url": "http://127.0.0.1:%d" % uport,
                           "api_key": "bench", "models": [
                               {"id": "bench-slow",
                                "remote_id": "bench-slow-remote"}]}]}
    name = "proxy-adaptive" if adaptive else "proxy"
    path = bench.write_config(ctx["tmp"], name + ".json", conf)
    ok, msg = bench.config_ok(ctx["binary"], path)
    if not ok:
        raise RuntimeError("claude-proxy rejects %s: %s" % (path, msg))
    log = os.path.join(ctx["tmp"], name + ".log")
    cmd = [ctx["binary"], "-c", path, "-l", "127.0.0.1"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    p = ctx["procs"].spawn(cmd, stdout=subprocess.DEVNULL,
                           stderr=open(log, "ab"))
    port = None
    end = time.monotonic() + 30
    while port is None and time.monotonic() < end:
        if p.poll() is not None:
            raise RuntimeError("claude-proxy exited: %s" % open(log).read())
        with open(log) as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            port = int(m.group(1))
        else:
            time.sleep(0.05)
    if port is None:
        raise RuntimeError("claude-proxy did not start: %s" % open(log).read())
    t0 = time.monotonic()
    wait_for(lambda: len(bench.children(p.pid)) >= workers,
             60 + workers / 50, "%d workers" % workers, step=0.25)
    with open(log) as f:
        warnings = [l.strip() for l in f if "max_workers" in l and
                    "too low" in l]
    return {"proc": p, "pid": p.pid, "port": port, "log": log,
            "client": anthropic_client(ctx["tmp"]),
            "pool_ready_s": round(time.monotonic() - t0, 2),
            "host_warnings": warnings,
            "what": "claude-proxy, workers %d, spare_workers 1, "
                    "max_workers %d%s" % (
                        workers, n, " (the pool grows)" if adaptive else
                        " (a pool ready for the burst)")}

def start_ccr(ctx, uport):
    home = os.path.join(ctx["tmp"], "ccr-home")
    os.makedirs(os.path.join(home, ".claude-code-router"), exist_ok=True)
    port = bench.free_port()
    conf = {"LOG": False, "PORT": port, "HOST": "127.0.0.1",
            "NON_INTERACTIVE_MODE": True, "API_TIMEOUT_MS": 600000,
            "Providers": [{"name": "slow", "api_base_url":
                           "http://127.0.0.1:%d/v1/chat/completions" % uport,
                           "api_key": "bench",
                           "models": ["bench-slow-remote"]}],
            "Router": {"default": "slow,bench-slow-remote"}}
    with open(os.path.join(home, ".claude-code-router", "config.json"),
              "w") as f:
        json.dump(conf, f)
    cli = os.path.join(ctx["peers"], "node_modules", "@musistudio",
                       "claude-code-router", "dist", "cli.js")
    env = dict(os.environ, HOME=home)
    p = ctx["procs"].spawn(["node", cli, "start"], env=env, cwd=home,
                           stdout=open(os.path.join(home, "out.log"), "ab"),
                           stderr=subprocess.STDOUT)
    bench.wait_port(port, p, timeout=60)
    return {"proc": p, "pid": p.pid, "port": port,
            "client": anthropic_client(ctx["tmp"]),
            "what": "@musistudio/claude-code-router %s, node %s" % (
                peer_version(ctx, "@musistudio/claude-code-router"),
                (bench.sh(["node", "--version"]) or "?").lstrip("v"))}

def start_claudish(ctx, uport):
    home = os.path.join(ctx["tmp"], "claudish-home")
    os.makedirs(home, exist_ok=True)
    port = bench.free_port()
    models = os.path.join(home, "models.json")
    # ":0": no concurrency limit; by default claudish queues at most 100
    # requests to a local provider and answers the rest 500 "Local model
    # queue full (100/100)"
    with open(models, "w") as f:
        json.dump([{"slot": "bench-slow",
                    "model": "vllm@bench-slow-remote:0"}], f)
    nm = os.path.join(ctx["peers"], "node_modules")
    bun = os.path.join(nm, ".bin", "bun")
    entry = os.path.join(nm, "claudish", "dist", "index.js")
    env = dict(os.environ, HOME=home,
               VLLM_BASE_URL="http://127.0.0.1:%d" % uport)
    # bun runs claudish's own entry point: its node launcher
    # (bin/claudish.cjs) only finds bun and forwards signals
    p = ctx["procs"].spawn([bun, entry, "serve", "--port", str(port),
                            "--models", models], env=env, cwd=home,
                           stdout=open(os.path.join(home, "out.log"), "ab"),
                           stderr=subprocess.STDOUT)
    bench.wait_port(port, p, timeout=60)
    return {"proc": p, "pid": p.pid, "port": port,
            "client": anthropic_client(ctx["tmp"]),
            "what": "claudish %s serve, bun %s" % (
                peer_version(ctx, "claudish"),
                bench.sh([bun, "--version"]) or "?")}

def peer_version(ctx, pkg):
    try:
        with open(os.path.join(ctx["peers"], "node_modules", pkg,
                               "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"

SERVERS = {
    "direct": start_direct,
    "floor": start_floor,
    "process-floor": start_process_floor,
    "claude-proxy": lambda ctx, u: start_claude_proxy(ctx, u, False),
    "claude-proxy-adaptive": lambda ctx, u: start_claude_proxy(ctx, u, True),
    "ccr": start_ccr,
    "claudish": start_claudish,
}

# ---- one run -------------------------------------------------------------------

class PoolWatch(threading.Thread):
    """A server tree's process count every second: when it was largest."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.t0 = pid, time.monotonic()
        self.stop_ev = threading.Event()
        self.samples = []

    def run(self):
        # PSS at the peak: a growing pool is largest late in the run, so
        # PSS is read again whenever the pool is larger than at the last
        # reading (at most every 5 s: reading thousands of smaps_rollup
        # costs CPU the run needs)
        self.pss, pss_n, pss_t = None, 0, 0.0
        while not self.stop_ev.is_set():
            now = time.monotonic()
            n = len(bench.children(self.pid))
            self.samples.append((round(now - self.t0, 2), n))
            if n > pss_n and now - pss_t >= 5:
                m = tree_pss(self.pid)
                m["at_s"] = round(now - self.t0, 1)
                m["kernel"] = kernel_mem()
                pss_n, pss_t = n, now
                if self.pss is None or m["pss_kib"] > self.pss["pss_kib"]:
                    self.pss = m
            self.stop_ev.wait(1.0)

def one(ctx, name):
    args, procs, n = ctx["args"], ctx["procs"], ctx["n"]
    nominal = args.stream_events * args.stream_interval_ms / 1000.0
    if args.wait_idle > 0:
        bench.wait_idle(args.wait_idle)
    up = procs.spawn([ctx["tools"]["sse_upstream"], "--events",
                      str(args.stream_events), "--interval-ms",
                      str(args.stream_interval_ms)],
                     stdout=subprocess.PIPE,
                     stderr=open(os.path.join(ctx["tmp"], "upstream.log"),
                                 "ab"), text=True)
    line = up.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError("sse_upstream did not start")
    uport = int(line.split()[1])
    res = {"server": name}
    srv = None
    k_before = kernel_mem()		# before the server's processes exist
    try:
        srv = SERVERS[name](ctx, uport)
        res["what"] = srv["what"]
        for k in ("pool_ready_s", "host_warnings"):
            if k in srv:
                res[k] = srv[k]
        pid = srv.get("pid")
        time.sleep(1)			# let start-up work settle
        if pid:
            res["idle"] = tree_pss(pid)
        c = srv["client"]
        cmd = [ctx["tools"]["sse_load"], "--port", str(srv["port"]),
               "--streams", str(n), "--path", c["path"], "--body-file",
               c["body"], "--count", '" tok', "--expect",
               str(args.stream_events), "--end", c["end"], "--deadline",
               str(int(nominal * 4 + 120))]
        for h in c["headers"]:
            cmd += ["--header", h]
        if c["fail"]:
            cmd += ["--fail", c["fail"]]
        watch = PoolWatch(pid) if pid else None
        cpu0 = tree_cpu(pid) if pid else 0
        a0 = bench.all_procs()
        t0 = time.monotonic()
        load = procs.spawn(cmd, stdout=subprocess.PIPE,
                           stderr=open(os.path.join(ctx["tmp"], "load.log"),
                                       "ab"), text=True)
        if watch:
            watch.start()
        # memory while every stream is open: the middle of the run, and
        # later for a pool that is still growing
        mid = None
        for at in (0.5, 0.8):
            delay = t0 + nominal * at - time.monotonic()
            if delay > 0 and load.poll() is None:
                time.sleep(delay)
            if pid and load.poll() is None:
                m = tree_pss(pid)
                m["at_s"] = round(time.monotonic() - t0, 1)
                m["kernel"] = kernel_mem()
                if mid is None or m["pss_kib"] > mid["pss_kib"]:
                    mid = m
        out, _ = load.communicate(timeout=nominal * 4 + 180)
        wall = time.monotonic() - t0
        cpu1 = tree_cpu(pid) if pid else 0
        a1 = bench.all_procs()
        if watch:
            watch.stop_ev.set()
            watch.join()
            if watch.pss and (mid is None or
                              watch.pss["pss_kib"] > mid["pss_kib"]):
                mid = watch.pss
        r = json.loads(out)
        res.update(r)
        res["background_cpu_s"] = round(bench.others_cpu(a0, a1), 2)
        res["run_wall_s"] = round(wall, 2)
        if pid:
            res["server_cpu_s"] = round(cpu1 - cpu0, 2)
            events = r["completed"] * args.stream_events
            res["events_relayed"] = events
            res["cpu_us_per_event"] = (round((cpu1 - cpu0) / events * 1e6, 2)
                                       if events else None)
            if mid:
                res["loaded"] = mid
                res["loaded"]["kernel_delta_kib"] = {
                    k: mid["kernel"][k] - k_before[k] for k in k_before}
            if watch and watch.samples:
                top = max(watch.samples, key=lambda s: s[1])
                res["processes_max"] = top[1] + 1
                res["processes_max_at_s"] = top[0]
                # how the pool grew: (seconds into the run, processes)
                res["processes_by_second"] = watch.samples
        if srv.get("proc") is not None and srv["proc"].poll() is not None:
            res["server_exited"] = srv["proc"].returncode
    finally:
        if srv and srv.get("proc") is not None:
            procs.stop(srv["proc"])
        up.send_signal(signal.SIGTERM)
        try:
            out, _ = up.communicate(timeout=20)
            res["upstream"] = json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            res["upstream"] = None
        procs.stop(up)
    return res

# ---- report ----------------------------------------------------------------------

def fmt(v, nd=2):
    return bench.fmt(v, nd)

def mib(kib):
    return None if kib is None else kib / 1024.0

def late_share(u, over_ms):
    """The upstream's events sent more than over_ms late, as a share."""
    if not u:
        return None
    b = u["late_ms_buckets"]
    total = sum(b.values())
    keys = ["1", "2", "5", "10", "20", "50", "100", "inf"]
    late = sum(b[k] for k in keys[keys.index(str(over_ms)) + 1:])
    return late / total if total else None

def table(res):
    s = res["settings"]
    m = res["machine"]
    nominal = s["nominal_s"]
    L = ["claude-proxy streams benchmark, %s" % m["date"],
         "%s, %d cores, %s MiB, Linux %s; claude-proxy %s (%s%s)" % (
             m["cpu_model"], m["nproc"], m["mem_total_mib"], m["kernel"],
             m["claude_proxy"], (m["claude_proxy_commit"] or "?")[:12],
             ", tree dirty" if m["claude_proxy_tree_dirty"] else ""),
         "%d streams opened in one burst, %d events each at one per %d ms "
         "(nominally %.1f s)" % (s["streams"], s["events"],
                                 s["interval_ms"], nominal),
         "load before the run: %s; somaxconn %s, netdev_max_backlog %s, "
         "tcp_max_syn_backlog %s" % (
             s.get("loadavg_before", "?"), s.get("somaxconn", "?"),
             s.get("netdev_max_backlog", "?"),
             s.get("tcp_max_syn_backlog", "?")), ""]
    hdr = "%-22s %9s %8s %8s %8s %8s %8s %9s %9s %8s %7s"
    L.append(hdr % ("server", "complete", "fb p50", "fb p99", "fb max",
                    "dur p99", "gap p99", "PSS MiB", "us/event", "x floor",
                    "other"))
    L.append(hdr % ("", "", "s", "s", "s", "x nom", "s", "at load", "",
                    "", "CPU-s"))
    floor = next((r for r in res["runs"] if r["server"] == "floor"), None)
    fl = floor.get("cpu_us_per_event") if floor else None
    for r in res["runs"]:
        if "error" in r and "completed" not in r:
            L.append("%-22s failed: %s" % (r["server"], r["error"]))
            continue
        fb, du, gp = (r.get("first_byte_s") or {}, r.get("duration_s") or {},
                      r.get("max_gap_s") or {})
        L.append(hdr % (
            r["server"], "%d/%d" % (r["completed"], r["streams"]),
            fmt(fb.get("p50"), 3), fmt(fb.get("p99"), 3),
            fmt(fb.get("max"), 3),
            fmt(du["p99"] / nominal if du.get("p99") else None, 3),
            fmt(gp.get("p99"), 3),
            fmt(mib((r.get("loaded") or {}).get("pss_kib")), 1),
            fmt(r.get("cpu_us_per_event"), 1),
            fmt(bench.ratio(r.get("cpu_us_per_event"), fl)),
            fmt(r.get("background_cpu_s"), 1)))
    L.append("")
    L.append("per server: idle PSS, processes, kernel page tables and stacks "
             "grown since before the server started (system-wide: other jobs "
             "count too), client and upstream CPU, upstream events sent "
             "> 20 ms late")
    for r in res["runs"]:
        if "completed" not in r:
            continue
        ld = r.get("loaded") or {}
        kd = ld.get("kernel_delta_kib") or {}
        u = r.get("upstream") or {}
        L.append("  %-21s idle %s MiB; %s processes at load; page tables "
                 "+%s MiB, stacks +%s MiB; client %s CPU-s, upstream %s "
                 "CPU-s, late %s%%%s" % (
                     r["server"], fmt(mib((r.get("idle") or {}).get(
                         "pss_kib")), 1),
                     ld.get("processes", "-"),
                     fmt(mib(kd.get("PageTables")), 1),
                     fmt(mib(kd.get("KernelStack")), 1),
                     fmt(r.get("cpu_user_s", 0) + r.get("cpu_sys_s", 0), 1),
                     fmt((u.get("cpu_user_s", 0) + u.get("cpu_sys_s", 0))
                         if u else None, 1),
                     fmt((late_share(u, 20) or 0) * 100, 1),
                     "; errors %s" % r["errors"] if r.get("errors") else ""))
        if r.get("processes_max"):
            L.append("  %-21s at most %d processes, %.0f s into the run; "
                     "pool ready %s s after start" % (
                         "", r["processes_max"], r["processes_max_at_s"],
                         r.get("pool_ready_s", "-")))
        for w in r.get("host_warnings", []):
            L.append("  %-21s warning: %s" % ("", w.split(": ", 1)[-1]))
    L.append("")
    L.append("targets:")
    for t in res["targets"]:
        L.append("  [%s] %-62s %s" % ("MET " if t["met"] else
                                      ("MISS" if t["met"] is False else
                                       "n/a "), t["name"], t["measured"]))
    return "\n".join(L) + "\n"

def targets(res):
    """The issue's targets, checked for both claude-proxy pools: one
    started with N workers, and one grown from 4 by the burst."""
    s = res["settings"]
    by = {r["server"]: r for r in res["runs"]}
    fl = (by.get("floor") or {}).get("cpu_us_per_event")
    n, nominal = s["streams"], s["nominal_s"]
    T = []
    # the proof that sse_load and sse_upstream are not the limit: the
    # same load straight through them, and relayed by nginx, meets the
    # timing targets; and what the process-per-stream design can meet at
    # best: the same targets for fork_relay, which relays bytes untouched
    for name in ("direct", "floor", "process-floor"):
        r = by.get(name)
        if r is None or "completed" not in r:
            continue
        fb = (r.get("first_byte_s") or {}).get("p99")
        du = (r.get("duration_s") or {}).get("p99")
        T.append({"name": "%s: all complete, first byte p99 <= 1 s, "
                          "duration p99 <= 1.1 x" % name,
                  "met": (r["completed"] == n and fb is not None and
                          fb <= 1.0 and du is not None and
                          du <= 1.1 * nominal),
                  "measured": "%d of %d, %s s, %s x" % (
                      r["completed"], n, fmt(fb, 3),
                      fmt(du / nominal if du else None, 3))})
    for name in ("claude-proxy", "claude-proxy-adaptive"):
        cp = by.get(name)
        if cp is None:
            continue
        if "completed" not in cp:
            T.append({"name": "%s ran" % name, "met": False,
                      "measured": cp.get("error", "not run")})
            continue
        fb = (cp.get("first_byte_s") or {}).get("p99")
        du = (cp.get("duration_s") or {}).get("p99")
        pss = (cp.get("loaded") or {}).get("pss_kib")
        T += [
            {"name": "%s: all %d streams complete" % (name, n),
             "met": cp["completed"] == n,
             "measured": "%d of %d" % (cp["completed"], n)},
            {"name": "%s: first byte p99 <= 1 s" % name,
             "met": fb is not None and fb <= 1.0,
             "measured": "%s s" % fmt(fb, 3)},
            {"name": "%s: duration p99 <= 1.1 x nominal" % name,
             "met": du is not None and du <= 1.1 * nominal,
             "measured": "%s s (%s x)" % (
                 fmt(du, 3), fmt(du / nominal if du else None, 3))},
            {"name": "%s: PSS of all processes <= 1.5 GiB" % name,
             "met": pss is not None and pss <= 1.5 * 1024 * 1024,
             "measured": "%s MiB (%s processes)" % (
                 fmt(mib(pss), 1),
                 (cp.get("loaded") or {}).get("processes", "-"))},
            {"name": "%s: CPU per event / floor (reported)" % name,
             "met": None,
             "measured": "%s us / %s us = %s x" % (
                 fmt(cp.get("cpu_us_per_event"), 1), fmt(fl, 1),
                 fmt(bench.ratio(cp.get("cpu_us_per_event"), fl)))}]
    if not T:
        T.append({"name": "claude-proxy ran", "met": False,
                  "measured": "not run"})
    return T

# ---- main --------------------------------------------------------------------------

def main(args, procs, tmp, binary):
    n = args.streams
    tools = {t: os.path.join(args.tools, t)
             for t in ("sse_load", "sse_upstream", "fork_relay")}
    for t, p in tools.items():
        if not os.access(p, os.X_OK):
            raise RuntimeError("%s not built (bench/run.sh builds it)" % p)
    servers = [s.strip() for s in args.stream_servers.split(",") if s.strip()
               and not (args.no_peers and s.strip() in ("ccr", "claudish"))]
    for s in servers:
        if s not in SERVERS:
            raise RuntimeError("unknown server %s (%s)" % (
                s, ", ".join(SERVERS)))
    peers_ok = os.path.isdir(os.path.join(args.peers, "node_modules"))
    ctx = {"args": args, "procs": procs, "tmp": tmp, "binary": binary,
           "tools": tools, "n": n, "peers": args.peers}
    res = {"machine": bench.machine(binary)}
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    res["settings"] = {
        "streams": n, "events": args.stream_events,
        "interval_ms": args.stream_interval_ms,
        "nominal_s": args.stream_events * args.stream_interval_ms / 1000.0,
        "servers": servers, "loadavg_before": load,
        "wait_idle_s": args.wait_idle,
        "somaxconn": open("/proc/sys/net/core/somaxconn").read().strip(),
        "pid_max": open("/proc/sys/kernel/pid_max").read().strip(),
        "netdev_max_backlog": open(
            "/proc/sys/net/core/netdev_max_backlog").read().strip(),
        "tcp_max_syn_backlog": open(
            "/proc/sys/net/ipv4/tcp_max_syn_backlog").read().strip(),
    }
    res["runs"] = []
    t_start = time.monotonic()
    for name in servers:
        if name in ("ccr", "claudish") and not peers_ok:
            res["runs"].append({"server": name, "error":
                                "peers not installed (bench/run.sh "
                                "installs them with npm ci)"})
            continue
        print("  streams: %s, %d streams ..." % (name, n), file=sys.stderr,
              flush=True)
        try:
            r = one(ctx, name)
        except (RuntimeError, OSError, ValueError,
                subprocess.TimeoutExpired) as e:
            r = {"server": name, "error": str(e)}
        res["runs"].append(r)
        if "completed" in r:
            print("    %d/%d complete, first byte p99 %s s, duration p99 "
                  "%s s, %s us/event" % (
                      r["completed"], r["streams"],
                      fmt((r.get("first_byte_s") or {}).get("p99"), 3),
                      fmt((r.get("duration_s") or {}).get("p99"), 3),
                      fmt(r.get("cpu_us_per_event"), 1)),
                  file=sys.stderr, flush=True)
        else:
            print("    failed: %s" % r.get("error"), file=sys.stderr,
                  flush=True)
    res["targets"] = targets(res)
    res["elapsed_s"] = round(time.monotonic() - t_start, 1)
    text = table(res)
    with open(os.path.join(args.out, "results-streams.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    with open(os.path.join(args.out, "results-streams.txt"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    print("elapsed %.0f s; results in %s/results-streams.json and "
          "results-streams.txt" % (res["elapsed_s"], args.out),
          file=sys.stderr)
    return 0
