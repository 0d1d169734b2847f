import AtlasTestSupport
import Auth
import Foundation
import Kernel
import Testing

/// The accounting API over the whole app and a real PostgreSQL: spec B.3 acceptance cases B7–B17 and
/// B28–B32, every bad input → the documented 4xx body with nothing changed, roles, and cross-organization 404s.
@Suite(.serialized) struct AccountingAPITests {
    @Test func companiesB7() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let missing = await fixture.send(.post, "/api/v1/companies/", ["name": "No Year"])
        #expect(missing.status == 422)
        #expect(missing.firstErrorField == "fiscal_year_start_date")
        #expect(missing.json["status_code"]?.intValue == 422)
        #expect(missing.detail != nil)
        let created = await fixture.send(.post, "/api/v1/companies", ["name": "K", "fiscal_year_start_date": "2026-01-01"])
        #expect(created.status == 201)
        #expect(created.json["base_currency"] == "USD")
        #expect(created.json["accounting_method"] == "accrual")
        #expect(created.json["fiscal_year"]?.intValue != nil)
        #expect(created.json["org_id"]?.stringValue == fixture.harness.organizationId)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(UUID(uuidString: id) != nil)
        for bad: JSONValue in [["name": "", "fiscal_year_start_date": "2026-01-01"],
                               ["name": "X", "fiscal_year_start_date": "2026-02-30"],
                               ["name": "X", "fiscal_year_start_date": "2026-01-01", "base_currency": "US"],
                               ["name": "X", "fiscal_year_start_date": "2026-01-01", "accounting_method": "hybrid"],
                               ["name": 5, "fiscal_year_start_date": "2026-01-01"]] {
            let response = await fixture.send(.post, "/api/v1/companies/", bad)
            #expect(response.status == 422, "\(bad)")
            #expect(response.firstErrorField != nil, "\(bad)")
        }
        let list = await fixture.send(.get, "/api/v1/companies/")
        #expect(list.status == 200)
        #expect(list.json["total"]?.intValue == 1)
        #expect(list.json["page"]?.intValue == 1)
        #expect(list.json["has_next"] == false)
        let renamed = await fixture.send(.patch, "/api/v1/companies/\(id)", ["name": "K2", "base_currency": "USD"])
        #expect(renamed.json["name"] == "K2")
        let currency = await fixture.send(.patch, "/api/v1/companies/\(id)", ["base_currency": "EUR"])
        #expect(currency.status == 422)
        // Company management needs admin or owner.
        let bookkeeper = try await fixture.token(.bookkeeper)
        let refused = await fixture.send(.post, "/api/v1/companies/", ["name": "B", "fiscal_year_start_date": "2026-01-01"],
                                         token: bookkeeper)
        #expect(refused.status == 403)
        #expect(refused.json["status_code"]?.intValue == 403)
    }

    /// Schemathesis found a 500: deleting a company that customers or documents still name hit a foreign key.
    @Test func aCompanyThatOthersStillNameIsNotDeletedAndNeverA500() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let customer = await fixture.send(.post, "/api/v1/customers/", ["display_name": "Customer C"])
        #expect(customer.status == 201)
        let refused = await fixture.send(.delete, "/api/v1/companies/\(company)")
        #expect(refused.status == 409)
        #expect(refused.json["status_code"]?.intValue == 409)
        #expect(await fixture.send(.get, "/api/v1/companies/\(company)").status == 200)
        let empty = try await fixture.company(name: "Empty Co")
        #expect(await fixture.send(.delete, "/api/v1/companies/\(empty)").status == 204)
    }

    @Test func chartOfAccountsB8toB10() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        #expect(accounts["4000"] != nil && accounts["1000"] != nil && accounts["1200"] != nil)
        let again = await fixture.send(.post, "/api/v1/accounts/setup-coa?company_id=\(company)", ["template_name": "ifrs"])
        #expect(again.status == 409)
        let badTemplate = await fixture.send(.post, "/api/v1/accounts/setup-coa", ["template_name": "french"])
        #expect(badTemplate.status == 422)
        #expect(badTemplate.firstErrorField == "template_name")

        let base: [String: JSONValue] = ["company_id": .string(company), "account_number": "6900", "name": "Misc",
                                         "account_type": "expense", "normal_balance": "debit"]
        var cashType = base
        cashType["account_type"] = "cash"
        let b8a = await fixture.send(.post, "/api/v1/accounts/", .object(cashType))
        #expect(b8a.status == 422 && b8a.firstErrorField == "account_type")
        var left = base
        left["normal_balance"] = "left"
        let b8b = await fixture.send(.post, "/api/v1/accounts/", .object(left))
        #expect(b8b.status == 422 && b8b.firstErrorField == "normal_balance")
        var long = base
        long["account_number"] = .string(String(repeating: "9", count: 21))
        #expect(await fixture.send(.post, "/api/v1/accounts/", .object(long)).status == 422)

        let created = await fixture.send(.post, "/api/v1/accounts/", .object(base))
        #expect(created.status == 201)
        let misc = try #require(created.json["id"]?.stringValue)
        let duplicate = await fixture.send(.post, "/api/v1/accounts/", .object(base))
        #expect(duplicate.status == 409)
        #expect(duplicate.firstErrorField == "account_number")

        let number = await fixture.send(.patch, "/api/v1/accounts/\(misc)", ["account_number": "6901"])
        #expect(number.status == 422)
        let renamed = await fixture.send(.patch, "/api/v1/accounts/\(misc)", ["name": "Miscellaneous", "account_number": "6900"])
        #expect(renamed.status == 200 && renamed.json["name"] == "Miscellaneous")

        // B10: a system account, an account with a balance, an unused ordinary account.
        let system = await fixture.send(.delete, "/api/v1/accounts/\(try #require(accounts["4000"]))")
        #expect(system.status == 409)
        let rent = try #require(accounts["6000"])
        let entry = await fixture.send(.post, "/api/v1/journal-entries/",
                                       fixture.entryBody(company, debit: rent, credit: try #require(accounts["2100"])))
        let entryId = try #require(entry.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(entryId)/post").status == 200)
        #expect(await fixture.send(.delete, "/api/v1/accounts/\(rent)").status == 409)
        #expect(await fixture.send(.delete, "/api/v1/accounts/\(misc)").status == 204)
        let after = await fixture.send(.get, "/api/v1/accounts/\(misc)")
        #expect(after.json["is_active"] == false)
        let inactive = await fixture.send(.get, "/api/v1/accounts/?company_id=\(company)&is_active=false")
        #expect(inactive.json["total"]?.intValue == 1)
        let hierarchy = await fixture.send(.get, "/api/v1/accounts/hierarchy?company_id=\(company)")
        #expect(hierarchy.status == 200)
        let balance = await fixture.send(.get, "/api/v1/accounts/\(rent)/balance?as_of_date=2026-01-31")
        #expect(balance.json["balance"] == "500.00")
        let before = await fixture.send(.get, "/api/v1/accounts/\(rent)/balance?as_of_date=2026-01-14")
        #expect(before.json["balance"] == "0.00")
    }

    @Test func journalEntriesB11toB17() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let utilities = try #require(accounts["6100"])
        let accrued = try #require(accounts["2100"])

        // B11: unbalanced, one line, zero.
        let unbalanced: JSONValue = ["entry_date": "2026-01-15", "description": "x",
                                     "lines": [AccountingFixture.line(utilities, "debit", "100"),
                                               AccountingFixture.line(accrued, "credit", "90")]]
        let b11a = await fixture.send(.post, "/api/v1/journal-entries/", unbalanced)
        #expect(b11a.status == 422 && b11a.firstErrorField == "lines")
        let single: JSONValue = ["entry_date": "2026-01-15", "description": "x", "lines": [AccountingFixture.line(utilities, "debit", "100")]]
        #expect(await fixture.send(.post, "/api/v1/journal-entries/", single).status == 422)
        let zero = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: utilities, credit: accrued,
                                                                                           amount: "0"))
        #expect(zero.status == 422)
        #expect(zero.firstErrorField == "lines[0].amount")  // B32's shape
        #expect(zero.json["status_code"]?.intValue == 422)

        // B12: a balanced draft changes no balance.
        let draft = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: utilities, credit: accrued))
        #expect(draft.status == 201)
        #expect(draft.json["status"] == "draft")
        #expect(draft.json["entry_number"]?.stringValue?.hasPrefix("JE-") == true)
        #expect(draft.json["lines"]?.arrayCount == 2)
        let id = try #require(draft.json["id"]?.stringValue)
        #expect(await fixture.balance(utilities) == "0.00")

        // B14 on a draft: PATCH → 200; DELETE of another draft → 204.
        let patched = await fixture.send(.patch, "/api/v1/journal-entries/\(id)", ["description": "Utilities, January"])
        #expect(patched.status == 200 && patched.json["description"] == "Utilities, January")
        let other = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: utilities, credit: accrued))
        let otherId = try #require(other.json["id"]?.stringValue)
        #expect(await fixture.send(.delete, "/api/v1/journal-entries/\(otherId)").status == 204)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(otherId)").status == 404)

        // B13: post, the trial balance has the 500s, a second post → 409.
        let posted = await fixture.send(.post, "/api/v1/journal-entries/\(id)/post")
        #expect(posted.status == 200)
        #expect(posted.json["status"] == "posted")
        #expect(posted.json["posted_at"]?.stringValue != nil)
        #expect(posted.json["posting_date"] == "2026-01-15")
        #expect(await fixture.balance(utilities) == "500.00")
        let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?company_id=\(company)&as_of_date=2026-01-31")
        #expect(trial.json["total_debits"] == "500.00")
        #expect(trial.json["is_balanced"] == true)
        let twice = await fixture.send(.post, "/api/v1/journal-entries/\(id)/post", ["posting_date": "2026-01-16"])
        #expect(twice.status == 409)
        #expect(twice.json["status_code"]?.intValue == 409)

        // B14 on a posted entry.
        #expect(await fixture.send(.patch, "/api/v1/journal-entries/\(id)", ["description": "changed"]).status == 409)
        #expect(await fixture.send(.delete, "/api/v1/journal-entries/\(id)").status == 409)
        let unchanged = await fixture.send(.get, "/api/v1/journal-entries/\(id)")
        #expect(unchanged.json["description"] == "Utilities, January")

        // B16: correct; unbalanced correction lines → 422 first, nothing changed.
        let badCorrection = await fixture.send(.post, "/api/v1/journal-entries/\(id)/correct",
                                               ["reason": "amount", "lines": [AccountingFixture.line(utilities, "debit", "450"),
                                                                              AccountingFixture.line(accrued, "credit", "400")]])
        #expect(badCorrection.status == 422)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(id)").json["status"] == "posted")
        let corrected = await fixture.send(.post, "/api/v1/journal-entries/\(id)/correct",
                                           ["reason": "amount", "lines": [AccountingFixture.line(utilities, "debit", "450"),
                                                                          AccountingFixture.line(accrued, "credit", "450")]])
        #expect(corrected.status == 200)
        #expect(corrected.json["corrects_entry"]?.stringValue == id)
        #expect(corrected.json["version"]?.intValue == 2)
        #expect(corrected.json["status"] == "posted")
        let newId = try #require(corrected.json["id"]?.stringValue)
        let original = await fixture.send(.get, "/api/v1/journal-entries/\(id)")
        #expect(original.json["superseded_by"]?.stringValue == newId)
        #expect(original.json["status"] == "void")
        #expect(await fixture.balance(utilities) == "450.00")

        // B15: void with a reason; without one → 422; the reversal restores the balances.
        let noReason = await fixture.send(.post, "/api/v1/journal-entries/\(newId)/void", [:])
        #expect(noReason.status == 422 && noReason.firstErrorField == "reason")
        let voided = await fixture.send(.post, "/api/v1/journal-entries/\(newId)/void", ["reason": "dup"])
        #expect(voided.status == 200)
        #expect(voided.json["status"] == "void")
        #expect(voided.json["void_reason"] == "dup")
        let reversal = try #require(voided.json["reversed_by"]?.stringValue)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(reversal)").json["reverses_entry"]?.stringValue == newId)
        #expect(await fixture.balance(utilities) == "0.00")
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(newId)/void", ["reason": "again"]).status == 409)
        // A draft cannot be voided.
        let fresh = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: utilities, credit: accrued))
        let freshId = try #require(fresh.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(freshId)/void", ["reason": "x"]).status == 409)

        // B17: paging.
        #expect(await fixture.send(.get, "/api/v1/journal-entries/?page_size=101").status == 422)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/?page=0").firstErrorField == "page")
        let page = await fixture.send(.get, "/api/v1/journal-entries/")
        #expect(page.json["page"]?.intValue == 1)
        #expect(page.json["page_size"]?.intValue == 20)
        #expect(page.json["total"]?.intValue == 5)
        #expect(page.json["has_next"] == false)
        let small = await fixture.send(.get, "/api/v1/journal-entries?page_size=2&page=2&sort_by=entry_number&sort_order=asc")
        #expect(small.json["items"]?.arrayCount == 2)
        #expect(small.json["has_next"] == true)
        let offset = await fixture.send(.get, "/api/v1/journal-entries?limit=2&offset=4")
        #expect(offset.json["items"]?.arrayCount == 1)
        #expect(offset.json["has_next"] == false)
        // Posted in January: the two reversals (the originals are void, the fresh entry a draft).
        let posts = await fixture.send(.get, "/api/v1/journal-entries/?status=posted&start_date=2026-01-01&end_date=2026-01-31")
        #expect(posts.json["total"]?.intValue == 2)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/?status=open").status == 422)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/?sort_by=amount").status == 422)
    }

    @Test func everyBadAmountIs422NeverA500AndNothingIsWritten() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let debit = try #require(accounts["6100"])
        let credit = try #require(accounts["2100"])
        let amounts: [JSONValue] = ["abc", "1.001", "-5", "1e30", "99999999999999999", "", " 1", .bool(true), .null,
                                    .double(1e300), .array([]), "0.00", -1]
        for amount in amounts {
            let response = await fixture.send(.post, "/api/v1/journal-entries/",
                                              fixture.entryBody(company, debit: debit, credit: credit, amount: amount))
            #expect(response.status == 422, "\(amount): \(response.bodyText)")
            #expect(response.firstErrorField?.hasPrefix("lines[0]") == true, "\(amount)")
        }
        let unknown = await fixture.send(.post, "/api/v1/journal-entries/",
                                         fixture.entryBody(company, debit: UUID().uuidString, credit: credit))
        #expect(unknown.status == 422 && unknown.firstErrorField == "lines[0].account_id")
        for date in ["2026-13-01", "20260115", "1800-01-01", ""] {
            let response = await fixture.send(.post, "/api/v1/journal-entries/",
                                              fixture.entryBody(company, debit: debit, credit: credit, date: date))
            #expect(response.status == 422 && response.firstErrorField == "entry_date", "\(date)")
        }
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer " + fixture.owner)
        headers.add("Content-Type", "application/json")
        let garbage = await fixture.client.send(.post, "/api/v1/journal-entries/", headers: headers, body: Array("{\"lines\": [".utf8))
        #expect(garbage.status == 422)
        #expect(garbage.json["detail"] != nil)
        // Whole numbers and JSON numbers are read exactly.
        let number = await fixture.send(.post, "/api/v1/journal-entries/",
                                        fixture.entryBody(company, debit: debit, credit: credit, amount: .double(100.1)))
        #expect(number.status == 201)
        #expect(number.json["lines"]?.firstLine?["amount"] == "100.10")
        let count = try await fixture.database.queryFirst("SELECT count(*) AS n FROM accounting_journal_entries")?.decode("n", as: Int.self)
        #expect(count == 1)
    }

    @Test func reportsB28toB30() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        func post(_ debit: String, _ credit: String, _ amount: String, _ date: String) async throws {
            let draft = await fixture.send(.post, "/api/v1/journal-entries/",
                                           fixture.entryBody(company, debit: try #require(accounts[debit]),
                                                             credit: try #require(accounts[credit]), amount: .string(amount), date: date))
            let id = try #require(draft.json["id"]?.stringValue)
            #expect(await fixture.send(.post, "/api/v1/journal-entries/\(id)/post").status == 200)
        }
        try await post("1000", "3000", "10000.00", "2026-01-02")  // owner invests
        try await post("1000", "4000", "2500.00", "2026-01-10")   // sales
        try await post("5000", "1000", "900.00", "2026-01-11")    // cost of goods
        try await post("6100", "2100", "500.00", "2026-01-15")    // utilities accrued
        try await post("4900", "1000", "100.00", "2026-01-20")    // a return
        try await post("6000", "1000", "1200.00", "2026-02-01")   // February rent: outside January
        let pnl = await fixture.send(.get, "/api/v1/reports/profit-loss?company_id=\(company)&period_start=2026-01-01&period_end=2026-01-31")
        #expect(pnl.status == 200)
        #expect(pnl.json["revenue"]?["total"] == "2400.00")
        #expect(pnl.json["cost_of_goods_sold"]?["total"] == "900.00")
        #expect(pnl.json["gross_profit"] == "1500.00")
        #expect(pnl.json["operating_expenses"]?["total"] == "500.00")
        #expect(pnl.json["net_income"] == "1000.00")
        let comparison = await fixture.send(.get, "/api/v1/reports/profit-loss?period_start=2026-02-01&period_end=2026-02-28"
                                            + "&include_comparison=true&comparison_start=2026-01-01&comparison_end=2026-01-31")
        #expect(comparison.json["net_income"] == "-1200.00")
        #expect(comparison.json["comparison"]?["net_income"] == "1000.00")
        let missing = await fixture.send(.get, "/api/v1/reports/profit-loss?period_start=2026-01-01")
        #expect(missing.status == 422 && missing.firstErrorField == "period_end")
        let sheet = await fixture.send(.get, "/api/v1/reports/balance-sheet?as_of_date=2026-01-31")
        #expect(sheet.json["is_balanced"] == true)
        #expect(sheet.json["total_assets"] == "11500.00")
        #expect(sheet.json["total_liabilities_and_equity"] == "11500.00")
        let trial = await fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=2026-02-28")
        #expect(trial.json["is_balanced"] == true)
        #expect(trial.json["total_debits"] == trial.json["total_credits"])
        #expect(await fixture.send(.get, "/api/v1/reports/trial-balance?as_of_date=yesterday").status == 422)
        // Reports need more than the employee role.
        let employee = try await fixture.token(.employee)
        #expect(await fixture.send(.get, "/api/v1/reports/trial-balance", token: employee).status == 403)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/", token: employee).status == 200)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: try #require(accounts["6100"]),
                                                                                        credit: try #require(accounts["2100"])),
                                   token: employee).status == 403)
        let bookkeeper = try await fixture.token(.bookkeeper)
        let draft = await fixture.send(.post, "/api/v1/journal-entries/", fixture.entryBody(company, debit: try #require(accounts["6100"]),
                                                                                            credit: try #require(accounts["2100"])),
                                       token: bookkeeper)
        #expect(draft.status == 201)
        let draftId = try #require(draft.json["id"]?.stringValue)
        #expect(await fixture.send(.post, "/api/v1/journal-entries/\(draftId)/post", token: bookkeeper).status == 403)
    }

    @Test func anotherOrganizationsCompanyIsNotFoundAndUnknownPathsAnswerInTheAccountingFormat() async throws {
        let fixture = try await AccountingFixture.make()
        defer { fixture.close() }
        let company = try await fixture.company()
        let accounts = try await fixture.accounts(company)
        let entryId = try await fixture.entry(company, accounts, debit: "6100", credit: "2100", post: false)

        let auth = fixture.harness.auth
        let otherOrg = try await auth.createOrganization(name: "Other org")
        let otherMerchant = try await auth.createMerchant(organizationId: otherOrg, name: "Other shop")
        try await auth.setOrganizationSettings(organizationId: otherOrg, tier: .enterprise)
        let email = "intruder.\(UUID().uuidString.prefix(8))@example.com"
        _ = try await auth.createUser(organizationId: otherOrg, email: email, password: AppHarness.password, role: .owner,
                                      merchantId: otherMerchant)
        let login = await fixture.client.send(.post, "/api/v1/auth/login",
                                              json: ["email": .string(email), "password": .string(AppHarness.password)])
        let intruder = try #require(login.json["tokens"]?["access_token"]?.stringValue)
        let probes: [(HTTPMethod, String)] = [
            (.get, "/api/v1/companies/\(company)"), (.patch, "/api/v1/companies/\(company)"),
            (.delete, "/api/v1/companies/\(company)"), (.get, "/api/v1/accounts/?company_id=\(company)"),
            (.get, "/api/v1/accounts/\(try #require(accounts["1000"]))"), (.get, "/api/v1/journal-entries/\(entryId)"),
            (.post, "/api/v1/journal-entries/\(entryId)/post"), (.delete, "/api/v1/journal-entries/\(entryId)"),
            (.get, "/api/v1/reports/trial-balance?company_id=\(company)"), (.get, "/api/v1/journal-entries/?company_id=\(company)"),
            (.get, "/api/v1/companies/not-a-uuid"),
        ]
        for (method, path) in probes {
            let response = await fixture.send(method, path, method == .patch ? ["name": "mine"] : nil, token: intruder)
            #expect(response.status == 404, "\(method) \(path): \(response.status)")
            #expect(response.json["status_code"]?.intValue == 404)
        }
        // The intruder's own organization has no company: its current company is not found either.
        #expect(await fixture.send(.get, "/api/v1/accounts/", token: intruder).status == 404)
        #expect(await fixture.send(.get, "/api/v1/journal-entries/\(entryId)").json["status"] == "draft")

        // An unknown path under an accounting collection answers in the accounting format (not the rounding one).
        let pending = await fixture.client.send(.get, "/api/v1/payments-made/\(entryId)/nothing/here")
        #expect(pending.status == 404)
        #expect(pending.json["detail"] != nil && pending.json["status_code"]?.intValue == 404)
        // B5: no bearer → 401.
        let anonymous = await fixture.client.send(.get, "/api/v1/invoices/")
        #expect(anonymous.status == 401)
        #expect(anonymous.json["detail"] != nil && anonymous.json["status_code"]?.intValue == 401)
        let unknown = await fixture.send(.get, "/api/v1/companies/\(company)/nothing/here")
        #expect(unknown.status == 404 && unknown.json["detail"] != nil)
        let method = await fixture.send(.put, "/api/v1/journal-entries/")
        #expect(method.status == 405 && method.json["detail"] != nil)
        let expired = await fixture.client.send(.get, "/api/v1/journal-entries/", headers: ["Authorization": "Bearer at_0000"])
        #expect(expired.status == 401 && expired.json["detail"] != nil)
        // The rounding surface keeps its own format on its own paths.
        let rounding = await fixture.client.send(.get, "/api/v1/jurisdictions")
        #expect(rounding.json["error"] != nil)
    }
}

extension JSONValue {
    var arrayCount: Int? { if case .array(let items) = self { return items.count }; return nil }
    var firstLine: JSONValue? { if case .array(let items) = self { return items.first }; return nil }
}
