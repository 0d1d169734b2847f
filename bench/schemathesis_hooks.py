"""schemathesis hooks for bench/api_conformance.py (loaded through SCHEMATHESIS_HOOKS).

WHY: schemathesis draws Idempotency-Key values from a small space ("0", "00", …), so most generated
payments reused a key with another body and were answered 409 IDEMPOTENCY_CONFLICT, correctly, before
reaching the payment logic. A valid key gets a unique suffix, so each request runs; invalid keys (the
negative cases) are sent as generated.
"""
import itertools

import schemathesis

SUFFIXED_KEY_LENGTH_MAX = 200  # the server takes 1–255 printable ASCII characters; the suffix stays inside
_sequence = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key) <= SUFFIXED_KEY_LENGTH_MAX and all(" " <= c <= "~" for c in key):
        case.headers["Idempotency-Key"] = f"{key}-{next(_sequence)}"
