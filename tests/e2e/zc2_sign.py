#!/usr/bin/env python3
"""Prints the Authorization header the Zenlayer Python SDK would send for a request.

Written from the SDK's documented default credential, Credential(AccessKeyId, AccessKeyPassword)
(AbstractClient._build_zc2_authorization): POST, JSON body, signed headers content-type;host.
Reads ZC2_ID, ZC2_SECRET, ZC2_HOST, ZC2_TS and ZC2_BODY from the environment, so that the test
drives it with exactly the bytes it then sends.
"""
import hashlib
import hmac
import os


def hex_sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def authorization(key_id, secret, host, timestamp, body, content_type="application/json"):
    signed_headers = "content-type;host"
    canonical = "\n".join([
        "POST",
        "/",  # the SDK signs "/" whatever the path
        "",  # and an empty query string
        "content-type:%s\nhost:%s\n" % (content_type, host),
        signed_headers,
        hex_sha256(body),
    ])
    to_sign = "\n".join(["ZC2-HMAC-SHA256", timestamp, hex_sha256(canonical)])
    signature = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return "ZC2-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
        key_id, signed_headers, signature)


if __name__ == "__main__":
    e = os.environ
    print(authorization(e["ZC2_ID"], e["ZC2_SECRET"], e["ZC2_HOST"], e["ZC2_TS"], e["ZC2_BODY"]))
