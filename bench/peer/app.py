"""The peer's web app: POST /api/lambda-instances/<id>/ (action=start) and GET .../status/."""
import hashlib
import time
import uuid

from flask import Flask, jsonify, request

import common
from tasks import start

app = Flask(__name__)
r = common.connect()
admit = r.register_script(common.ADMIT)
tenants = {}  # API key hash -> tenant, cached as lambda's shim caches it


def tenant_of(key):
    if not key:
        return None
    h = hashlib.sha256(key.encode()).hexdigest()
    if h not in tenants:
        t = r.hget(common.PREFIX + "keys", h)
        if t is None:
            return None
        tenants[h] = t.decode()
    return tenants[h]


@app.post("/api/lambda-instances/<instance_id>/")
def action(instance_id):
    tenant = tenant_of(request.headers.get("X-API-Key"))
    if tenant is None:
        return jsonify(errors=[{"detail": "unauthorized"}]), 401
    if request.form.get("action") != "start":
        return jsonify(errors=[{"detail": "only action=start in the peer"}]), 400
    req_id = str(uuid.uuid4())
    res = admit(keys=common.keys(instance_id),
                args=[tenant, req_id, int(time.time() * 1000), instance_id])
    if res[0] == b"notfound":
        return jsonify(errors=[{"detail": "not found"}]), 404
    if res[0] == b"refused":
        return jsonify(errors=[{"detail": "conflict"}]), 409
    # Publisher confirms are on (broker_transport_options): this returns once the broker has it.
    start.apply_async(args=[instance_id, int(res[1])], retry=False)
    return jsonify(request_id=req_id, status="STARTING"), 202


@app.get("/api/lambda-instances/<instance_id>/status/")
def status(instance_id):
    tenant = tenant_of(request.headers.get("X-API-Key"))
    if tenant is None:
        return jsonify(errors=[{"detail": "unauthorized"}]), 401
    owner, st = r.hmget(common.PREFIX + "i:" + instance_id, "owner", "status")
    if owner is None or owner.decode() != tenant:
        return jsonify(errors=[{"detail": "not found"}]), 404
    return jsonify(id=instance_id, status=int(st)), 200
