#!/usr/bin/env python3
"""Runs every benchmark of bench/README.md and prints the table of figures.

Called by bench/run (which installs the references and builds Release). Every server runs on
127.0.0.1 only. Each figure is reported against a reference measured in this same invocation:

  HTTP validate+touch   wrk -t1, keep-alive, 32 and 256 connections: Hourglass (GET /v1/session
                        and GET /v1/auth) vs nginx `return 204` and vs express-session
                        (MemoryStore); server CPU microseconds per request from /proc.
  HTTP create           wrk -t1, 32 and 256 connections, embedded durable store vs express-session.
  engine                bench_engine (Google Benchmark): validate+touch at N live sessions vs
                        the bare hash-and-find reference; create in memory.
  memory                bench_engine --memory=N (RSS delta / N) vs express-session's MemoryStore.
  expiry, list, startup bench_expiry, bench_list, bench_startup.
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench")
TICK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (this process, all threads)
        except FileNotFoundError:
            pass
    return total / TICK


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wrk(url, script, args, connections, seconds, server_pids):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]
    if args:
        cmd += ["--"] + args
    before = cpu_seconds(server_pids)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(server_pids) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p99 = parse_latency(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    p50 = parse_latency(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    if bad:
        raise RuntimeError(f"{url}: failed requests:\n{out}")
    # Socket errors (timeouts of an overloaded server, wrk's limit is 2 s) are reported, not fatal.
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "cpu_us": cpu * 1e6 / total, "requests": total,
            "socket_errors": errors.group(1).strip() if errors else ""}


def latency_text(run):
    """A wrk run's latency cell, with the socket errors it had (wrk's 2 s timeouts, say)."""
    errors = f" (socket errors: {run['socket_errors']})" if run["socket_errors"] else ""
    return f"p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms{errors}"


def alternating_rounds(rounds, subjects, what, run):
    """runs[key] for every (key, ...) subject over `rounds` rounds, run(subject) for each.

    Rounds alternate the subjects' order so that drift of this machine's speed (other guests on the
    host) falls on all of them: rates are the median run, ratios the median of the per-round ratios
    (see paired_ratio)."""
    runs = {subject[0]: [] for subject in subjects}
    for r in range(rounds):
        log(f"{what}, round {r + 1}/{rounds}")
        for subject in (subjects if r % 2 == 0 else tuple(reversed(subjects))):
            runs[subject[0]].append(run(subject))
    return runs


def median_run(runs):
    """The run with the median rate (its latency and CPU figures belong to that same run)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def paired_ratio(runs, reference):
    """Median and range of the per-round ratios runs[i] / reference[i].

    Each round runs every subject back to back, so a ratio within a round compares runs seconds
    apart; the host's drift between rounds (tens of per cent here) cancels out of it, which it
    does not in the ratio of two separately taken medians."""
    ratios = sorted(r["rps"] / ref["rps"] for r, ref in zip(runs, reference))
    return statistics.median(ratios), ratios[0], ratios[-1]


def ratio_text(runs, reference, name):
    if runs is reference:
        return f"reference ({name})"
    mid, low, high = paired_ratio(runs, reference)
    spread = f" ({low:.2f}–{high:.2f})" if low != high else ""
    return f"{mid:.2f}x {name}{spread}"


def parse_latency(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


class Server:
    def __init__(self, name, cmd, port=None, env=None, cwd=None):
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=cwd,
                                     text=True, start_new_session=True)
        self.port = port

    def pids(self):
        return [self.proc.pid] + children(self.proc.pid)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def start_hourglass(build, work):
    data = os.path.join(work, "hourglass")
    os.makedirs(data, mode=0o700)
    config = os.path.join(work, "hourglass-config.json")
    # Creation from one client address at full speed: the per-address creation rate limit (a
    # defence against floods from one browser) is lifted for the benchmark, as it would be for a
    # trusted application server creating sessions for many users.
    with open(config, "w") as f:
        json.dump({"schema": 2, "settings": {}, "service": {"create_per_second": 1000000, "create_burst": 1000000}}, f)
    s = Server("hourglassd", [os.path.join(build, "app", "hourglassd"), "--data-dir", data, "--port", "0",
                              "--initial-config", config])
    end = time.time() + 60
    while not os.path.exists(os.path.join(data, "service.json")):
        if time.time() > end or s.proc.poll() is not None:
            raise RuntimeError("hourglassd did not start")
        time.sleep(0.05)
    with open(os.path.join(data, "service.json")) as f:
        described = json.load(f)
    s.port = int(described["url"].rsplit(":", 1)[1])
    s.io_threads = int(described["io_threads"])
    return s


def start_nginx(work, workers):
    port = free_port()
    d = os.path.join(work, "nginx")
    os.makedirs(d)
    with open(os.path.join(HERE, "http", "nginx.conf")) as f:
        conf = f.read().replace("__PORT__", str(port)).replace("__DIR__", d)
        conf = conf.replace("__WORKERS__", str(workers))
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    s = Server("nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-c", path, "-p", d], port)
    wait_port(port)
    return s


def start_express(node_flags=()):
    # Deployed as Express recommends for production (NODE_ENV=production); measured about 5 % faster
    # at creation than the default "development" (bench/README.md).
    s = Server("express-session", ["node", *node_flags, os.path.join(HERE, "peers", "express", "server.js"), "0"],
               env=dict(os.environ, NODE_ENV="production"))
    s.port = json.loads(s.proc.stdout.readline())["port"]
    return s


def seed(port, path, body_of, token_of, n):
    """Creates n sessions over one keep-alive connection; returns their tokens."""
    c = http.client.HTTPConnection("127.0.0.1", port)
    tokens = []
    for i in range(n):
        c.request("POST", path, body=json.dumps(body_of(i)), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        payload = r.read()
        if r.status != 201:
            raise RuntimeError(f"seeding {path}: {r.status} {payload[:200]}")
        tokens.append(token_of(r, payload))
    c.close()
    return tokens


def hourglass_token(response, payload):
    return json.loads(payload)["id"]


def express_token(response, payload):
    cookie = response.getheader("Set-Cookie")
    return re.match(r"sid=([^;]+)", cookie).group(1)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_json(cmd):
    log("$", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPU ({cpu}), {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the HTTP runs; rounds of the engine runs")
    ap.add_argument("--seed", type=int, default=10000, help="sessions validated over HTTP")
    ap.add_argument("--sessions", type=int, default=1000000, help="engine, memory, list, startup")
    ap.add_argument("--only", default="http,engine,memory,expiry,list,startup")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    only = set(args.only.split(","))
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    rows = []
    work = tempfile.mkdtemp(prefix="hourglass-bench-")
    servers = []
    try:
        if "http" in only:
            hg = start_hourglass(args.build, work)
            servers.append(hg)
            ngx = start_nginx(work, hg.io_threads)
            servers.append(ngx)
            ex = start_express()
            servers.append(ex)
            log(f"hourglassd :{hg.port}, nginx :{ngx.port}, express-session :{ex.port}")

            body = lambda i: {"user": f"customer{i}@example.com", "area": "storefront", "client_ip": f"10.0.{i >> 8 & 255}.{i & 255}",
                              "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
            hg_tokens = os.path.join(work, "hourglass.tokens")
            ex_tokens = os.path.join(work, "express.tokens")
            with open(hg_tokens, "w") as f:
                f.write("\n".join(seed(hg.port, "/v1/sessions", body, hourglass_token, args.seed)) + "\n")
            with open(ex_tokens, "w") as f:
                f.write("\n".join(seed(ex.port, "/sessions", body, express_token, args.seed)) + "\n")

            validate = os.path.join(HERE, "http", "validate.lua")
            create = os.path.join(HERE, "http", "create.lua")
            http_results = {}
            base = "http://127.0.0.1"
            subjects = (
                ("nginx", "nginx return 204 (reference)", f"{base}:{ngx.port}/", [hg_tokens, "X-Ignored", ""], ngx),
                ("session", "Hourglass GET /v1/session", f"{base}:{hg.port}/v1/session",
                 [hg_tokens, "Authorization", "Session "], hg),
                ("auth", "Hourglass GET /v1/auth", f"{base}:{hg.port}/v1/auth",
                 [hg_tokens, "Authorization", "Session "], hg),
                ("express", "express-session GET /session", f"{base}:{ex.port}/session", [ex_tokens, "Cookie", "sid="],
                 ex),
            )
            for c in (32, 256):
                def validate_run(subject):
                    _, _, url, wrk_args, server = subject
                    return wrk(url, validate, wrk_args, c, args.seconds, server.pids())

                runs = alternating_rounds(args.rounds, subjects, f"wrk validate, {c} connections", validate_run)
                med = {key: median_run(v) for key, v in runs.items()}
                http_results[c] = {"median": med, "rounds": runs,
                                   "paired": {key: {"nginx": paired_ratio(runs[key], runs["nginx"]),
                                                    "express": paired_ratio(runs[key], runs["express"])}
                                              for key in runs}}
                for key, label, *_ in subjects:
                    r = med[key]
                    rows.append((f"HTTP validate+touch, {c} conn.", label, f"{r['rps']:,.0f}/s",
                                 latency_text(r),
                                 f"{r['cpu_us']:.1f} µs CPU/req",
                                 ratio_text(runs[key], runs["nginx"], "nginx") + ", "
                                 + ratio_text(runs[key], runs["express"], "express")))
            # Creation alternates too, at the same two connection counts as validation; every Hourglass
            # round adds its sessions to the same store (millions by the last round).
            http_results["create"] = {}
            for c in (32, 256):
                def create_run(subject):
                    _, server, path = subject
                    return wrk(f"{base}:{server.port}{path}", create, [], c, args.seconds, server.pids())

                creates = alternating_rounds(args.rounds,
                                             (("hourglass", hg, "/v1/sessions"), ("express", ex, "/sessions")),
                                             f"wrk create, {c} connections", create_run)
                hc, ec = median_run(creates["hourglass"]), median_run(creates["express"])
                http_results["create"][c] = {"hourglass": hc, "express": ec, "rounds": creates,
                                             "paired": paired_ratio(creates["hourglass"], creates["express"])}
                for key, label, r in (("hourglass", "Hourglass POST /v1/sessions (durable)", hc),
                                      ("express", "express-session POST /sessions (memory)", ec)):
                    rows.append((f"HTTP create, {c} conn.", label, f"{r['rps']:,.0f}/s",
                                 latency_text(r),
                                 f"{r['cpu_us']:.1f} µs CPU/req", ratio_text(creates[key], creates["express"], "express")))
            results["http"] = http_results
            for s in servers:
                s.stop()
            servers.clear()

        if "memory" in only:
            # express-session's memory per session in a fresh process (garbage collected before
            # both readings), for the memory comparison below.
            ex = start_express(["--expose-gc"])
            servers.append(ex)
            c = http.client.HTTPConnection("127.0.0.1", ex.port)
            c.request("POST", f"/bench/fill?n={min(args.sessions, 200000)}")
            results["express_memory"] = json.loads(c.getresponse().read())
            ex.stop()
            servers.remove(ex)

        if "engine" in only:
            # The floor under every lookup in a table larger than the caches: one dependent miss.
            lat = run_json([os.path.join(args.build, "bench", "bench_memlat")])
            results["memory_latency"] = lat
            rows.append(("machine", "one dependent cache miss (pointer chase, 256 MiB)",
                         f"{lat['ns_per_miss_4k_pages']:.0f} ns (4 KiB pages)",
                         f"{lat['ns_per_miss_huge_pages']:.0f} ns (huge pages)", "", "context"))
            # Rounds like the HTTP runs: the subject and the reference run seconds apart within a
            # round, so the per-round ratio is free of the host's drift; rates are the medians.
            engine_rounds = []
            for r in range(args.rounds):
                log(f"bench_engine, round {r + 1}/{args.rounds}")
                out = subprocess.run([os.path.join(args.build, "bench", "bench_engine"), f"--sessions={args.sessions}",
                                      "--benchmark_format=json", "--benchmark_min_time=2"],
                                     capture_output=True, text=True, check=True).stdout
                engine_rounds.append({b["name"].split("/")[0]: b["items_per_second"]
                                      for b in json.loads(out)["benchmarks"]})
            results["engine"] = {"rounds": engine_rounds}
            for name, label in (("HashAndFind", "decode + SHA-256 + hash-map find (reference)"),
                                ("ValidateTouch", "engine validate+touch (as the service: session read in place)"),
                                ("ValidateTouchCopy", "engine validate+touch, session copied out"),
                                ("Create", "engine create (memory)")):
                ops = statistics.median(r[name] for r in engine_rounds)
                ratios = sorted(r[name] / r["HashAndFind"] for r in engine_rounds)
                results["engine"][name] = ops
                rows.append((f"engine, 1 core, {args.sessions:,} live", label, f"{ops:,.0f}/s",
                             f"{1e9 / ops:,.0f} ns/op", "",
                             "reference" if name == "HashAndFind" else
                             f"{statistics.median(ratios):.2f}x reference ({ratios[0]:.2f}-{ratios[-1]:.2f})"))

        if "memory" in only:
            m = run_json([os.path.join(args.build, "bench", "bench_engine"), f"--memory={args.sessions}"])
            results["memory"] = m
            ex_bytes = None
            if "express_memory" in results:
                f = results["express_memory"]
                ex_bytes = (f["rss_after"] - f["rss_before"]) / f["sessions"]
                rows.append((f"memory per session", f"express-session MemoryStore ({f['sessions']:,})",
                             f"{ex_bytes:,.0f} B", "RSS delta / N", "", "reference"))
            rows.append((f"memory per session", f"Hourglass engine ({args.sessions:,}, no data)",
                         f"{m['bytes_per_session']:,.0f} B", "RSS delta / N", "",
                         f"{m['bytes_per_session'] / ex_bytes:.2f}x express" if ex_bytes else ""))

        if "expiry" in only:
            out = subprocess.run([os.path.join(args.build, "bench", "bench_expiry"), str(args.sessions)],
                                 capture_output=True, text=True, check=True)
            results["expiry"] = out.stdout.strip()
            rows.append(("expiry", f"{args.sessions:,} expiring together", "", out.stdout.strip().splitlines()[-1],
                         "", ""))

        if "list" in only:
            out = subprocess.run([os.path.join(args.build, "bench", "bench_list"), str(args.sessions)],
                                 capture_output=True, text=True, check=True)
            results["list"] = out.stdout.strip()
            for line in out.stdout.strip().splitlines():
                rows.append(("Sessions page queries", "", "", line.strip(), "", ""))

        if "startup" in only:
            s = run_json([os.path.join(args.build, "bench", "bench_startup"),
                          os.path.join(args.build, "app", "hourglassd"), str(args.sessions), "3"])
            results["startup"] = s
            rows.append(("startup", f"{args.sessions:,} persisted sessions", f"{s['ready_ms']:,.0f} ms",
                         f"RSS {s['rss_kib'] / 1024:,.0f} MiB", "",
                         f"{s['ratio']:.1f}x reading every row ({s['read_all_rows_ms']:,.0f} ms)"))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"Machine: {results['machine']}; {results['date']}")
    print()
    print("| workload | subject | rate / size | latency | server CPU | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
