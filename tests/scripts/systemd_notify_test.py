#!/usr/bin/env python3
"""The binaries under systemd's notify protocol (Type=notify, WatchdogSec): run as systemd would,
with NOTIFY_SOCKET naming a datagram socket this test owns and WATCHDOG_USEC set. READY=1 comes
only once the service answers (/readyz 200: listening, Redis and RabbitMQ connected), not while
Redis is unreachable; WATCHDOG=1 repeats at half the period; SIGTERM brings STOPPING=1.
   systemd_notify_test.py BUILD_DIR   (under tests/with_servers.sh redis rabbitmq)"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

build = sys.argv[1]
redis_url = os.environ["LAMBDA_TEST_REDIS_URL"]
amqp_url = os.environ["LAMBDA_TEST_AMQP_URL"]
fails = []


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        fails.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Run:
    """The binary with a notify socket of its own; messages() gathers what it sent."""

    def __init__(self, argv, watchdog_usec=200000):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        env = dict(os.environ, NOTIFY_SOCKET=self.path, WATCHDOG_USEC=str(watchdog_usec))
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.received = []  # (seconds since start, message)
        self.t0 = time.monotonic()

    def poll(self, seconds, until=None):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.received.append((time.monotonic() - self.t0, msg))
            if until and until(msg):
                return msg
        return None

    def count(self, word):
        return sum(1 for _, m in self.received if word in m.split("\n"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.poll(0.3)
        return rc

    def tail(self):
        self.log.seek(0)
        return self.log.read()[-2000:]


def services():
    shim_port = free_port()
    worker_port = free_port()
    key_file = os.path.join(tempfile.mkdtemp(), "server.key")
    with open(key_file, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key_file, 0o600)
    return [
        ("api-shim", [f"{build}/api-shim/api-shim", "--redis-url", "REDIS", "--amqp-url", amqp_url,
                      "--http-port", str(shim_port), "--server-key-file", key_file],
         f"http://127.0.0.1:{shim_port}/readyz"),
        ("worker", [f"{build}/worker/worker", "--redis-url", "REDIS", "--amqp-url", amqp_url,
                    "--worker-id", "notify-test", "--worker-http-port", str(worker_port)],
         f"http://127.0.0.1:{worker_port}/readyz"),
    ]


for name, argv, readyz in services():
    # Redis unreachable: alive (the watchdog is fed) but never ready.
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    run = Run([dead_redis if a == "REDIS" else a for a in argv])
    run.poll(1.5)
    check(f"{name}: no READY=1 while Redis is unreachable ({run.received[:3]})",
          run.count("READY=1") == 0)
    check(f"{name}: WATCHDOG=1 fed while not ready ({run.count('WATCHDOG=1')} times in 1.5 s)",
          run.count("WATCHDOG=1") >= 4)
    run.stop()

    # Both servers there: READY=1 once /readyz says ready, then the watchdog goes on.
    run = Run([redis_url if a == "REDIS" else a for a in argv])
    got = run.poll(15, until=lambda m: "READY=1" in m.split("\n"))
    code = status(readyz)
    check(f"{name}: READY=1 arrived ({got!r}, after {run.received[-1][0] if run.received else -1:.3f} s)",
          got is not None)
    check(f"{name}: /readyz answers 200 when READY=1 has come ({code})", code == 200)
    before = run.count("WATCHDOG=1")
    run.poll(1.0)
    fed = run.count("WATCHDOG=1") - before
    check(f"{name}: WATCHDOG=1 repeats at half of 200 ms ({fed} in 1 s)", 5 <= fed <= 15)
    check(f"{name}: READY=1 sent once", run.count("READY=1") == 1)
    rc = run.stop()
    check(f"{name}: STOPPING=1 on SIGTERM", run.count("STOPPING=1") == 1)
    check(f"{name}: graceful exit 0 ({rc})", rc == 0)
    if fails:
        print(run.tail(), file=sys.stderr)

# Without NOTIFY_SOCKET nothing is sent and nothing changes (the binaries outside systemd).
name, argv, readyz = services()[0]
env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
proc = subprocess.Popen([redis_url if a == "REDIS" else a for a in argv], env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ok = False
for _ in range(150):
    if status(readyz) == 200:
        ok = True
        break
    time.sleep(0.1)
check("api-shim without NOTIFY_SOCKET: ready as before", ok)
proc.send_signal(signal.SIGTERM)
check("api-shim without NOTIFY_SOCKET: exit 0", proc.wait(timeout=20) == 0)

print(f"{len(fails)} failed")
sys.exit(1 if fails else 0)
