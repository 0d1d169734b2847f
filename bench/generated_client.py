#!/usr/bin/env python3
"""A Python client generated from the Commerce document makes a sale and reads it back (issue 15).

`openapi-python-client` generates a package from the document a REAL `atlas serve` serves at
/openapi/commerce.json; the test imports it, authenticates with a sandbox secret key (X-Api-Key), runs a
SALE with a test card through `create_sale`, and reads it back with `get_transaction` and
`list_transactions`. Nothing of the client is written by hand: a document a generator cannot turn into
working code fails here.

Usage: DATABASE_URL=... bench/generated_client.py [path/to/atlas]. Exit status 0 = pass.
"""
import importlib, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_conformance import admin, fresh_database, psql  # noqa: E402
from harness import free_port, start_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "atlas_commerce_client"


def generate(base, folder):
    """The client package, generated from the served document into `folder`; returns the imported package."""
    subprocess.run(["openapi-python-client", "generate", "--url", f"{base}/openapi/commerce.json", "--meta", "none",
                    "--output-path", os.path.join(folder, PACKAGE)], check=True, capture_output=True, text=True, cwd=folder)
    sys.path.insert(0, folder)
    return importlib.import_module(PACKAGE)


def sale_and_read_back(package, base, key):
    client_module = importlib.import_module(f"{PACKAGE}.client")
    models = importlib.import_module(f"{PACKAGE}.models")
    create_sale = importlib.import_module(f"{PACKAGE}.api.transactions.create_sale")
    get_transaction = importlib.import_module(f"{PACKAGE}.api.transactions.get_transaction")
    list_transactions = importlib.import_module(f"{PACKAGE}.api.transactions.list_transactions")
    client = client_module.AuthenticatedClient(base_url=base, token=key, prefix="", auth_header_name="X-Api-Key")
    body = models.NewMoneyRequest(type_=models.NewMoneyRequestType.SALE, amount=2500, currency=models.NewMoneyRequestCurrency.USD,
                                  tip_amount=300, reference_id="generated-client-1",
                                  card=models.Card(number="4242424242424242"))
    created = create_sale.sync_detailed(client=client, body=body, idempotency_key="generated-client-sale-1")
    sale = created.parsed
    assert created.status_code == 200 and isinstance(sale, models.Transaction), (created.status_code, created.content)
    assert sale.status == models.TransactionStatus.APPROVED and sale.total_amount == 2800, sale
    read = get_transaction.sync(sale.transaction_id, client=client)
    assert isinstance(read, models.Transaction), read
    assert (read.transaction_id, read.status, read.amount, read.tip_amount, read.reference_id, read.masked_pan) == (
        sale.transaction_id, sale.status, 2500, 300, "generated-client-1", "************4242"), read
    page = list_transactions.sync(client=client, limit=10)
    assert [item.transaction_id for item in page.data] == [sale.transaction_id] and page.has_more is False, page
    print(f"generated client: sale {sale.transaction_id} {sale.status.value} {sale.total_amount}, read back and listed")


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    base_url = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is required")
    name, url = fresh_database(base_url, "atlas_client")
    key = admin(atlas, url, "create-merchant", "--name", "Generated client")["sandbox"]
    with open(os.path.join(ROOT, ".build/generated-client-server.log"), "w") as log, \
            tempfile.TemporaryDirectory() as folder:
        port = free_port()
        server = start_server(atlas, url, port, log)
        base = f"http://127.0.0.1:{port}"
        sale_and_read_back(generate(base, folder), base, key)
        server.terminate()
        server.wait(timeout=30)
    psql(base_url, "postgres", f"DROP DATABASE IF EXISTS {name}")
    print("PASS")


if __name__ == "__main__":
    main()
