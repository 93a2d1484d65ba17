"""Attacks on a running ae-server at 127.0.0.1, each bounded in count and time; one JSON line per
attack on stdout: attack, requests, failures, 5xx, crashes (the process gone), RSS after it.

    attack.py PORT PID BODY_FILE ATTACK [ATTACK ...]

Attacks: burst, burst_small (for a server with connection_limit 4), slowloris, reload, soak,
mutation, drain (drain ends the server: run it last).
Standard library only, plus wrk for the reload and soak runs.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
PORT, PID = int(sys.argv[1]), int(sys.argv[2])
BODY = open(sys.argv[3], "rb").read()


def rss_mb():
    try:
        with open(f"/proc/{PID}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        return None


def alive():
    try:
        os.kill(PID, 0)
        return True
    except ProcessLookupError:
        return False


class Client:
    """HTTP/1.1 keep-alive over one socket; `source` picks the client's loopback address."""

    def __init__(self, source="127.0.0.1", timeout=10):
        self.s = socket.socket()
        self.s.bind((source, 0))
        self.s.settimeout(timeout)
        self.s.connect((HOST, PORT))
        self.buf = b""

    def request(self, method, path, body=b"", ctype=b"application/json"):
        head = b"%s %s HTTP/1.1\r\nHost: x\r\n" % (method.encode(), path.encode())
        if method == "POST":
            head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
        self.s.sendall(head + b"\r\n" + body)
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed before a response")
            self.buf += d
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(b":") for l in lines[1:])}
        n = int(headers.get(b"content-length", b"0"))
        while len(rest) < n:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed mid-body")
            rest += d
        self.buf = rest[n:]
        return status, headers, rest[:n]

    def close(self):
        self.s.close()


def livez(source="127.0.0.1"):
    try:
        c = Client(source, timeout=3)
        status = c.request("GET", "/livez")[0]
        c.close()
        return status == 200
    except OSError:
        return False


def result(attack, requests, failures, server_errors, note=""):
    crashes = 0 if alive() else 1
    print(json.dumps({"attack": attack, "requests": requests, "failures": failures, "5xx": server_errors,
                      "crashes": crashes, "rss_mb": rss_mb(), "note": note}), flush=True)


def burst(rounds=5, size=10240, label="burst"):
    """Connections opened all at once, 10× the connection_limit, then closed; the server must
    answer /livez after each round."""
    failures = 0
    for _ in range(rounds):
        socks = []
        for _ in range(size):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((HOST, PORT))
            socks.append(s)
        time.sleep(0.5)
        for s in socks:
            s.close()
        deadline = time.time() + 5
        while not livez() and time.time() < deadline:
            time.sleep(0.05)
        failures += 0 if livez() else 1
    result(label, rounds * size, failures, 0, f"{rounds} bursts of {size} connects; /livez after each")


def burst_small():
    """The first reproduction of libmicrohttpd 0.9.75's deadlock: connection_limit 4, 200 connects."""
    burst(rounds=5, size=200, label="burst, connection_limit 4")


def latency_probe(stop, samples, errors, server_errors):
    """A normal client from another address: one /reconstruct at a time, fresh connection each."""
    while not stop.is_set():
        t = time.perf_counter()
        try:
            c = Client("127.0.0.2", timeout=5)
            status = c.request("POST", "/reconstruct", BODY)[0]
            c.close()
            if status >= 500:
                server_errors.append(status)
            elif status != 200:
                errors.append(status)
            samples.append(time.perf_counter() - t)
        except OSError as e:
            errors.append(repr(e))
        time.sleep(0.01)


def slowloris(connections=1000, seconds=15):
    """Connections from one address sending a header byte per second; meanwhile a normal client
    from 127.0.0.2 is timed."""
    stop = threading.Event()
    samples, errors, server_errors = [], [], []
    probe = threading.Thread(target=latency_probe, args=(stop, samples, errors, server_errors))
    probe.start()
    socks = []
    for _ in range(connections):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, PORT))
        socks.append(s)
    time.sleep(0.3)
    for s in socks:
        try:
            s.send(b"POST /reconstruct HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass
    answered_408 = closed = 0
    end = time.time() + seconds
    while time.time() < end:
        for s in socks:
            try:
                s.send(b"X")
            except OSError:
                pass
        time.sleep(1)
    for s in socks:
        try:
            d = s.recv(512)
            if d.startswith(b"HTTP/1.1 408"):
                answered_408 += 1
            elif d == b"":
                closed += 1
        except OSError:
            closed += 1
        s.close()
    stop.set()
    probe.join()
    samples.sort()
    p = lambda q: round(1000 * samples[min(len(samples) - 1, int(q * len(samples)))], 2) if samples else None
    result("slowloris", len(samples) + len(errors), len(errors), len(server_errors),
           f"{connections} trickling: {answered_408} got 408, {closed} closed; normal client p50 {p(0.5)} ms, p99 {p(0.99)} ms, max {p(1.0)} ms")


def server_5xx():
    """5xx answers the server has counted (ae_http_requests_total), asked from 127.0.0.3."""
    try:
        c = Client("127.0.0.3", timeout=5)
        text = c.request("GET", "/metrics")[2].decode()
        c.close()
    except OSError:
        return 0
    return sum(int(float(l.split()[-1])) for l in text.splitlines()
               if l.startswith("ae_http_requests_total") and 'status="5' in l)


def wrk(seconds, path="/reconstruct"):
    lua = os.path.join(os.path.dirname(__file__), "wrk.lua")
    env = dict(os.environ, WRK_BODY=sys.argv[3])
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", lua, f"http://{HOST}:{PORT}{path}"],
                         stdout=subprocess.PIPE, text=True, env=env, check=True).stdout
    return json.loads(out.splitlines()[-1])


def reload(seconds=10):
    """SIGHUP every 0.5 s (the model file loaded, validated and swapped) under wrk's load."""
    stop = threading.Event()
    sent = [0]

    def hup():
        while not stop.wait(0.5):
            os.kill(PID, signal.SIGHUP)
            sent[0] += 1
    t = threading.Thread(target=hup)
    before = server_5xx()
    t.start()
    w = wrk(seconds)
    stop.set()
    t.join()
    result("reload", w["requests"], w["errors"], server_5xx() - before, f"{sent[0]} reloads under wrk -c32, {w['rps']:.0f} req/s")


def soak(total=1_000_000):
    """RSS after ~10k requests and after at least `total`."""
    c = Client()
    for _ in range(10_000):
        c.request("POST", "/reconstruct", BODY)
    c.close()
    early = rss_mb()
    done, failures, before = 10_000, 0, server_5xx()
    while done < total:
        w = wrk(5)
        done += w["requests"]
        failures += w["errors"]
    result("soak", done, failures, server_5xx() - before, f"RSS {early} MB after 10k requests")


def mutate(body, rng):
    b = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        i = rng.randrange(len(b) + 1)
        if op < 0.3 and b:
            b[min(i, len(b) - 1)] = rng.randrange(256)
        elif op < 0.5:
            b[i:i] = bytes(rng.choice([b"{", b"}", b"[", b"]", b",", b":", b'"', b"-", b"e", b"1e999", b"\\u0000",
                                       b"null", b" ", b"\xff", b"9" * 40, b'"instances"', b'"features"']))
        elif op < 0.7 and b:
            del b[i:i + rng.randint(1, 32)]
        elif op < 0.85 and b:
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 64)]
        else:
            b = b[:i]
    return bytes(b)


def mutation(total=200_000, threads=4):
    """Mutated JSON bodies to /reconstruct and /encode over keep-alive connections: every answer
    must be a 200 or a 4xx with a JSON error, and no connection may break."""
    counts = {"requests": 0, "failures": 0, "5xx": 0}
    lock = threading.Lock()

    def run(seed, n):
        rng = random.Random(seed)
        c = Client()
        local = {"requests": 0, "failures": 0, "5xx": 0}
        for k in range(n):
            body = mutate(BODY, rng)
            try:
                status, _, answer = c.request("POST", "/encode" if k % 2 else "/reconstruct", body)
                local["requests"] += 1
                if status >= 500:
                    local["5xx"] += 1
                elif status != 200 and not answer.startswith(b'{"error":'):
                    local["failures"] += 1
            except OSError:
                local["failures"] += 1
                c.close()
                c = Client()
        c.close()
        with lock:
            for key in counts:
                counts[key] += local[key]
    ts = [threading.Thread(target=run, args=(seed, total // threads)) for seed in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    result("mutation", counts["requests"], counts["failures"], counts["5xx"], f"{total} mutated bodies, {threads} keep-alive connections")


def drain(clients=32):
    """SIGTERM under keep-alive load: every request sent must be answered; the only errors allowed
    are connections refused once the listener has closed."""
    stop_at = time.time() + 20
    counts = {"answered": 0, "refused": 0, "failed": 0, "5xx": 0}
    lock = threading.Lock()
    warm = threading.Barrier(clients + 1)

    def run(i):
        c, done, waited = None, 0, False
        while time.time() < stop_at:
            try:
                if c is None:
                    c = Client()
                status, headers, _ = c.request("GET", "/livez") if i % 2 else c.request("POST", "/reconstruct", BODY)
                done += 1
                if status >= 500:
                    with lock:
                        counts["5xx"] += 1
                if headers.get(b"connection", b"").lower() == b"close":
                    c.close()
                    c = None
            except ConnectionRefusedError:
                with lock:
                    counts["refused"] += 1
                break
            except OSError:
                with lock:
                    counts["failed"] += 1
                c = None
            if done == 50 and not waited:
                waited = True
                warm.wait()
        if not waited:
            warm.wait()
        with lock:
            counts["answered"] += done
    ts = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    [t.start() for t in ts]
    warm.wait()
    t0 = time.time()
    os.kill(PID, signal.SIGTERM)
    [t.join() for t in ts]
    waited = 0
    while alive() and waited < 15:
        time.sleep(0.05)
        waited += 0.05
    print(json.dumps({"attack": "drain", "requests": counts["answered"] + counts["failed"], "failures": counts["failed"],
                      "5xx": counts["5xx"], "crashes": 0, "rss_mb": None,
                      "note": f"{clients} keep-alive clients, SIGTERM mid-load; {counts['refused']} refused after the listener closed; "
                              f"exited {'in %.2f s' % (time.time() - t0) if not alive() else 'NOT within 15 s'}"}), flush=True)


for name in sys.argv[4:]:
    globals()[name]()
