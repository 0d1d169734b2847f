#!/usr/bin/env python3
"""Verifies every delivery a receiver recorded, two independent ways: the `standardwebhooks` library
(webhook-id / webhook-timestamp / webhook-signature) and a plain HMAC check of Atlas-Signature
(t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>), or for the accounting and payments flavours of
X-Atlas-Signature / x-atlas-signature (hex HMAC-SHA256(secret, raw body), no timestamp; comma-separated
values during a rotation). Prints "PASS <count>" or the first failure.

Usage: verify.py LOG_FILE SECRET [commerce|accounting|payments]
"""
import base64
import hashlib
import hmac
import json
import sys
import time

from standardwebhooks.webhooks import Webhook

log_path, secret = sys.argv[1], sys.argv[2]
flavour = sys.argv[3] if len(sys.argv) > 3 else "commerce"
count = 0
for line in open(log_path):
    record = json.loads(line)
    headers = {name.lower(): value for name, value in record["headers"]}
    body = base64.b64decode(record["body"])
    # 1. Standard Webhooks, by its own library (raises on a bad signature or a stale timestamp).
    Webhook(secret).verify(body, headers)
    event = json.loads(body)
    if flavour == "commerce":
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
        event_id_header = headers["atlas-event-id"]
    else:
        # 2. X-Atlas-Signature (accounting) / x-atlas-signature (payments): hex HMAC of the raw body alone.
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        values = headers["x-atlas-signature"].split(",")
        if not any(hmac.compare_digest(expected, value) for value in values):
            print("FAIL x-atlas-signature does not match for", event.get("id"))
            sys.exit(1)
        event_id_header = headers.get("x-atlas-event-id", event["id"])
    fields = ("id", "type", "created", "livemode", "data") + (() if flavour == "payments" else ("sequence",))
    for field in fields:
        if field not in event:
            print("FAIL body lacks", field)
            sys.exit(1)
    if flavour == "payments" and "sequence" in event:
        print("FAIL the payments payload has no sequence")
        sys.exit(1)
    if event["id"] != event_id_header or event["id"] != headers["webhook-id"]:
        print("FAIL event id differs between body and headers")
        sys.exit(1)
    count += 1
print("PASS", count)
