#!/usr/bin/env python3
"""Verifies every delivery a receiver recorded, two independent ways: the `standardwebhooks` library
(webhook-id / webhook-timestamp / webhook-signature) and a plain HMAC check of Atlas-Signature
(t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>). Prints "PASS <count>" or the first failure.

Usage: verify.py LOG_FILE SECRET
"""
import base64
import hashlib
import hmac
import json
import sys
import time

from standardwebhooks.webhooks import Webhook

log_path, secret = sys.argv[1], sys.argv[2]
count = 0
for line in open(log_path):
    record = json.loads(line)
    headers = {name.lower(): value for name, value in record["headers"]}
    body = base64.b64decode(record["body"])
    # 1. Standard Webhooks, by its own library (raises on a bad signature or a stale timestamp).
    Webhook(secret).verify(body, headers)
    # 2. Atlas-Signature, by hand: the header is split on "," and then on "=".
    parts = [part.split("=", 1) for part in headers["atlas-signature"].split(",")]
    timestamp = next(value for key, value in parts if key == "t")
    signatures = [value for key, value in parts if key == "v1"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        print("FAIL Atlas-Signature does not match for", headers.get("atlas-event-id"))
        sys.exit(1)
    if abs(time.time() - int(timestamp)) > 300:
        print("FAIL Atlas-Signature timestamp is more than 5 minutes away")
        sys.exit(1)
    event = json.loads(body)
    for field in ("id", "type", "created", "livemode", "data", "sequence"):
        if field not in event:
            print("FAIL body lacks", field)
            sys.exit(1)
    if event["id"] != headers["atlas-event-id"] or event["id"] != headers["webhook-id"]:
        print("FAIL event id differs between body and headers")
        sys.exit(1)
    count += 1
print("PASS", count)
