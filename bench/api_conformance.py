#!/usr/bin/env python3
"""schemathesis against a REAL `atlas serve`, every surface's served OpenAPI document (issue 15).

A fresh database gets a sandbox merchant with every credential a surface accepts (an OAuth token for
Commerce, a secret key for payments, an admin role key for rounding, a signed-in owner for accounting, a
signed-in station device for the terminal backend). Each surface then runs schemathesis with generated
positive and negative requests (examples, coverage, fuzzing and stateful phases) and the checks
not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance and
response_headers_conformance, with a fixed seed and EXAMPLES_PER_OPERATION examples per operation.
schemathesis_hooks.py makes each valid Idempotency-Key unique (see there why).

Order matters only where a surface can spend its own credential: payments runs before Commerce (whose key
routes may revoke the payments key), and accounting's logout runs last, alone (it revokes the session).
Commerce's payment routes run a second time with a transactions-only key bound to no terminal (it cannot
manage keys, so it cannot revoke itself), because the OAuth token refuses every terminalId but its own.

Usage: DATABASE_URL=... bench/api_conformance.py [path/to/atlas]. Exit status 0 = zero failures on every
surface; one line per surface, then PASS or FAIL. ATLAS_API_CONFORMANCE_EXAMPLES overrides the budget.
"""
import json, os, random, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, pg_args, psql, start_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261203
EXAMPLES_PER_OPERATION = int(os.environ.get("ATLAS_API_CONFORMANCE_EXAMPLES", "25"))
SURFACE_SECONDS_MAX = 300
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")
TERMINAL_ID = "T-CONFORMANCE"
OWNER_EMAIL, OWNER_PASSWORD = "owner@conformance.example", "conformance-password-1"
OPERATOR, OPERATOR_PASSWORD = "operator1", "operator-password-1"


def admin(atlas, url, *arguments):
    """Runs `atlas admin …` and returns its output's `label value` lines as a dict (last word wins)."""
    out = subprocess.run([atlas, "admin", *arguments], env=dict(os.environ, DATABASE_URL=url, LOG_LEVEL="error"),
                         capture_output=True, text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        if line.strip():
            values[line.split()[0]] = line.split()[-1]
    return values


def call(base, path, body=None, form=None):
    data, headers = None, {}
    if body is not None:
        data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
    if form is not None:
        data, headers = urllib.parse.urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(base + path, data=data, headers=headers, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def fresh_database(base_url, prefix):
    """A new database on the server of `base_url`: (its name, its URL)."""
    name = "%s_%06x" % (prefix, random.randrange(1 << 24))
    psql(base_url, "postgres", f"CREATE DATABASE {name}")
    _, parsed = pg_args(base_url)
    return name, urllib.parse.urlunparse(parsed._replace(path="/" + name))


def provision(atlas, url):
    """The sandbox merchant and its credentials (the secrets each `atlas admin` command prints once)."""
    created = admin(atlas, url, "create-merchant", "--name", "Conformance", "--slug", "conformance")
    merchant, organization = created["merchant"], created["organization"]
    role_key = admin(atlas, url, "create-role-key", "--merchant", merchant, "--role", "admin", "--mode", "test")["secret"]
    admin(atlas, url, "create-user", "--org", organization, "--email", OWNER_EMAIL, "--password", OWNER_PASSWORD,
          "--role", "owner", "--merchant", merchant)
    device = admin(atlas, url, "create-device", "--merchant", merchant, "--role", "station", "--mode", "test")
    admin(atlas, url, "create-operator", "--merchant", merchant, "--username", OPERATOR, "--password", OPERATOR_PASSWORD,
          "--mode", "test")
    admin(atlas, url, "create-terminal", "--merchant", merchant, "--terminal", TERMINAL_ID, "--mode", "test")
    client = admin(atlas, url, "create-oauth-client", "--merchant", merchant, "--mode", "test", "--terminals", TERMINAL_ID)
    payments_key = admin(atlas, url, "create-key", "--merchant", merchant, "--mode", "test",
                         "--scopes", "transactions:read,transactions:write")["secret"]
    return {"secret_key": created["sandbox"], "payments_key": payments_key, "role_key": role_key, "device": device["deviceId"],
            "device_secret": device["deviceSecret"], "client_id": client["client_id"], "client_secret": client["client_secret"]}


def sign_in(base, credentials):
    """Bearer tokens of the surfaces whose credential is issued by the API itself."""
    oauth = call(base, "/v1/token", form={
        "grant_type": "client_credentials", "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"], "terminal_id": TERMINAL_ID, "expires_in": "86400"})
    user = call(base, "/api/v1/auth/login", {"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
    device = call(base, "/api/auth/token", {
        "tenantSlug": "conformance", "deviceId": credentials["device"], "deviceSecret": credentials["device_secret"],
        "username": OPERATOR, "password": OPERATOR_PASSWORD, "role": "station"})
    return {"commerce": oauth["access_token"], "accounting": user["tokens"]["access_token"],
            "terminal": device["accessToken"]}


def schemathesis(base, surface, header, *selection):
    """One schemathesis run; returns (exit status, its summary lines)."""
    document = call(base, f"/openapi/{surface}.json")
    server = base + document["servers"][0]["url"].rstrip("/")
    command = ["st", "run", f"{base}/openapi/{surface}.json", "--url", server, "--checks", CHECKS,
               "--seed", str(SEED), "--max-examples", str(EXAMPLES_PER_OPERATION), "--workers", "1",
               "--generation-with-security-parameters", "false", "--generation-database", "none", "--no-color",
               "--header", header, *selection]
    started = time.monotonic()
    try:
        # In a scratch folder: schemathesis writes a cache where it runs, and the repository is no place for it.
        with tempfile.TemporaryDirectory() as scratch:
            hooks = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks",
                         PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(os.path.abspath(__file__)),
                                                                  os.environ.get("PYTHONPATH")])))
            run = subprocess.run(command, capture_output=True, text=True, timeout=SURFACE_SECONDS_MAX, cwd=scratch,
                                 env=hooks)
        status, output = run.returncode, run.stdout + run.stderr
    except subprocess.TimeoutExpired as timeout:
        status, output = 124, f"timed out after {SURFACE_SECONDS_MAX} s\n{timeout.stdout or ''}"
    if status != 0:
        print(output)
    summary = [line.strip() for line in output.splitlines() if "generated," in line or "Runtime Error" in line]
    print(f"schemathesis {surface} {' '.join(selection)}: exit {status} in {time.monotonic() - started:.0f} s; "
          f"{'; '.join(summary) or 'no summary'}", flush=True)
    return status


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    base_url = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is required")
    name, url = fresh_database(base_url, "atlas_conformance")
    credentials = provision(atlas, url)
    port = free_port()
    with open(os.path.join(ROOT, ".build/api-conformance-server.log"), "w") as log:
        server = start_server(atlas, url, port, log)
        base = f"http://127.0.0.1:{port}"
        tokens = sign_in(base, credentials)
        statuses = [
            schemathesis(base, "payments", f"Authorization: Bearer {credentials['secret_key']}"),
            schemathesis(base, "rounding", f"x-api-key: {credentials['role_key']}"),
            schemathesis(base, "terminal", f"Authorization: Bearer {tokens['terminal']}"),
            schemathesis(base, "accounting", f"Authorization: Bearer {tokens['accounting']}", "--exclude-operation-id", "logout"),
            schemathesis(base, "accounting", f"Authorization: Bearer {tokens['accounting']}", "--include-operation-id", "logout"),
            schemathesis(base, "commerce", f"Authorization: Bearer {tokens['commerce']}"),
            # Payments again with a key bound to no terminal: the terminal-bound token refuses every other terminalId.
            schemathesis(base, "commerce", f"X-Api-Key: {credentials['payments_key']}",
                         "--include-tag", "Transactions", "--include-tag", "Stored value"),
        ]
        server.terminate()
        server.wait(timeout=30)
    psql(base_url, "postgres", f"DROP DATABASE IF EXISTS {name}")
    print("PASS" if all(status == 0 for status in statuses) else "FAIL")
    sys.exit(0 if all(status == 0 for status in statuses) else 1)


if __name__ == "__main__":
    main()
