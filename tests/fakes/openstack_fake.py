#!/usr/bin/env python3
"""A contract-faithful fake of Keystone and Nova for the openstack provider's tests.

Written from the public API references (identity v3 "Password authentication with scoped
authorization", identity v2.0 "tokens" as ~okeanos speaks it, compute v2.1 servers, server
actions, flavors; image v2 images): the status codes and bodies a client meets, tokens that
expire, servers that go BUILD -> ACTIVE and ACTIVE -> SHUTOFF with a task_state in between, 409
for an action during a task or in the wrong state, 404 once deleted, ERROR with a fault. It keeps
its state in memory and is controlled through /_fake/* (inject answers, expire tokens, inspect).

Usage: openstack_fake.py PORT [--token-ttl S] [--build-s S] [--stop-s S] [--synnefo]
"""
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ARGS = sys.argv[1:]
PORT = int(ARGS[0])
def opt(name, default):
    return float(ARGS[ARGS.index(name) + 1]) if name in ARGS else default
TOKEN_TTL = opt("--token-ttl", 3600)
BUILD_S = opt("--build-s", 0.3)
STOP_S = opt("--stop-s", 0.2)
DELETE_S = opt("--delete-s", 0.2)
SYNNEFO = "--synnefo" in ARGS
SHUTOFF = "STOPPED" if SYNNEFO else "SHUTOFF"
BASE = "http://127.0.0.1:%d" % PORT

LOCK = threading.Lock()
TOKENS = {}  # token -> expiry (unix s)
SERVERS = {}  # id -> dict
INJECT = []  # [{method, prefix, status, count, retry_after, body}]
STATS = {"auths": 0, "creates": 0, "requests": 0, "actions": 0, "microversions": []}
FLAVORS = [
    {"id": "f-tiny", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 5},
    {"id": "f-small", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
    {"id": "f-medium", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40},
    {"id": "f-large", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 80},
]
IMAGES = [
    {"id": "11111111-2222-3333-4444-555555555555", "name": "debian-12"},
    {"id": "99999999-8888-7777-6666-555555555555", "name": "broken"},  # servers end in ERROR
]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000000Z"


def advance(s):
    """Moves a server along its task by the clock (the fake has no background thread)."""
    now = time.time()
    if s["task_state"] and now >= s["task_done"]:
        s["status"], s["task_state"] = s["next"], None
        if s["status"] == "ERROR":
            s["fault"] = {"code": 500, "message": "No valid host was found. There are not enough hosts available."}


def view(s):
    advance(s)
    v = {"id": s["id"], "name": s["name"], "status": s["status"], "metadata": s["metadata"],
         "OS-EXT-STS:task_state": s["task_state"], "flavor": {"id": s["flavor"]},
         "addresses": {"private": [{"addr": s["ip"], "version": 4, "OS-EXT-IPS:type": "fixed"}],
                       "public": [{"addr": s["fip"], "version": 4, "OS-EXT-IPS:type": "floating"}]}}
    if "fault" in s:
        v["fault"] = s["fault"]
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def do_GET(self): self.route("GET")
    def do_POST(self): self.route("POST")
    def do_DELETE(self): self.route("DELETE")

    def route(self, method):
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        body = self.body() if method == "POST" else {}
        with LOCK:
            STATS["requests"] += 1
            if path.startswith("/_fake/"):
                return self.control(method, path, body)
            for rule in INJECT:
                if rule["count"] > 0 and rule["method"] == method and path.startswith(rule["prefix"]):
                    rule["count"] -= 1
                    h = {"Retry-After": str(rule["retry_after"])} if rule.get("retry_after") is not None else {}
                    return self.reply(rule["status"], rule.get("body", {"error": {"message": "injected", "code": rule["status"]}}), h)
            if body is None:
                return self.reply(400, {"badRequest": {"message": "Malformed request body", "code": 400}})
            if path == "/identity/v3/auth/tokens" and method == "POST":
                return self.auth_v3(body)
            if path == "/identity/v2.0/tokens" and method == "POST":
                return self.auth_v2(body)
            token = self.headers.get("X-Auth-Token")
            if token not in TOKENS or TOKENS[token] < time.time():
                return self.reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                                  "message": "The request you have made requires authentication."}})
            if path.startswith("/compute/v2.1"):
                return self.compute(method, path[len("/compute/v2.1"):], query, body)
            if path == "/image/v2/images" and method == "GET":
                name = query.get("name", [None])[0]
                return self.reply(200, {"images": [i for i in IMAGES if name is None or i["name"] == name]})
            return self.reply(404, {"error": {"message": "no such route", "code": 404}})

    def control(self, method, path, body):
        if path == "/_fake/inject":
            INJECT.append(body)
            return self.reply(204)
        if path == "/_fake/expire_tokens":
            TOKENS.clear()
            return self.reply(204)
        if path == "/_fake/state":
            for s in SERVERS.values():
                advance(s)
            return self.reply(200, {"servers": list(SERVERS.values()), **STATS})
        return self.reply(404)

    def issue_token(self):
        STATS["auths"] += 1
        token = uuid.uuid4().hex
        TOKENS[token] = time.time() + TOKEN_TTL
        return token, TOKENS[token]

    def auth_v3(self, body):
        try:
            ident = body["auth"]["identity"]
            user = ident["password"]["user"]
            ok = ident["methods"] == ["password"] and user["name"] == "demo" and user["password"] == "secret" \
                and user["domain"]["name"] == "Default" and body["auth"]["scope"]["project"]["name"] == "lambda"
        except (KeyError, TypeError):
            return self.reply(400, {"error": {"code": 400, "message": "Malformed auth request"}})
        if not ok:
            return self.reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires authentication."}})
        token, exp = self.issue_token()
        catalog = [{"type": "compute", "name": "nova", "endpoints": [
                       {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://192.0.2.1/compute"},
                       {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": BASE + "/compute/v2.1"}]},
                   {"type": "image", "name": "glance", "endpoints": [
                       {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": BASE + "/image"}]}]
        return self.reply(201, {"token": {"methods": ["password"], "expires_at": rfc3339(exp),
                                          "issued_at": rfc3339(time.time()), "catalog": catalog}},
                          {"X-Subject-Token": token})

    def auth_v2(self, body):
        try:
            creds = body["auth"]["passwordCredentials"]
            ok = creds["username"] == "demo" and creds["password"] == "secret"
        except (KeyError, TypeError):
            return self.reply(400, {"badRequest": {"code": 400, "message": "Malformed auth request"}})
        if not ok:
            return self.reply(401, {"unauthorized": {"code": 401, "message": "Invalid credentials"}})
        token, exp = self.issue_token()
        return self.reply(200, {"access": {"token": {"id": token, "expires": rfc3339(exp)},
                                           "serviceCatalog": [{"type": "compute", "name": "cyclades_compute", "endpoints": [
                                               {"region": "default", "publicURL": BASE + "/compute/v2.1"}]}]}})

    def find(self, sid):
        s = SERVERS.get(sid)
        if s is None or (s["status"] == "DELETED" and time.time() >= s["gone_at"]):
            self.reply(404, {"itemNotFound": {"message": "Instance %s could not be found." % sid, "code": 404}})
            return None
        return s

    def compute(self, method, path, query, body):
        mv = self.headers.get("OpenStack-API-Version")
        if mv:
            STATS["microversions"].append(mv)
        if path == "/flavors/detail" and method == "GET":
            return self.reply(200, {"flavors": FLAVORS})
        if path == "/images/detail" and method == "GET":
            return self.reply(200, {"images": IMAGES})
        if path == "/servers/detail" and method == "GET":
            pattern = query.get("name", [""])[0]
            out = []
            for s in SERVERS.values():
                advance(s)
                if s["status"] == "DELETED" and time.time() >= s["gone_at"]:
                    continue
                if re.search(pattern, s["name"]):
                    out.append(view(s))
            return self.reply(200, {"servers": out})
        if path == "/servers" and method == "POST":
            return self.create(body)
        m = re.fullmatch(r"/servers/([^/]+)(/action)?", path)
        if not m:
            return self.reply(404, {"itemNotFound": {"message": "Not found", "code": 404}})
        s = self.find(m.group(1))
        if s is None:
            return
        advance(s)
        if m.group(2):
            return self.action(s, body) if method == "POST" else self.reply(405)
        if method == "GET":
            return self.reply(200, {"server": view(s)})
        if method == "DELETE":
            if s["status"] != "DELETED":
                s.update(status="DELETED", task_state="deleting", next="DELETED", task_done=time.time() + DELETE_S,
                         gone_at=time.time() + DELETE_S)
            return self.reply(204)
        return self.reply(405)

    def create(self, body):
        srv = (body or {}).get("server")
        if not isinstance(srv, dict) or not srv.get("name"):
            return self.reply(400, {"badRequest": {"message": "Invalid input for field/attribute server.", "code": 400}})
        image = next((i for i in IMAGES if i["id"] == srv.get("imageRef")), None)
        if image is None:
            return self.reply(400, {"badRequest": {"message": "Can not find requested image", "code": 400}})
        if not any(f["id"] == srv.get("flavorRef") for f in FLAVORS):
            return self.reply(400, {"badRequest": {"message": "Flavor %s could not be found." % srv.get("flavorRef"), "code": 400}})
        nets = srv.get("networks")
        if isinstance(nets, str) and not SYNNEFO:
            mv = self.headers.get("OpenStack-API-Version", "")
            if nets not in ("auto", "none") or not mv.startswith("compute 2.") or int(mv.split(".")[1]) < 37:
                return self.reply(400, {"badRequest": {"message": "networks 'auto'/'none' need microversion 2.37", "code": 400}})
        STATS["creates"] += 1
        sid = str(uuid.uuid4())
        n = len(SERVERS) + 2
        SERVERS[sid] = {"id": sid, "name": srv["name"], "metadata": srv.get("metadata", {}), "flavor": srv["flavorRef"],
                        "image": image["id"], "status": "BUILD", "task_state": "spawning",
                        "next": "ERROR" if image["name"] == "broken" else "ACTIVE", "task_done": time.time() + BUILD_S,
                        "ip": "10.0.0.%d" % (n % 250), "fip": "203.0.113.%d" % (n % 250), "key_name": srv.get("key_name")}
        return self.reply(202, {"server": {"id": sid, "links": [], "adminPass": "x", "OS-DCF:diskConfig": "MANUAL"}})

    def action(self, s, body):
        STATS["actions"] += 1
        name = next(iter(body), None) if isinstance(body, dict) else None
        start = name in (("start",) if SYNNEFO else ("os-start",)) or (name == "os-start" and SYNNEFO)
        stop = name in (("shutdown",) if SYNNEFO else ("os-stop",)) or (name == "os-stop" and SYNNEFO)
        if not (start or stop):
            return self.reply(400, {"badRequest": {"message": "Unsupported action %s" % name, "code": 400}})
        want_from, to = ("ACTIVE", SHUTOFF) if stop else (SHUTOFF, "ACTIVE")
        if s["task_state"] or s["status"] != want_from:
            verb = "stop" if stop else "start"
            return self.reply(409, {"conflictingRequest": {"message": "Cannot '%s' instance %s while it is in vm_state %s" %
                                                           (verb, s["id"], s["status"].lower()), "code": 409}})
        s.update(task_state="powering-off" if stop else "powering-on", next=to, task_done=time.time() + STOP_S)
        return self.reply(202)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print("openstack fake on %s" % BASE, flush=True)
    server.serve_forever()
