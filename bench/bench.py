#!/usr/bin/env python3
"""claude-proxy benchmark against the nginx floor (issue 6, "Benchmark").

Started by bench/run.sh, which builds the daemon and raises ulimit -n. On
127.0.0.1 only, with free ports, it starts:

  upstream  nginx serving canned answers: POST /plain/... -> the
            chat.completion in data/completion.json, POST /stream/... -> the
            50-chunk SSE stream in data/stream.sse (text/event-stream)
  floor     nginx proxy_pass in front of the upstream: one HTTP hop, no
            translation, keep-alive to the upstream
  proxy     claude-proxy, its providers pointing at the same upstream

and measures, each as a ratio to the floor in the same run:
  - wrk at 1, 8 and 64 connections, tiny and ~20 KB bodies and the
    streamed request (the tiny body with stream: the upstream's 50-chunk
    answer relayed by the floor, translated by the proxy): requests/s, p50
    and p99 latency, CPU seconds per 1000 requests (utime+stime of the
    master and every worker, plus the master's reaped children)
  - system calls per streamed request (strace -c on the workers, when
    strace is installed)
  - PSS per worker (/proc/PID/smaps_rollup), idle and after the load
  - stream time to first byte and to the first token (median of many
    sequential samples on a keep-alive connection)
then 512 concurrent slow streams (bench/sse_upstream paces a token every
100 ms for 30 s, bench/sse_load opens the 512 at once) through a
claude-proxy whose pool grows from 4 to 512 workers: how many complete and
the peak total PSS of all claude-proxy processes.

With --streams N it runs bench/streams.py instead: N concurrent streams
through the floor, claude-proxy and its peers (issue 14).

Everything it starts runs in its own process group and is killed on exit,
error or signal. Writes bench/results.json and bench/results.txt.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
TICK = os.sysconf("SC_CLK_TCK")
FIRST_TOKEN = b"Benchmark"		# first content token of data/stream.sse

# ---- processes -------------------------------------------------------------

class Procs:
    """Everything we start, each in its own process group."""

    def __init__(self, pgid_file):
        self.procs = []
        self.pgid_file = pgid_file

    def spawn(self, cmd, **kw):
        p = subprocess.Popen(cmd, start_new_session=True, **kw)
        self.procs.append(p)
        if self.pgid_file:
            with open(self.pgid_file, "a") as f:
                f.write("%d\n" % p.pid)
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # the group may outlive its leader (workers): make sure it is gone
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p, timeout=5)
        self.procs = []

def children(pid):
    """Direct children of pid (scan of /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append(int(d))
    return out

def proc_set(master):
    return [master] + children(master)

def cpu_times(master):
    """(user, system, master's own) CPU seconds of master and children,
    the master's reaped children included."""
    user = system = own = 0
    for pid in proc_set(master):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        # fields 14..17 of stat(5): utime stime cutime cstime
        user += int(rest[11])
        system += int(rest[12])
        if pid == master:
            user += int(rest[13])
            system += int(rest[14])
            own = int(rest[11]) + int(rest[12])
    return user / TICK, system / TICK, own / TICK

def cpu_seconds(master):
    u, s, _ = cpu_times(master)
    return u + s

def system_cpu():
    """(busy, steal) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    busy = v[0] + v[1] + v[2] + v[5] + v[6]
    return busy / TICK, v[7] / TICK

def wait_idle(budget):
    """Wait up to budget seconds until other jobs leave the machine (at
    most 10% of one core over 2 s); returns (busy %, seconds waited)."""
    waited = 0
    while True:
        a0 = all_procs()
        time.sleep(2)
        busy = round(others_cpu(a0, all_procs()) / 2 * 100, 1)
        if busy <= 10 or waited >= budget:
            return busy, waited
        if waited == 0:
            print("  waiting up to %d s for the machine to go idle (%.0f%% "
                  "of a core busy)" % (budget, busy), file=sys.stderr,
                  flush=True)
        waited += 2

def all_procs():
    """{pid: (ppid, start time, CPU ticks with reaped children)}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), int(rest[19]),
                       sum(int(x) for x in rest[11:15]))
    return out

def others_cpu(before, after):
    """CPU seconds used between two all_procs() snapshots by processes
    that are not this one or its descendants (other users' jobs). Per-task
    times are exact (scheduler runtime), unlike /proc/stat's sampled ones."""
    mine = {os.getpid()}
    for snap in (before, after):
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _, _) in snap.items():
                if ppid in mine and pid not in mine:
                    mine.add(pid)
                    grew = True
    ticks = 0
    for pid, (_, start, cpu) in after.items():
        if pid in mine:
            continue
        if pid in before and before[pid][1] == start:
            ticks += cpu - before[pid][2]
        else:
            ticks += cpu
    return ticks / TICK

def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def smaps(pid):
    """{"pss": kB, "rss": kB, "uss": kB} from smaps_rollup."""
    r = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Rss", "Private_Clean", "Private_Dirty"):
                    r[k] = int(v.split()[0])
    except OSError:
        return None
    return {"pss_kib": r.get("Pss", 0), "rss_kib": r.get("Rss", 0),
            "uss_kib": r.get("Private_Clean", 0) + r.get("Private_Dirty", 0)}

def memory(master):
    """PSS of the master and of each worker, in KiB."""
    m = smaps(master)
    ws = [x for x in (smaps(p) for p in children(master)) if x]
    pss = [w["pss_kib"] for w in ws]
    uss = [w["uss_kib"] for w in ws]
    return {
        "workers": len(ws),
        "master_pss_kib": m["pss_kib"] if m else None,
        "worker_pss_kib_mean": round(statistics.mean(pss), 1) if pss else None,
        "worker_pss_kib_max": max(pss) if pss else None,
        "worker_uss_kib_mean": round(statistics.mean(uss), 1) if uss else None,
        "total_pss_kib": (m["pss_kib"] if m else 0) + sum(pss),
    }

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def wait_port(port, proc, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("process %d exited with %d" %
                               (proc.pid, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)

def wait_children(master, n, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(children(master)) >= n:
            return
        time.sleep(0.05)
    raise RuntimeError("pid %d has %d of %d workers" %
                       (master, len(children(master)), n))

# ---- nginx -----------------------------------------------------------------

NGINX_COMMON = """
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    client_max_body_size 64m;
    client_body_buffer_size 256k;   # keep 20 KB bodies in memory
    server_tokens off;
{body}
}}
"""

UPSTREAM_BODY = """
    open_file_cache max=16 inactive=3600s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        # POST to a static file: the static module answers 405, which is
        # turned into an internal GET of the same file with status 200
        location = /plain/v1/chat/completions {{
            default_type application/json;
            alias {dir}/completion.json;
            error_page 405 =200 $uri;
        }}
        location = /stream/v1/chat/completions {{
            default_type text/event-stream;
            alias {dir}/stream.sse;
            error_page 405 =200 $uri;
        }}
    }}
"""

FLOOR_BODY = """
    upstream fake_openai {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        # one line per request, written at once, as claude-proxy's
        # access log (which cannot be turned off) is
        access_log {dir}/access.log;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / {{
            proxy_pass http://fake_openai;
        }}
        location /stream/ {{
            proxy_pass http://fake_openai;
            proxy_buffering off;    # relay each chunk as it comes
        }}
    }}
"""

def start_nginx(procs, tmp, name, body_tmpl, workers, **kw):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    for f in ("completion.json", "stream.sse"):
        shutil.copy(os.path.join(DATA, f), d)
    port = free_port()
    body = body_tmpl.format(port=port, dir=d, **kw)
    conf = NGINX_COMMON.format(
        workers=workers, dir=d, body=body,
        user="user root;" if os.geteuid() == 0 else "")
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = procs.spawn(["nginx", "-p", d + "/", "-e", d + "/error.log", "-c",
                     path], stdout=subprocess.DEVNULL,
                    stderr=open(os.path.join(d, "stderr.log"), "ab"))
    try:
        wait_port(port, p)
        wait_children(p.pid, workers)
    except RuntimeError as e:
        with open(os.path.join(d, "error.log"), "a+") as f:
            f.seek(0)
            raise RuntimeError("nginx %s: %s: %s" % (name, e, f.read()))
    return {"proc": p, "port": port, "dir": d, "name": name}

# ---- claude-proxy ------------------------------------------------------------

def proxy_config(providers, workers, max_workers=None):
    c = {"port": 0, "workers": workers, "log_body_max_chars": 0,
         "log_stream_text_preview_chars": 0, "providers": providers}
    if max_workers is not None:
        c["max_workers"] = max_workers
    return c

def write_config(tmp, name, conf):
    path = os.path.join(tmp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(conf, f)
    return path

def config_ok(binary, path):
    r = subprocess.run([binary, "-t", "-c", path], capture_output=True,
                       text=True, timeout=20)
    return r.returncode == 0, (r.stdout + r.stderr).strip()

def start_proxy(procs, binary, tmp, name, conf, nworkers, wait_workers=True):
    path = write_config(tmp, name + ".json", conf)
    ok, msg = config_ok(binary, path)
    if not ok:
        raise RuntimeError("claude-proxy rejects %s: %s" % (path, msg))
    log = os.path.join(tmp, name + ".log")
    cmd = [binary, "-c", path, "-p", "0", "-l", "127.0.0.1",
           "-w", str(nworkers)]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    # O_APPEND: the log can be truncated between runs while it is written
    p = procs.spawn(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    port = None
    end = time.monotonic() + 15
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
    if wait_workers:
        wait_children(p.pid, nworkers)
    return {"proc": p, "port": port, "log": log, "name": name,
            "config": path}

def trim_log(path, keep=4096):
    """Keep the tail of a log that grows one line per request."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - keep))
            tail = f.read()
        os.truncate(path, 0)
        return tail.decode(errors="replace")
    except OSError:
        return ""

# ---- a small HTTP/1.1 client for checks and first-byte timing ----------------

class Conn:
    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), 10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(30)
        self.buf = b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def _recv(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("connection closed")
        return d

    def request(self, path, body, headers=(), marker=None):
        """POST; returns (status, headers, body, t_first_body_byte,
        t_marker) with times in seconds from just before sending."""
        if self.sock is None:
            self.connect()
        req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n"
               % (path, len(body))).encode()
        for h in headers:
            req += h.encode() + b"\r\n"
        req += b"\r\n" + body
        t0 = time.perf_counter()
        self.sock.sendall(req)
        buf = self.buf
        while b"\r\n\r\n" not in buf:
            buf += self._recv()
        t_first = None
        head, _, rest = buf.partition(b"\r\n\r\n")
        if rest:
            t_first = time.perf_counter() - t0
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        t_marker = None
        out = bytearray()

        def more():
            nonlocal t_first
            d = self._recv()
            if t_first is None:
                t_first = time.perf_counter() - t0
            return d

        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            while len(rest) < n:
                rest += more()
                if marker and t_marker is None and marker in rest:
                    t_marker = time.perf_counter() - t0
            out += rest[:n]
            self.buf = rest[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            while True:
                while b"\r\n" not in rest:
                    rest += more()
                line, _, rest = rest.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                while len(rest) < size + 2:
                    rest += more()
                out += rest[:size]
                if marker and t_marker is None and marker in out:
                    t_marker = time.perf_counter() - t0
                rest = rest[size + 2:]
                if size == 0:
                    break
            self.buf = rest
        else:				# delimited by close
            try:
                while True:
                    rest += more()
                    if marker and t_marker is None and marker in rest:
                        t_marker = time.perf_counter() - t0
            except ConnectionError:
                pass
            out += rest
            self.close()
        if marker and t_marker is None and marker in out:
            t_marker = time.perf_counter() - t0
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, hdrs, bytes(out), t_first, t_marker

# ---- runs ------------------------------------------------------------------

def run_wrk(url, body_file, conns, duration, tmp, headers=(), timeout=10):
    out = os.path.join(tmp, "wrk.json")
    if os.path.exists(out):
        os.unlink(out)
    threads = min(conns, os.cpu_count() or 1, 2)
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d",
           "%ds" % duration, "--timeout", "%ds" % timeout, "-s",
           os.path.join(HERE, "post.lua"), url, "--", body_file]
    cmd += list(headers)
    env = dict(os.environ, WRK_OUT=out)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=duration + timeout + 30)
    if r.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("wrk failed: %s %s" % (r.stdout, r.stderr))
    with open(out) as f:
        return json.load(f)

def measure(server, target, body_file, conns, duration, warmup, tmp,
            upstream):
    """One wrk run against one server, with its CPU accounting."""
    url, headers = target
    if warmup > 0:
        run_wrk(url, body_file, conns, warmup, tmp, headers)
    master = server["proc"].pid
    time.sleep(0.2)
    pids0 = set(children(master))
    c0, u0 = cpu_times(master), cpu_seconds(upstream["proc"].pid)
    s0, k0, a0 = system_cpu(), children_cpu(), all_procs()
    w = run_wrk(url, body_file, conns, duration, tmp, headers)
    c1, u1 = cpu_times(master), cpu_seconds(upstream["proc"].pid)
    s1, k1, a1 = system_cpu(), children_cpu(), all_procs()
    for srv in (server, upstream):
        if srv["proc"].poll() is not None:
            raise RuntimeError("%s exited with %s during the run" % (
                srv["name"], srv["proc"].returncode))
    replaced = len(pids0 - set(children(master)))
    n = w["requests"]
    errs = sum(w["errors"].values())
    server_cpu = (c1[0] - c0[0]) + (c1[1] - c0[1])
    wrk_cpu = k1 - k0
    background = others_cpu(a0, a1)	# other jobs on the machine
    per_k = (lambda x: round(x / n * 1000, 4) if n else None)
    return {
        "requests": n,
        "errors": w["errors"],
        "duration_s": round(w["duration_us"] / 1e6, 3),
        "rps": round(n / (w["duration_us"] / 1e6), 1),
        "p50_ms": w["latency_us"]["p50"] / 1000.0,
        "p90_ms": w["latency_us"]["p90"] / 1000.0,
        "p99_ms": w["latency_us"]["p99"] / 1000.0,
        "max_ms": w["latency_us"]["max"] / 1000.0,
        "cpu_s": round(server_cpu, 2),
        "cpu_s_per_1000": per_k(server_cpu),
        "cpu_user_s_per_1000": per_k(c1[0] - c0[0]),
        "cpu_sys_s_per_1000": per_k(c1[1] - c0[1]),
        "master_cpu_s": round(c1[2] - c0[2], 2),
        "upstream_cpu_s_per_1000": per_k(u1 - u0),
        "wrk_cpu_s": round(wrk_cpu, 2),
        "background_cpu_s": round(background, 2),
        "steal_s": round(s1[1] - s0[1], 2),
        "error_count": errs,
        "workers_gone": replaced,	# worker processes that exited meanwhile
    }

def ratio(a, b, nd=2):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, nd)

def ttfb_samples(targets, n, warmup):
    """Alternate one request to each target, n times; medians."""
    conns = {k: Conn(t["port"]) for k, t in targets.items()}
    first = {k: [] for k in targets}
    token = {k: [] for k in targets}
    try:
        order = list(targets)
        for i in range(warmup + n):
            for k in (order if i % 2 == 0 else order[::-1]):
                t = targets[k]
                st, _, body, tf, tm = conns[k].request(
                    t["path"], t["body"], t["headers"], FIRST_TOKEN)
                if st != 200 or tm is None or t["end"] not in body:
                    raise RuntimeError("bad stream from %s: %d %r" %
                                       (k, st, body[-200:]))
                if i >= warmup:
                    first[k].append(tf * 1000)
                    token[k].append(tm * 1000)
    finally:
        for c in conns.values():
            c.close()

    def summary(xs):
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs), 4),
                "p90_ms": round(xs[int(0.9 * (len(xs) - 1))], 4),
                "p99_ms": round(xs[int(0.99 * (len(xs) - 1))], 4)}
    return {k: {"samples": len(first[k]), "first_byte": summary(first[k]),
                "first_token": summary(token[k])} for k in targets}

def sanity(floor, proxy, bodies):
    """One request of each kind; the answers must be what we expect."""
    out = {}
    for kind, b in bodies.items():
        if kind == "stream":
            out[kind] = sanity_stream(floor, proxy, b)
            continue
        c = Conn(floor["port"])
        st, _, fbody, _, _ = c.request("/plain/v1/chat/completions",
                                       b["openai"])
        c.close()
        j = json.loads(fbody)
        if st != 200 or j["object"] != "chat.completion":
            raise RuntimeError("floor %s: %d %r" % (kind, st, fbody[:300]))
        c = Conn(proxy["port"])
        st, _, body, _, _ = c.request("/v1/messages", b["claude"],
                                      ["anthropic-version: 2023-06-01"])
        c.close()
        j = json.loads(body)
        if st != 200 or j.get("type") != "message" or \
                [x["type"] for x in j["content"]] != ["text", "tool_use"]:
            raise RuntimeError("proxy %s: %d %r" % (kind, st, body[:300]))
        out[kind] = {"floor_response_bytes": len(fbody),
                     "proxy_response_bytes": len(body)}
    return out

def sanity_stream(floor, proxy, b):
    """The streamed request: the upstream's 50 content chunks through the
    floor, 50 text deltas ending in message_stop through the proxy."""
    c = Conn(floor["port"])
    st, _, fbody, _, _ = c.request("/stream/v1/chat/completions",
                                   b["openai"])
    c.close()
    if st != 200 or fbody.count(b'"content":') != 51 or \
            not fbody.rstrip().endswith(b"data: [DONE]"):
        raise RuntimeError("floor stream: %d %r" % (st, fbody[-300:]))
    c = Conn(proxy["port"])
    st, _, body, _, _ = c.request("/v1/messages", b["claude"],
                                  ["anthropic-version: 2023-06-01"])
    c.close()
    if st != 200 or body.count(b'"text_delta"') != 50 or \
            not body.endswith(b'data: {"type":"message_stop"}\n\n'):
        raise RuntimeError("proxy stream: %d %r" % (st, body[-300:]))
    return {"floor_response_bytes": len(fbody),
            "proxy_response_bytes": len(body)}

def strace_counts(path):
    """{syscall: calls} from an strace -c summary."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[3].isdigit() and \
                    parts[-1] not in ("total", "syscall"):
                out[parts[-1]] = int(parts[3])
    return out

def syscalls_per_stream(floor, proxy, b, n, tmp):
    """System calls per streamed request of each server's workers, counted
    by strace -c over n sequential requests on one connection (a count, not
    a time: strace slows everything down). None without strace."""
    if n <= 0 or shutil.which("strace") is None:
        return None
    res = {}
    for name, srv, path, body, hdrs in (
            ("floor", floor, "/stream/v1/chat/completions", b["openai"],
             ["Authorization: Bearer bench"]),
            ("proxy", proxy, "/v1/messages", b["claude"],
             ["anthropic-version: 2023-06-01"])):
        pids = children(srv["proc"].pid)
        out = os.path.join(tmp, "strace-%s.txt" % name)
        cmd = ["strace", "-f", "-c", "-o", out]
        for p in pids:
            cmd += ["-p", str(p)]
        tr = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
        attached, end = 0, time.monotonic() + 10
        while attached < len(pids) and time.monotonic() < end:
            line = tr.stderr.readline()
            if not line:
                break
            attached += "attached" in line
        c = Conn(srv["port"])
        try:
            c.request(path, body, hdrs)	# the connection, not counted
            for _ in range(n):
                st, _, _, _, _ = c.request(path, body, hdrs)
                if st != 200:
                    raise RuntimeError("%s: status %d" % (name, st))
        finally:
            c.close()
        tr.send_signal(signal.SIGINT)
        try:
            tr.wait(10)
        except subprocess.TimeoutExpired:
            tr.kill()
            tr.wait()
        counts = strace_counts(out)
        writes = sum(v for k, v in counts.items() if k in (
            "sendto", "sendmsg", "write", "writev", "sendfile"))
        res[name] = {"requests": n, "attached": attached,
                     "per_request": {k: round(v / n, 2) for k, v in
                                     sorted(counts.items())},
                     "writes_per_request": round(writes / n, 2),
                     "total_per_request": round(sum(counts.values()) / n,
                                                2)}
    return res

class Sampler(threading.Thread):
    """PSS of a process tree every interval; keeps the peak."""

    def __init__(self, master, interval=1.0):
        super().__init__(daemon=True)
        self.master, self.interval = master, interval
        self.stop_ev = threading.Event()
        self.peak = {"total_pss_kib": 0}
        self.samples = 0

    def run(self):
        while not self.stop_ev.is_set():
            m = memory(self.master)
            self.samples += 1
            if m["total_pss_kib"] > self.peak["total_pss_kib"]:
                self.peak = m
            self.stop_ev.wait(self.interval)

def slow_streams(procs, binary, tmp, args, max_workers_key):
    up = procs.spawn([args.tools + "/sse_upstream", "--interval-ms",
                      str(int(args.slow_interval * 1000)), "--events",
                      str(args.slow_tokens)], stdout=subprocess.PIPE,
                     stderr=open(os.path.join(tmp, "slow_upstream.log"),
                                 "ab"), text=True)
    line = up.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError("slow upstream did not start")
    uport = int(line.split()[1])
    providers = [{"name": "slow", "base_url": "http://127.0.0.1:%d" % uport,
                  "api_key": "bench", "models": [
                      {"id": "bench-slow", "remote_id": "bench-slow-remote"}]}]
    n = args.slow_streams
    if max_workers_key:
        start_workers = 4
        conf = proxy_config(providers, start_workers, max_workers=n)
        pool = "workers %d, max_workers %d (adaptive pool)" % (start_workers,
                                                                n)
    else:
        start_workers = n
        conf = proxy_config(providers, n)
        pool = ("workers %d (no max_workers key in this build: a fixed "
                "pool of %d)" % (n, n))
    proxy = start_proxy(procs, binary, tmp, "proxy-slow", conf,
                        start_workers)
    master = proxy["proc"].pid
    idle = memory(master)
    sampler = Sampler(master, 1.0)
    sampler.start()
    c0 = cpu_seconds(master)
    deadline = args.slow_tokens * args.slow_interval + 90
    body = os.path.join(tmp, "slow.json")
    with open(body, "w") as f:
        json.dump({"model": "bench-slow", "max_tokens": 4096, "stream": True,
                   "messages": [{"role": "user",
                                 "content": "Trickle, please."}]}, f)
    cl = procs.spawn([args.tools + "/sse_load", "--port",
                      str(proxy["port"]), "--streams", str(n), "--body-file",
                      body, "--count", '" tok', "--expect",
                      str(args.slow_tokens), "--end", "event: message_stop",
                      "--fail", "event: error", "--header",
                      "anthropic-version: 2023-06-01", "--deadline",
                      str(int(deadline))], stdout=subprocess.PIPE,
                     stderr=open(os.path.join(tmp, "slow_client.log"), "ab"),
                     text=True)
    try:
        out, _ = cl.communicate(timeout=deadline + 30)
    except subprocess.TimeoutExpired:
        procs.stop(cl)
        out = ""
    c1 = cpu_seconds(master)
    sampler.stop_ev.set()
    sampler.join()
    res = json.loads(out) if out.strip() else {"streams": n, "completed": 0,
                                               "failed": n,
                                               "errors": {"client": n}}
    res.update({
        "pool": pool,
        "tokens_per_stream": args.slow_tokens,
        "token_interval_s": args.slow_interval,
        "idle_total_pss_kib": idle["total_pss_kib"],
        "idle": idle,
        "peak": sampler.peak,
        "peak_total_pss_mib": round(sampler.peak["total_pss_kib"] / 1024, 1),
        "pss_samples": sampler.samples,
        "proxy_cpu_s": round(c1 - c0, 2),
        "proxy_log_tail": trim_log(proxy["log"], 1500)[-1500:],
    })
    procs.stop(proxy["proc"])
    procs.stop(up)
    return res

# ---- description of the machine ------------------------------------------------

def sh(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None

def machine(binary):
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1])
    commit = sh(["git", "-C", REPO, "rev-parse", "HEAD"])
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--", "src",
                "include", "meson.build"])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_mib": mem // 1024 if mem else None,
        "kernel": platform.release(),
        "os": sh(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "nginx": sh(["nginx", "-v"]),
        "wrk": (sh(["wrk", "-v"]) or "").splitlines()[0].split(
            " Copyright")[0],
        "python": platform.python_version(),
        "libcurl": (sh(["curl-config", "--version"]) or
                    sh(["pkg-config", "--modversion", "libcurl"])),
        "json_c": sh(["pkg-config", "--modversion", "json-c"]),
        "claude_proxy": sh([binary, "-V"]),
        "claude_proxy_commit": commit,
        "claude_proxy_tree_dirty": bool(dirty),
        "claude_proxy_binary": binary,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
    }

# ---- report ----------------------------------------------------------------------

def fmt(v, nd=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%." + str(nd) + "f") % v
    return str(v)

def table(res):
    L = []
    m = res["machine"]
    L.append("claude-proxy benchmark, %s" % m["date"])
    L.append("%s, %d cores, %s MiB, Linux %s; %s; %s; claude-proxy %s (%s%s)"
             % (m["cpu_model"], m["nproc"], m["mem_total_mib"], m["kernel"],
                m["nginx"], m["wrk"], m["claude_proxy"],
                (m["claude_proxy_commit"] or "?")[:12],
                ", tree dirty" if m["claude_proxy_tree_dirty"] else ""))
    L.append("wrk %d s per point (after %d s warm-up); claude-proxy %s"
             % (res["settings"]["duration_s"], res["settings"]["warmup_s"],
                res["settings"]["proxy_pool"]))
    L.append("")
    hdr = ("%-6s %4s | %9s %9s %5s | %7s %7s %5s | %7s %7s %5s | "
           "%7s %7s %5s")
    L.append(hdr % ("body", "conn", "floor r/s", "proxy r/s", "x",
                    "fl p50", "px p50", "x", "fl p99", "px p99", "x",
                    "fl cpu", "px cpu", "x"))
    L.append("%-6s %4s | %9s %9s %5s | %7s %7s %5s | %7s %7s %5s | "
             "%7s %7s %5s" % ("", "", "", "", "", "ms", "ms", "", "ms",
                              "ms", "", "s/1k", "s/1k", ""))
    for r in res["throughput"]:
        f, p, x = r["floor"], r["proxy"], r["ratio"]
        L.append(hdr % (r["body"], r["conns"], fmt(f["rps"], 0),
                        fmt(p["rps"], 0), fmt(x["rps"]), fmt(f["p50_ms"], 3),
                        fmt(p["p50_ms"], 3), fmt(x["p50"]),
                        fmt(f["p99_ms"], 3), fmt(p["p99_ms"], 3),
                        fmt(x["p99"]), fmt(f["cpu_s_per_1000"], 3),
                        fmt(p["cpu_s_per_1000"], 3), fmt(x["cpu"])))
    L.append("")
    L.append("CPU per request in ms, user + system; other = CPU-s used by "
             "processes not part of the benchmark during the run")
    L.append("%-6s %4s | %15s | %15s | %13s" % (
        "body", "conn", "floor usr+sys", "proxy usr+sys", "other fl/px"))
    for r in res["throughput"]:
        f, p = r["floor"], r["proxy"]
        L.append("%-6s %4s | %7s+%-7s | %7s+%-7s | %6s/%-6s" % (
            r["body"], r["conns"], fmt(f["cpu_user_s_per_1000"], 3),
            fmt(f["cpu_sys_s_per_1000"], 3), fmt(p["cpu_user_s_per_1000"], 3),
            fmt(p["cpu_sys_s_per_1000"], 3), fmt(f["background_cpu_s"], 1),
            fmt(p["background_cpu_s"], 1)))
    bg = res["settings"].get("background_before_pct")
    if bg is not None and bg > 10:
        L.append("WARNING: the machine was not idle: %.0f%% of a core busy "
                 "before the run" % bg)
    errs = [(r["body"], r["conns"], s, r[s]["errors"])
            for r in res["throughput"] for s in ("floor", "proxy")
            if r[s]["error_count"]]
    for e in errs:
        L.append("  errors: %s %s %s %s" % e)
    sc = res.get("syscalls")
    if sc:
        L.append("")
        L.append("system calls per streamed request (strace -c, %d requests "
                 "on one connection): floor %s (%s writes), proxy %s (%s "
                 "writes)" % (sc["proxy"]["requests"],
                              fmt(sc["floor"]["total_per_request"], 1),
                              fmt(sc["floor"]["writes_per_request"], 1),
                              fmt(sc["proxy"]["total_per_request"], 1),
                              fmt(sc["proxy"]["writes_per_request"], 1)))
        for k in ("floor", "proxy"):
            L.append("  %-5s %s" % (k, ", ".join(
                "%s %s" % (n, fmt(v, 2)) for n, v in
                sc[k]["per_request"].items())))
    L.append("")
    mem = res["memory"]
    L.append("memory (PSS per worker, KiB): floor nginx %s idle / %s loaded;"
             " claude-proxy %s idle / %s loaded (%d workers); ratio loaded %s"
             % (fmt(mem["floor_idle"]["worker_pss_kib_mean"], 0),
                fmt(mem["floor_loaded"]["worker_pss_kib_mean"], 0),
                fmt(mem["proxy_idle"]["worker_pss_kib_mean"], 0),
                fmt(mem["proxy_loaded"]["worker_pss_kib_mean"], 0),
                mem["proxy_loaded"]["workers"], fmt(mem["ratio_loaded"])))
    L.append("")
    L.append("stream time to first byte / first token, median ms (%d samples"
             " each):" % res["ttfb"]["tiny"]["floor"]["samples"])
    for kind, t in res["ttfb"].items():
        L.append("  %-5s floor %s / %s   proxy %s / %s   overhead %s / %s ms"
                 "   ratio %s / %s" % (
                     kind, fmt(t["floor"]["first_byte"]["median_ms"], 3),
                     fmt(t["floor"]["first_token"]["median_ms"], 3),
                     fmt(t["proxy"]["first_byte"]["median_ms"], 3),
                     fmt(t["proxy"]["first_token"]["median_ms"], 3),
                     fmt(t["overhead_first_byte_ms"], 3),
                     fmt(t["overhead_first_token_ms"], 3),
                     fmt(t["ratio_first_byte"]), fmt(t["ratio_first_token"])))
    L.append("")
    s = res["slow_streams"]
    if s:
        L.append("slow streams: %d of %d completed (%s tokens every %s s), "
                 "peak total PSS %s MiB (%s processes), %s" % (
                     s["completed"], s["streams"], s["tokens_per_stream"],
                     s["token_interval_s"], s["peak_total_pss_mib"],
                     (s["peak"].get("workers", 0) + 1), s["pool"]))
        if s.get("errors"):
            L.append("  failures: %s" % s["errors"])
        L.append("")
    L.append("targets:")
    for t in res["targets"]:
        L.append("  [%s] %-58s %s" % ("MET " if t["met"] else
                                       ("MISS" if t["met"] is False else
                                        "n/a "), t["name"], t["measured"]))
    return "\n".join(L) + "\n"

def targets(res):
    T = []
    by = {(r["body"], r["conns"]): r for r in res["throughput"]}

    def cpu_target(body, limit):
        xs = [(c, by[(body, c)]["ratio"]["cpu"]) for b, c in by if b == body]
        worst = max(x for _, x in xs)
        T.append({"name": "CPU/request %s <= %gx floor (all conn levels)"
                          % (body, limit),
                  "limit": limit, "met": worst <= limit,
                  "measured": ", ".join("%d conn %.2fx" % (c, x)
                                        for c, x in sorted(xs))})
    cpu_target("20k", 5)
    cpu_target("tiny", 2)
    if any(b == "stream" for b, _ in by):
        cpu_target("stream", 4)
    for body in ("tiny", "20k"):
        r = by.get((body, 64))
        if r:
            x = r["ratio"]["p99"]
            T.append({"name": "p99 at 64 connections, %s, <= 2x floor" % body,
                      "limit": 2, "met": x <= 2,
                      "measured": "%.2fx (%.3f ms vs %.3f ms)" % (
                          x, r["proxy"]["p99_ms"], r["floor"]["p99_ms"])})
    for kind, t in res["ttfb"].items():
        o = t["overhead_first_byte_ms"]
        T.append({"name": "stream first-byte overhead, %s, < 0.5 ms" % kind,
                  "limit": 0.5, "met": o < 0.5,
                  "measured": "%.3f ms (first token: %.3f ms)" % (
                      o, t["overhead_first_token_ms"])})
    idle = res["memory"]["proxy_idle"]["worker_pss_kib_mean"]
    loaded = res["memory"]["proxy_loaded"]["worker_pss_kib_mean"]
    worst = max(idle, loaded)
    measured = "%.0f KiB fresh, %.0f KiB idle after load (%d workers)" % (
        idle, loaded, res["memory"]["proxy_loaded"]["workers"])
    small = (res["slow_streams"] or {}).get("idle")
    if small and small["workers"] < res["memory"]["proxy_loaded"]["workers"]:
        worst = max(worst, small["worker_pss_kib_mean"])
        measured += "; %.0f KiB fresh (%d workers)" % (
            small["worker_pss_kib_mean"], small["workers"])
    T.append({"name": "idle worker < 3 MiB PSS", "limit": 3072,
              "met": worst < 3072, "measured": measured})
    s = res["slow_streams"]
    if s:
        T.append({"name": "all %d slow streams complete" % s["streams"],
                  "limit": s["streams"],
                  "met": s["completed"] == s["streams"],
                  "measured": "%d of %d (%s)" % (s["completed"], s["streams"],
                                                 s["pool"])})
    return T

# ---- main ------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--pgid-file")
    ap.add_argument("--no-slow", action="store_true")
    ap.add_argument("--wait-idle", type=int, default=0, metavar="SECONDS",
                    help="wait up to this long for other processes to stop "
                    "using the CPU before measuring")
    ap.add_argument("--serve", type=int, metavar="SECONDS",
                    help="start the three servers, print their URLs, keep "
                    "them up this long (for profiling), measure nothing")
    ap.add_argument("--tools", default=os.path.join(HERE, "build"),
                    help="where sse_load and sse_upstream are built")
    ap.add_argument("--streams", type=int, metavar="N",
                    help="only the concurrent-stream benchmark, N streams "
                    "(bench/streams.py)")
    ap.add_argument("--stream-events", type=int, default=200)
    ap.add_argument("--stream-interval-ms", type=int, default=50)
    ap.add_argument("--stream-servers", default="direct,floor,process-floor,"
                    "claude-proxy,"
                    "claude-proxy-adaptive,ccr,claudish")
    ap.add_argument("--peers", default=os.path.join(HERE, "peers"))
    ap.add_argument("--no-peers", action="store_true",
                    help="with --streams: leave the npm peers out")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.warmup, args.ttfb_samples = 3, 1, 200
        args.slow_streams, args.slow_tokens = 512, 100
        args.syscall_samples = 50
    else:
        args.duration, args.warmup, args.ttfb_samples = 15, 2, 1000
        args.slow_streams, args.slow_tokens = 512, 300
        args.syscall_samples = 200
    args.slow_interval = 0.1
    conns_levels = (1, 8, 64)
    binary = os.path.abspath(args.binary)

    tmp = tempfile.mkdtemp(prefix="claude-proxy-bench.")
    procs = Procs(args.pgid_file)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt("signal %d" % sig)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    if args.streams:
        import streams
        try:
            return streams.main(args, procs, tmp, binary)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            procs.stop_all()
            shutil.rmtree(tmp, ignore_errors=True)

    res = {"machine": machine(binary)}
    t_start = time.monotonic()
    try:
        # does this build have the adaptive pool's max_workers key?
        probe = write_config(tmp, "probe.json", proxy_config(
            [{"name": "x", "base_url": "http://127.0.0.1:9", "api_key": "",
              "models": [{"id": "x"}]}], 4, max_workers=512))
        max_workers_key, probe_msg = config_ok(binary, probe)

        # is anything else running? (it would skew every number)
        background_before, waited = wait_idle(args.wait_idle)

        upstream = start_nginx(procs, tmp, "upstream", UPSTREAM_BODY, 2)
        floor = start_nginx(procs, tmp, "floor", FLOOR_BODY, 2,
                            upstream_port=upstream["port"])
        base = "http://127.0.0.1:%d" % upstream["port"]
        providers = [
            {"name": "nginx", "base_url": base + "/plain", "api_key": "bench",
             "models": [{"id": "bench", "remote_id": "bench-remote"}]},
            {"name": "nginx-stream", "base_url": base + "/stream",
             "api_key": "bench",
             "models": [{"id": "bench-stream", "remote_id": "bench-remote"}]},
        ]
        nw = max(conns_levels)		# one connection per worker
        if max_workers_key:
            pconf = proxy_config(providers, nw, max_workers=nw)
            pool = "%d workers (workers = max_workers = %d)" % (nw, nw)
        else:
            pconf = proxy_config(providers, nw)
            pool = "%d workers (fixed pool)" % nw
        proxy = start_proxy(procs, binary, tmp, "proxy", pconf, nw)
        if args.serve:
            print("upstream http://127.0.0.1:%d/plain/v1/chat/completions\n"
                  "floor    http://127.0.0.1:%d/plain/v1/chat/completions\n"
                  "proxy    http://127.0.0.1:%d/v1/messages (pid %d)\n"
                  "up for %d s" % (upstream["port"], floor["port"],
                                   proxy["port"], proxy["proc"].pid,
                                   args.serve), flush=True)
            time.sleep(args.serve)
            return 0
        res["settings"] = {
            "duration_s": args.duration, "warmup_s": args.warmup,
            "conns": list(conns_levels), "proxy_pool": pool,
            "max_workers_key": max_workers_key,
            "max_workers_probe": probe_msg,
            "floor_nginx_workers": 2, "upstream_nginx_workers": 2,
            "ttfb_samples": args.ttfb_samples, "quick": args.quick,
            "background_before_pct": background_before,
            "waited_for_idle_s": waited,
        }
        time.sleep(0.5)
        mem_idle = {"floor_idle": memory(floor["proc"].pid),
                    "proxy_idle": memory(proxy["proc"].pid)}

        def body(name):
            p = os.path.join(DATA, name)
            with open(p, "rb") as f:
                return p, f.read()
        bodies = {}
        for kind in ("tiny", "20k"):
            cp, cb = body("claude_%s.json" % kind)
            op, ob = body("openai_%s.json" % kind)
            bodies[kind] = {"claude_file": cp, "claude": cb,
                            "openai_file": op, "openai": ob}
        # the streamed request: the tiny body asking for a stream; the
        # floor relays the upstream's 50-chunk SSE answer as it is, the
        # proxy translates it into Anthropic events
        cl = json.loads(bodies["tiny"]["claude"])
        cl["model"], cl["stream"] = "bench-stream", True
        op = json.loads(bodies["tiny"]["openai"])
        op["stream"], op["stream_options"] = True, {"include_usage": True}
        bodies["stream"] = {}
        for side, doc in (("claude", cl), ("openai", op)):
            b = json.dumps(doc, separators=(",", ":")).encode()
            path = os.path.join(tmp, "%s_stream.json" % side)
            with open(path, "wb") as f:
                f.write(b)
            bodies["stream"][side] = b
            bodies["stream"][side + "_file"] = path
        res["bodies"] = {k: {"claude_bytes": len(v["claude"]),
                             "openai_bytes": len(v["openai"])}
                         for k, v in bodies.items()}
        res["sanity"] = sanity(floor, proxy, bodies)

        def targets_of(server, kind):
            if server == "floor":
                return ("http://127.0.0.1:%d/%s/v1/chat/completions"
                        % (floor["port"], "stream" if kind == "stream" else
                           "plain"), ["Authorization: Bearer bench"])
            return ("http://127.0.0.1:%d/v1/messages" % proxy["port"],
                    ["anthropic-version: 2023-06-01"])
        servers = {"floor": floor, "proxy": proxy}
        res["syscalls"] = syscalls_per_stream(floor, proxy, bodies["stream"],
                                              args.syscall_samples, tmp)
        res["throughput"] = []
        i = 0
        for kind in ("tiny", "20k", "stream"):
            for conns in conns_levels:
                order = ("floor", "proxy") if i % 2 == 0 else \
                    ("proxy", "floor")
                i += 1
                for attempt in range(1, 4):
                    row = {"body": kind, "conns": conns, "attempt": attempt}
                    for s in order:
                        f = bodies[kind]["openai_file" if s == "floor" else
                                         "claude_file"]
                        row[s] = measure(servers[s], targets_of(s, kind), f,
                                         conns,
                                         args.duration, args.warmup, tmp,
                                         upstream)
                        trim_log(proxy["log"])
                        trim_log(os.path.join(floor["dir"], "access.log"))
                    # another job took more than 15% of a core: measure
                    # the pair again once the machine is idle
                    noisy = max(row[s]["background_cpu_s"] for s in order) \
                        > 0.15 * args.duration
                    if not noisy or args.wait_idle <= 0 or attempt == 3:
                        break
                    print("  %s %d conns: other jobs used the CPU, again"
                          % (kind, conns), file=sys.stderr, flush=True)
                    wait_idle(args.wait_idle)
                f, p = row["floor"], row["proxy"]
                row["ratio"] = {
                    "rps": ratio(p["rps"], f["rps"]),
                    "p50": ratio(p["p50_ms"], f["p50_ms"]),
                    "p99": ratio(p["p99_ms"], f["p99_ms"]),
                    "cpu": ratio(p["cpu_s_per_1000"], f["cpu_s_per_1000"]),
                }
                res["throughput"].append(row)
                print("  %-4s %2d conns: floor %8.0f r/s p99 %7.3f ms "
                      "cpu %.3f s/1k | proxy %8.0f r/s p99 %7.3f ms "
                      "cpu %.3f s/1k" % (kind, conns, f["rps"], f["p99_ms"],
                                          f["cpu_s_per_1000"], p["rps"],
                                          p["p99_ms"], p["cpu_s_per_1000"]),
                      file=sys.stderr, flush=True)

        time.sleep(1)
        mem = dict(mem_idle)
        mem["floor_loaded"] = memory(floor["proc"].pid)
        mem["proxy_loaded"] = memory(proxy["proc"].pid)
        mem["ratio_idle"] = ratio(mem["proxy_idle"]["worker_pss_kib_mean"],
                                  mem["floor_idle"]["worker_pss_kib_mean"])
        mem["ratio_loaded"] = ratio(
            mem["proxy_loaded"]["worker_pss_kib_mean"],
            mem["floor_loaded"]["worker_pss_kib_mean"])
        mem["note"] = ("PSS shares each common page among the processes "
                       "mapping it, so a pool of %d workers shows a lower "
                       "per-worker PSS than a pool of 2; uss = private "
                       "memory of one worker" % nw)
        res["memory"] = mem

        res["ttfb"] = {}
        for kind in ("tiny", "20k"):
            if args.wait_idle > 0:
                wait_idle(args.wait_idle)
            cl = json.loads(bodies[kind]["claude"])
            cl["model"], cl["stream"] = "bench-stream", True
            op = json.loads(bodies[kind]["openai"])
            op["stream"], op["stream_options"] = True, {"include_usage": True}
            t = ttfb_samples({
                "floor": {"port": floor["port"],
                          "path": "/stream/v1/chat/completions",
                          "body": json.dumps(op, separators=(",", ":"))
                          .encode(), "headers": [
                              "Authorization: Bearer bench"],
                          "end": b"data: [DONE]"},
                "proxy": {"port": proxy["port"], "path": "/v1/messages",
                          "body": json.dumps(cl, separators=(",", ":"),
                                             ensure_ascii=False).encode(),
                          "headers": ["anthropic-version: 2023-06-01"],
                          "end": b"event: message_stop"},
            }, args.ttfb_samples, 50)
            t["overhead_first_byte_ms"] = round(
                t["proxy"]["first_byte"]["median_ms"] -
                t["floor"]["first_byte"]["median_ms"], 4)
            t["overhead_first_token_ms"] = round(
                t["proxy"]["first_token"]["median_ms"] -
                t["floor"]["first_token"]["median_ms"], 4)
            t["ratio_first_byte"] = ratio(t["proxy"]["first_byte"]
                                          ["median_ms"], t["floor"]
                                          ["first_byte"]["median_ms"])
            t["ratio_first_token"] = ratio(t["proxy"]["first_token"]
                                           ["median_ms"], t["floor"]
                                           ["first_token"]["median_ms"])
            res["ttfb"][kind] = t
        res["proxy_log_tail"] = trim_log(proxy["log"], 1500)[-1500:]
        for s in (proxy, floor, upstream):
            procs.stop(s["proc"])

        res["slow_streams"] = None
        if not args.no_slow:
            print("  slow streams: %d x %d tokens ..." % (
                args.slow_streams, args.slow_tokens), file=sys.stderr,
                flush=True)
            if args.wait_idle > 0:
                wait_idle(args.wait_idle)
            res["slow_streams"] = slow_streams(procs, binary, tmp, args,
                                               max_workers_key)
        res["targets"] = targets(res)
        res["elapsed_s"] = round(time.monotonic() - t_start, 1)
        text = table(res)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        with open(os.path.join(args.out, "results.txt"), "w") as f:
            f.write(text)
        sys.stdout.write(text)
        print("elapsed %.0f s; results in %s/results.json and results.txt"
              % (res["elapsed_s"], args.out), file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print("interrupted (%s)" % e, file=sys.stderr)
        sys.exit(130)
