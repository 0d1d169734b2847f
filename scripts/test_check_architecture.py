#!/usr/bin/env python3
"""Self-test of scripts/check-architecture.py on small temporary trees (scripts/test.sh runs it).

Usage: python3 scripts/test_check_architecture.py
"""
import importlib.util
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = pathlib.Path(__file__).resolve().parent / "check-architecture.py"
spec = importlib.util.spec_from_file_location("check_architecture", SCRIPT)
checker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checker)

PACKAGE = '''\
// swift-tools-version:6.0
import PackageDescription

let featureModules = ["Orders", "Billing"]

var targets: [Target] = [
    .target(name: "Kernel", path: "Modules/Kernel"),
    .target(name: "OrdersZipData", path: "Modules/OrdersZipData"),
    .target(name: "Postgres", dependencies: ["Kernel"], path: "Modules/Postgres"),
]

/// Extra dependencies per feature.
let featureDependencies: [String: [Target.Dependency]] = [
    "Orders": ["OrdersZipData", "BillingContract"{extra}],
]

for name in featureModules {
    targets.append(.target(name: name, dependencies: ["Kernel"] + featureDependencies[name, default: []],
                           path: "Modules/\\(name)"))
    targets.append(.testTarget(name: "\\(name)Tests", dependencies: [.target(name: name), "Postgres", "Orders"],
                               path: "Tests/\\(name)Tests"))
}
'''

CLEAN = {
    "Modules/Kernel/Kernel.swift": "public struct SQL {}\n",
    "Modules/OrdersZipData/Table.generated.swift": 'public let zipTable: StaticString = #"""\nimport Auth\n"""#\n',
    "Modules/Postgres/MigrationRunner.swift": '''\
        import Kernel
        enum MigrationRunner {
            static let tableName = "atlas_schema_migrations"
            static let create = """
                CREATE TABLE IF NOT EXISTS \\(tableName) (namespace text)
                """
        }
        ''',
    "Modules/Orders/OrdersSchema.swift": '''\
        import Foundation
        @preconcurrency import Kernel
        #if canImport(Glibc)
        import Glibc
        #endif
        import OrdersZipData
        public import BillingContract

        // import Billing   (a comment: never an import)
        /* import Postgres
           /* nested */ still a comment: SELECT * FROM billing_invoices */
        enum OrdersSchema {
            static let sql = """
                CREATE TABLE orders (id text PRIMARY KEY);
                CREATE TABLE IF NOT EXISTS orders_lines (order_id text);
                """
            /// Billing writes `billing_invoices` for every order (a doc comment: never SQL).
            static let read = "SELECT * FROM orders WHERE id = $1"
            static let message = "billing_invoices are listed by Billing"
            static let label = "orders:read, billing_invoices:read"
        }
        ''',
    "Modules/Billing/Billing.swift": '''\
        import Kernel
        enum BillingSchema {
            static let sql = """
                CREATE TABLE billing_invoices (id text, order_id text)
                """
            static func list(_ limit: Int) -> String {
                "SELECT * FROM billing_invoices LIMIT \\(limit) -- \\("orders_lines_x")"
            }
        }
        ''',
}


class CheckArchitectureTests(unittest.TestCase):
    def tree(self, files=None, extra_dependency=""):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        root = pathlib.Path(directory.name)
        (root / "Package.swift").write_text(PACKAGE.replace("{extra}", extra_dependency))
        for path, text in {**CLEAN, **(files or {})}.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(textwrap.dedent(text))
        return root

    def violations(self, root):
        found, _ = checker.check(root)
        return [f"{path}:{line}: {message}" for path, line, message in found]

    def test_a_clean_tree_passes(self):
        root = self.tree()
        self.assertEqual(self.violations(root), [])
        _, summary = checker.check(root)
        self.assertEqual(summary["tables"], 4)  # orders, orders_lines, billing_invoices, atlas_schema_migrations

    def test_a_feature_importing_another_feature_fails(self):
        root = self.tree({"Modules/Orders/Checkout.swift": "import Kernel\n@testable import Billing\n"})
        self.assertEqual(self.violations(root), [
            "Modules/Orders/Checkout.swift:2: Orders imports Billing (" + checker.RULE + ")"])

    def test_importing_infrastructure_or_another_features_data_fails(self):
        root = self.tree({"Modules/Billing/Export.swift":
                          "internal import Postgres\nimport struct OrdersZipData.Table\n"})
        self.assertEqual([line.split(": (")[0].split(" (")[0] for line in self.violations(root)], [
            "Modules/Billing/Export.swift:1: Billing imports Postgres",
            "Modules/Billing/Export.swift:2: Billing imports OrdersZipData"])

    def test_a_forbidden_package_dependency_fails(self):
        root = self.tree(extra_dependency=', "Postgres"')
        self.assertEqual(self.violations(root), [
            "Package.swift:14: Orders depends on Postgres (" + checker.RULE + ")"])

    def test_an_unreadable_dependency_expression_fails_loudly(self):
        root = self.tree()
        package = (root / "Package.swift").read_text().replace(
            '["Kernel"] + featureDependencies[name, default: []]', 'dependencies(of: name)')
        (root / "Package.swift").write_text(package)
        self.assertEqual(len(self.violations(root)), 1)
        self.assertIn("cannot read the feature targets' dependencies", self.violations(root)[0])

    def test_a_feature_naming_a_foreign_table_in_sql_fails(self):
        root = self.tree({"Modules/Orders/OrderStore.swift": '''\
            import Kernel
            struct OrderStore {
                let total = """
                    SELECT sum(amount)
                    FROM orders JOIN billing_invoices ON billing_invoices.order_id = orders.id
                    """
                let table = "atlas_schema_migrations"
            }
            '''})
        self.assertEqual(self.violations(root), [
            "Modules/Orders/OrderStore.swift:5: Orders names table billing_invoices, owned by Billing "
            "(a feature module's SQL may name only its own tables)",
            "Modules/Orders/OrderStore.swift:7: Orders names table atlas_schema_migrations, owned by Postgres "
            "(a feature module's SQL may name only its own tables)"])

    def test_a_foreign_table_inside_an_interpolated_literal_fails(self):
        root = self.tree({"Modules/Billing/Report.swift":
                          'let sql = "SELECT \\(columns) FROM \\(raw: "orders") WHERE x IN (SELECT 1 FROM orders_lines)"\n'})
        self.assertEqual([line.split(": ", 1)[0] + ": " + line.split(": ", 1)[1].split(",")[0]
                          for line in self.violations(root)], [
            "Modules/Billing/Report.swift:1: Billing names table orders",
            "Modules/Billing/Report.swift:1: Billing names table orders_lines"])

    def test_data_targets_import_only_system_modules(self):
        root = self.tree({"Modules/OrdersZipData/Extra.swift": "import Foundation\nimport Kernel\n"})
        self.assertEqual(self.violations(root), [
            "Modules/OrdersZipData/Extra.swift:2: data target OrdersZipData imports Kernel "
            "(a data target imports only system modules)"])

    def test_the_command_prints_violations_and_a_closing_line_and_exits_non_zero(self):
        root = self.tree({"Modules/Orders/Checkout.swift": "import Billing\n"})
        run = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        lines = run.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Modules/Orders/Checkout.swift:1: Orders imports Billing"))
        self.assertTrue(lines[-1].startswith("architecture check: FAILED, 1 violation(s)"))
        clean = subprocess.run([sys.executable, str(SCRIPT), "--root", str(self.tree())], capture_output=True, text=True)
        self.assertEqual(clean.returncode, 0)
        self.assertTrue(clean.stdout.startswith("architecture check: passed"))


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    passed = result.wasSuccessful()
    print(f"architecture check self-test: {'passed' if passed else 'FAILED'} ({result.testsRun} tests)")
    sys.exit(0 if passed else 1)
