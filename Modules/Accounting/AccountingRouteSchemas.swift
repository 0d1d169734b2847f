import Kernel

/// The accounting contract of every route in `AccountingRoutes` (spec B.1), for the generated OpenAPI
/// document. Enum values and limits come from the constants the handlers validate with. Credentials and
/// rate-limit headers are added by the access guard; the surface adds its 422 and error bodies.
enum AccountingRouteSchemas {
    typealias Schema = JSONSchema
    typealias Parameter = RouteSchema.Parameter

    static let uuid = Schema.string(format: "uuid")
    static let date = Schema.string(format: "date")
    static let dateTime = Schema.string(format: "date-time")
    static let money = Schema.string(pattern: "^-?[0-9]+(\\.[0-9]+)?$")
        .described("Decimal amount with the currency's decimals, e.g. \"330.00\" (from integer minor units)")
    static let amountInput = Schema.oneOf([.string(pattern: "^[0-9]+(\\.[0-9]+)?$"), .integer(minimum: 0), .number(minimum: 0)])
        .described("A decimal string (\"100.00\"), or a JSON number read exactly; no more decimals than the currency has")
    static let currency = Schema.string(pattern: "^[A-Z]{3}$").described("ISO 4217 code")
    /// A document's rate: base-currency units per 1 unit of its currency ("1" in the base currency).
    static let exchangeRate = Schema.string(pattern: "^[0-9]+(\\.[0-9]+)?$")
        .described("Base-currency units per 1 unit of the document's currency")
    static let side = Schema.enumeration(["debit", "credit"])

    static let companyQuery = Parameter.query("company_id", uuid, "The company; the caller's current company when absent")
    static let pageQuery: [Parameter] = [
        .query("page", .integer(minimum: 1), "Page number (default 1)"),
        .query("page_size", .integer(minimum: 1, maximum: Int64(AccountingPage.pageSizeMax)), "Items per page (default 20)"),
        .query("limit", .integer(minimum: 1, maximum: Int64(AccountingPage.limitMax)), "With offset: wins over page/page_size"),
        .query("offset", .integer(minimum: 0)),
    ]
    static func id(_ what: String) -> [Parameter] { [.path("id", uuid, "The \(what)'s id")] }

    static func page(of component: String) -> Schema {
        .openObject([
            .required("items", .array(of: .ref(component))), .required("total", .integer(minimum: 0)),
            .required("page", .integer(minimum: 1)), .required("page_size", .integer(minimum: 1)),
            .required("has_next", .boolean), .required("has_more", .boolean),
        ])
    }

    // MARK: Components

    static let components: [String: Schema] = [
        "Company": .openObject([
            .required("id", uuid), .required("org_id", .string()), .required("merchant_id", Schema.string().nullable()),
            .required("name", .string()), .required("base_currency", currency), .required("fiscal_year_start_date", date),
            .required("fiscal_year", .integer()), .required("accounting_method", .enumeration(CompanyHandlers.methods)),
            .required("is_active", .boolean), .required("created_at", dateTime),
        ]),
        "Account": .openObject([
            .required("id", uuid), .required("company_id", uuid), .required("account_number", .string(lengthMax: 20)),
            .required("name", .string()), .required("account_type", .enumeration(Account.types)),
            .required("normal_balance", side), .required("account_subtype", Schema.string().nullable()),
            .required("parent_id", uuid.nullable()), .required("is_system", .boolean), .required("is_active", .boolean),
        ]),
        "JournalLine": .openObject([
            .required("id", uuid), .required("line_number", .integer(minimum: 1)), .required("account_id", uuid),
            .required("entry_type", side), .required("amount", money), .required("currency", currency),
            .required("exchange_rate", .string()), .required("base_amount", money),
        ]),
        "JournalEntry": .openObject([
            .required("id", uuid), .required("company_id", uuid), .required("entry_number", .string()),
            .required("status", .enumeration(["draft", "posted", "void"])), .required("entry_type", .string()),
            .required("entry_date", date), .required("posting_date", date.nullable()), .required("description", .string()),
            .required("total_debit", money), .required("total_credit", money), .required("version", .integer(minimum: 1)),
            .required("posted_at", dateTime.nullable()), .required("posted_by", Schema.string().nullable()),
            .required("voided_at", dateTime.nullable()), .required("void_reason", Schema.string().nullable()),
            .required("superseded_by", uuid.nullable()), .required("corrects_entry", uuid.nullable()),
            .required("reverses_entry", uuid.nullable()), .required("reversed_by", uuid.nullable()),
            .required("lines", .array(of: .ref("JournalLine"))),
        ]),
        "ReportCategory": .openObject([
            .required("name", .string()), .required("total", money),
            .required("sections", .array(of: .openObject([
                .required("name", .string()), .required("subtotal", money),
                .required("items", .array(of: .openObject([
                    .required("account_id", uuid.nullable()), .required("account_number", Schema.string().nullable()),
                    .required("account_name", .string()), .required("amount", money),
                ]))),
            ]))),
        ]),
        "Period": .openObject([
            .required("id", uuid), .required("company_id", uuid), .required("sequence", .integer(minimum: 1)),
            .required("period_start", date), .required("period_end", date), .required("status", .enumeration(["closed", "reopened"])),
            .required("entries_hash", .string()), .required("previous_hash", .string()), .required("chain_hash", .string()),
            .required("closing_entry_id", uuid.nullable()), .required("revaluation_entry_id", uuid.nullable()),
            .required("revaluation_reversal_entry_id", uuid.nullable()), .required("closed_at", dateTime), .required("closed_by", .string()),
            .required("reopened_at", dateTime.nullable()), .required("reopen_reason", Schema.string().nullable()),
        ]),
    ]

    // MARK: Companies

    static let address: [Schema.Property] = Company.addressFields.map {
        .optional($0, .string(lengthMax: CompanyHandlers.addressFieldLengthMax))
    }
    static let listCompanies = RouteSchema("Companies of the caller's organization", operationId: "listCompanies",
                                           tags: ["Companies"], query: pageQuery, responses: [.ok(page(of: "Company"))])
    static let createCompany = RouteSchema(
        "Create a company (linked to the caller's merchant when it has none)", operationId: "createCompany", tags: ["Companies"],
        body: .json(.openObject([
            .required("name", .string(lengthMin: 1, lengthMax: CompanyHandlers.nameLengthMax)),
            .required("fiscal_year_start_date", date), .optional("base_currency", currency),
            .optional("accounting_method", .enumeration(CompanyHandlers.methods)),
        ] + address), example: ["name": "Acme Books", "fiscal_year_start_date": "2026-01-01"]),
        responses: [.created(.ref("Company"))])
    static let getCompany = RouteSchema("A company", operationId: "getCompany", tags: ["Companies"], path: id("company"),
                                        responses: [.ok(.ref("Company")), .error(404, "Company not found")])
    static let updateCompany = RouteSchema(
        "Update a company (base currency is fixed)", operationId: "updateCompany", tags: ["Companies"], path: id("company"),
        body: .json(.openObject([
            .optional("name", .string(lengthMin: 1, lengthMax: CompanyHandlers.nameLengthMax)),
            .optional("fiscal_year_start_date", date), .optional("accounting_method", .enumeration(CompanyHandlers.methods)),
        ] + address)),
        responses: [.ok(.ref("Company")), .error(404, "Company not found")])
    static let deleteCompany = RouteSchema(
        "Delete a company without posted entries", operationId: "deleteCompany", tags: ["Companies"], path: id("company"),
        responses: [.noContent(), .error(404, "Company not found"), .error(409, "The company has posted journal entries")])

    // MARK: Accounts

    static let listAccounts = RouteSchema(
        "The chart of accounts, by number", operationId: "listAccounts", tags: ["Accounts"],
        query: [companyQuery, .query("account_type", .enumeration(Account.types)), .query("is_active", .boolean)] + pageQuery,
        responses: [.ok(page(of: "Account"))])
    static let createAccount = RouteSchema(
        "Add an account", operationId: "createAccount", tags: ["Accounts"],
        body: .json(.openObject([
            .required("account_number", .string(lengthMin: 1, lengthMax: AccountHandlers.numberLengthMax)),
            .required("name", .string(lengthMin: 1, lengthMax: AccountHandlers.nameLengthMax)),
            .required("account_type", .enumeration(Account.types)), .required("normal_balance", side),
            .optional("account_subtype", .string(lengthMax: AccountHandlers.subtypeLengthMax)),
            .optional("description", .string(lengthMax: AccountHandlers.descriptionLengthMax)),
            .optional("parent_id", uuid), .optional("is_system", .boolean), .optional("company_id", uuid),
        ])),
        responses: [.created(.ref("Account")), .error(409, "The account number exists in this company")])
    static let hierarchy = RouteSchema("The chart as a tree", operationId: "getAccountHierarchy", tags: ["Accounts"],
                                       query: [companyQuery], responses: [.ok(.openObject([.required("items", .array(of: .any))]))])
    static let setupChart = RouteSchema(
        "Create the chart of accounts from a template", operationId: "setupChartOfAccounts", tags: ["Accounts"],
        query: [companyQuery], body: .json(.openObject([
            .optional("template_name", .enumeration(ChartTemplates.standards)),
            .optional("industry", .enumeration(ChartTemplates.industries)), .optional("company_id", uuid),
        ]), required: false),
        responses: [.created(.openObject([.required("accounts_created", .integer(minimum: 0)),
                                          .required("items", .array(of: .ref("Account")))])),
                    .error(409, "The company already has a chart of accounts")])
    static let getAccount = RouteSchema("An account", operationId: "getAccount", tags: ["Accounts"], path: id("account"),
                                        responses: [.ok(.ref("Account")), .error(404, "Account not found")])
    static let updateAccount = RouteSchema(
        "Rename or describe an account (number and type are fixed)", operationId: "updateAccount", tags: ["Accounts"],
        path: id("account"), body: .json(.openObject([
            .optional("name", .string(lengthMin: 1, lengthMax: AccountHandlers.nameLengthMax)),
            .optional("description", .string(lengthMax: AccountHandlers.descriptionLengthMax)),
            .optional("account_subtype", .string(lengthMax: AccountHandlers.subtypeLengthMax)),
        ])),
        responses: [.ok(.ref("Account")), .error(404, "Account not found")])
    static let deleteAccount = RouteSchema(
        "Deactivate an account", operationId: "deleteAccount", tags: ["Accounts"], path: id("account"),
        responses: [.noContent(), .error(404, "Account not found"), .error(409, "A system account, or a non-zero balance")])
    static let accountBalance = RouteSchema(
        "An account's balance as of a date", operationId: "getAccountBalance", tags: ["Accounts"], path: id("account"),
        query: [.query("as_of_date", date, "Default: today")],
        responses: [.ok(.openObject([.required("account_id", uuid), .required("as_of_date", date),
                                     .required("debit_total", money), .required("credit_total", money),
                                     .required("balance", money), .required("currency", currency)])),
                    .error(404, "Account not found")])

    // MARK: Journal entries

    static let lineInput = Schema.openObject([
        .required("account_id", uuid), .required("entry_type", side), .required("amount", amountInput),
        .optional("currency", currency), .optional("exchange_rate", amountInput),
        .optional("description", .string(lengthMax: JournalLineRules.descriptionLengthMax)),
    ])
    static let lines = Schema.array(of: lineInput, itemsMax: JournalLineRules.linesMax)
        .described("At least 2 lines; debits equal credits in the base currency")
    static let listEntries = RouteSchema(
        "Journal entries", operationId: "listJournalEntries", tags: ["Journal entries"],
        query: [companyQuery, .query("status", .enumeration(["draft", "posted", "void"])),
                .query("entry_type", .enumeration(JournalEntry.entryTypes)), .query("start_date", date), .query("end_date", date),
                .query("sort_by", .enumeration(JournalStore.Sort.allCases.map(\.rawValue))),
                .query("sort_order", .enumeration(["asc", "desc"]))] + pageQuery,
        responses: [.ok(page(of: "JournalEntry"))])
    static let createEntry = RouteSchema(
        "Draft a journal entry", operationId: "createJournalEntry", tags: ["Journal entries"],
        body: .json(.openObject([
            .required("entry_date", date),
            .required("description", .string(lengthMin: 1, lengthMax: JournalEntryHandlers.descriptionLengthMax)),
            .required("lines", lines), .optional("entry_type", .enumeration(JournalEntry.entryTypes)),
            .optional("source_type", .enumeration(JournalEntry.sourceTypes)),
            .optional("reference", .string(lengthMax: JournalEntryHandlers.referenceLengthMax)), .optional("company_id", uuid),
        ])),
        responses: [.created(.ref("JournalEntry"))])
    static let getEntry = RouteSchema("A journal entry", operationId: "getJournalEntry", tags: ["Journal entries"],
                                      path: id("entry"), responses: [.ok(.ref("JournalEntry")), .error(404, "Journal entry not found")])
    static let updateEntry = RouteSchema(
        "Change a draft", operationId: "updateJournalEntry", tags: ["Journal entries"], path: id("entry"),
        body: .json(.openObject([
            .optional("entry_date", date),
            .optional("description", .string(lengthMin: 1, lengthMax: JournalEntryHandlers.descriptionLengthMax)),
            .optional("lines", lines), .optional("entry_type", .enumeration(JournalEntry.entryTypes)),
            .optional("reference", .string(lengthMax: JournalEntryHandlers.referenceLengthMax)),
        ])),
        responses: [.ok(.ref("JournalEntry")), .error(404, "Journal entry not found"), .error(409, "Only drafts can be updated")])
    static let deleteEntry = RouteSchema(
        "Delete a draft", operationId: "deleteJournalEntry", tags: ["Journal entries"], path: id("entry"),
        responses: [.noContent(), .error(404, "Journal entry not found"), .error(409, "Only drafts can be deleted")])
    static let postEntry = RouteSchema(
        "Post a draft", operationId: "postJournalEntry", tags: ["Journal entries"], path: id("entry"),
        query: [.query("posting_date", date, "Default: the entry date")],
        body: .json(.openObject([.optional("posting_date", date)]), required: false),
        responses: [.ok(.ref("JournalEntry")), .error(404, "Journal entry not found"),
                    .error(409, "Not a draft, or the posting date falls in a closed period")])
    static let reason = Schema.string(lengthMin: 1, lengthMax: JournalEntryHandlers.reasonLengthMax)
    static let voidEntry = RouteSchema(
        "Void a posted entry (posts its reversal)", operationId: "voidJournalEntry", tags: ["Journal entries"], path: id("entry"),
        query: [.query("reason", reason)], body: .json(.openObject([.required("reason", reason)]), required: false),
        responses: [.ok(.ref("JournalEntry")), .error(404, "Journal entry not found"),
                    .error(409, "Not posted, or dated in a closed period")])
    static let correctEntry = RouteSchema(
        "Correct a posted entry (reversal + a new version)", operationId: "correctJournalEntry", tags: ["Journal entries"],
        path: id("entry"),
        body: .json(.openObject([.required("reason", reason), .required("lines", lines), .optional("entry_date", date),
                                 .optional("description", .string(lengthMin: 1, lengthMax: JournalEntryHandlers.descriptionLengthMax))])),
        responses: [.ok(.ref("JournalEntry").described("The new entry")), .error(404, "Journal entry not found"),
                    .error(409, "Not posted, or dated in a closed period")])

    // MARK: Reports

    static let trialBalance = RouteSchema(
        "Trial balance", operationId: "getTrialBalance", tags: ["Reports"],
        query: [companyQuery, .query("as_of_date", date, "Default: today")],
        responses: [.ok(.openObject([
            .required("as_of_date", date), .required("currency", currency),
            .required("rows", .array(of: .openObject([.required("account_id", uuid), .required("account_type", .string()),
                                                      .required("debit", money), .required("credit", money)]))),
            .required("total_debits", money), .required("total_credits", money), .required("is_balanced", .boolean),
        ]))])
    static let profitAndLoss = RouteSchema(
        "Profit and loss for a period, optionally with a comparison period", operationId: "getProfitAndLoss", tags: ["Reports"],
        query: [companyQuery, .query("period_start", date, required: true), .query("period_end", date, required: true),
                .query("include_comparison", .boolean), .query("comparison_start", date), .query("comparison_end", date)],
        responses: [.ok(.openObject([
            .required("revenue", .ref("ReportCategory")), .required("cost_of_goods_sold", .ref("ReportCategory")),
            .required("gross_profit", money), .required("operating_expenses", .ref("ReportCategory")),
            .required("operating_income", money), .required("other_income_expense", .ref("ReportCategory")),
            .required("net_income", money),
        ]))])
    static let balanceSheet = RouteSchema(
        "Balance sheet as of a date, optionally with a comparison date", operationId: "getBalanceSheet", tags: ["Reports"],
        query: [companyQuery, .query("as_of_date", date, "Default: today"), .query("include_comparison", .boolean),
                .query("comparison_date", date)],
        responses: [.ok(.openObject([
            .required("assets", .ref("ReportCategory")), .required("liabilities", .ref("ReportCategory")),
            .required("equity", .ref("ReportCategory")), .required("total_assets", money),
            .required("total_liabilities_and_equity", money), .required("is_balanced", .boolean),
        ]))])
    static let cashFlow = RouteSchema(
        "Cash flow for a period (indirect method)", operationId: "getCashFlow", tags: ["Reports"],
        query: [companyQuery, .query("period_start", date, required: true), .query("period_end", date, required: true)],
        responses: [.ok(.openObject([
            .required("net_income", money), .required("operating_activities", .ref("ReportCategory")),
            .required("investing_activities", .ref("ReportCategory")), .required("financing_activities", .ref("ReportCategory")),
            .required("net_change_in_cash", money), .required("cash_beginning", money), .required("cash_ending", money),
            .required("is_reconciled", .boolean),
        ]))])
    static func aging(_ side: PaymentSide) -> RouteSchema {
        let receivable = side.contactKind == .customer
        var bucketProperties: [Schema.Property] = ReportBuilder.agingBuckets.map { .required($0, money) }
        bucketProperties.append(.required("total", money))
        return RouteSchema(
            receivable ? "Accounts receivable aging (open invoices by days past due)" : "Accounts payable aging (open bills by days past due)",
            operationId: receivable ? "getReceivablesAging" : "getPayablesAging", tags: ["Reports"],
            query: [companyQuery, .query("as_of_date", date, "Default: today")],
            responses: [.ok(.openObject([
                .required("as_of_date", date), .required("buckets", .array(of: .enumeration(ReportBuilder.agingBuckets))),
                .required("rows", .array(of: .openObject(bucketProperties + [.required(side.contactField, uuid),
                                                                            .required("display_name", .string())]))),
                .required("totals", .openObject(bucketProperties)),
            ]))])
    }

    // MARK: Customers and vendors

    /// The same seven routes for customers and vendors.
    struct Contacts {
        let kind: ContactKind

        var tag: String { kind == .customer ? "Customers" : "Vendors" }
        var name: String { kind == .customer ? "Customer" : "Vendor" }
        var body: Schema {
            var properties: [Schema.Property] = [
                .optional("email", .string(lengthMax: ContactHandlers.emailLengthMax)), .optional("currency", currency),
                .optional("payment_terms", .enumeration(Contact.paymentTerms)), .optional("billing_address", .openObject([])),
            ]
            properties.append(kind == .customer ? .optional("credit_limit", amountInput) : .optional("default_expense_account_id", uuid))
            return .openObject(properties)
        }

        var list: RouteSchema {
            RouteSchema("\(tag)", operationId: "list\(tag)", tags: [tag],
                        query: [companyQuery, .query("is_active", .boolean)] + pageQuery, responses: [.ok(page(of: name))])
        }
        var create: RouteSchema {
            var schema = body
            if case .object(let properties, let additional) = schema.kind {
                schema.kind = .object(properties: [.required("display_name", .string(lengthMin: 1,
                                                                                      lengthMax: ContactHandlers.displayNameLengthMax)),
                                                   .optional("company_id", uuid)] + properties, additional: additional)
            }
            return RouteSchema("Create a \(kind.rawValue) (numbered \(kind.numberPrefix)00001…)", operationId: "create\(name)",
                               tags: [tag], body: .json(schema), responses: [.created(.ref(name))])
        }
        var get: RouteSchema {
            RouteSchema("A \(kind.rawValue)", operationId: "get\(name)", tags: [tag], path: id(kind.rawValue),
                        responses: [.ok(.ref(name)), .error(404, "\(name) not found")])
        }
        var update: RouteSchema {
            RouteSchema("Update a \(kind.rawValue)", operationId: "update\(name)", tags: [tag], path: id(kind.rawValue),
                        body: .json(body), responses: [.ok(.ref(name)), .error(404, "\(name) not found")])
        }
        func setActive(_ active: Bool) -> RouteSchema {
            RouteSchema("\(active ? "Activate" : "Deactivate") a \(kind.rawValue)",
                        operationId: "\(active ? "activate" : "deactivate")\(name)", tags: [tag], path: id(kind.rawValue),
                        responses: [.ok(.ref(name)), .error(404, "\(name) not found")])
        }
        var balance: RouteSchema {
            RouteSchema("A \(kind.rawValue)'s open balance", operationId: "get\(name)Balance", tags: [tag], path: id(kind.rawValue),
                        responses: [.ok(.openObject([.required("current_balance", money), .required("total_open_amount", money)])),
                                    .error(404, "\(name) not found")])
        }
    }

    static let contactComponents: [String: Schema] = [
        "Invoice": invoiceComponent,
        "Payment": Payments(side: .received).component,
        "PaymentMade": Payments(side: .made).component,
        "Bill": billComponent,
        "Currency": currencyComponent,
        "ExchangeRate": rateComponent,
        "Customer": .openObject([
            .required("id", uuid), .required("customer_number", .string()), .required("display_name", .string()),
            .required("currency", currency), .required("payment_terms", .enumeration(Contact.paymentTerms)),
            .required("credit_limit", money.nullable()), .required("current_balance", money), .required("is_active", .boolean),
        ]),
        "Vendor": .openObject([
            .required("id", uuid), .required("vendor_number", .string()), .required("display_name", .string()),
            .required("currency", currency), .required("payment_terms", .enumeration(Contact.paymentTerms)),
            .required("default_expense_account_id", uuid.nullable()), .required("current_balance", money),
            .required("is_active", .boolean),
        ]),
    ]

    // MARK: Invoices

    static let invoiceLine = Schema.openObject([
        .required("description", .string(lengthMin: 1, lengthMax: InvoiceMath.descriptionLengthMax)),
        .required("unit_price", amountInput), .required("revenue_account_id", uuid),
        .optional("quantity", amountInput.described("Greater than 0 (default 1)")),
        .optional("tax_rate", amountInput.described("A percentage: 10 is 10 %")),
    ])
    static func invoiceBody(creating: Bool) -> Schema {
        let required: [Schema.Property] = creating
            ? [.required("customer_id", uuid), .required("invoice_date", date),
               .required("lines", .array(of: invoiceLine, itemsMax: InvoiceMath.linesMax)), .optional("company_id", uuid)]
            : [.optional("customer_id", uuid), .optional("invoice_date", date),
               .optional("lines", .array(of: invoiceLine, itemsMax: InvoiceMath.linesMax))]
        let optional: [Schema.Property] = [
            .optional("due_date", date.described("Default: invoice_date + the customer's payment terms")),
            .optional("notes", .string(lengthMax: InvoiceHandlers.notesLengthMax)),
            .optional("terms", .string(lengthMax: InvoiceHandlers.termsLengthMax)),
        ]
        return .openObject(required + optional + documentCurrency(of: "customer", dated: "invoice_date"))
    }

    /// `currency` and `exchange_rate` of an invoice, bill or payment in the contact's currency (docs/accounting.md).
    static func documentCurrency(of contact: String, dated date: String) -> [Schema.Property] {
        [.optional("currency", currency.described("The \(contact)'s currency (the default); another is 422")),
         .optional("exchange_rate", amountInput.described("Base-currency units per 1 unit of the currency; default: the rate "
                                                          + "effective on \(date) (422 on exchange_rate without one)"))]
    }
    static let invoiceComponent = Schema.openObject([
        .required("id", uuid), .required("invoice_number", .string(pattern: "^INV-[0-9]{4}-[0-9]{4,}$")),
        .required("customer_id", uuid), .required("status", .enumeration(InvoiceLifecycle.Status.allCases.map(\.rawValue) + ["overdue"])),
        .required("invoice_date", date), .required("due_date", date), .required("subtotal", money), .required("tax_amount", money),
        .required("total_amount", money), .required("amount_paid", money), .required("amount_due", money),
        .required("currency", currency), .required("exchange_rate", exchangeRate),
        .required("sent_at", dateTime.nullable()), .required("viewed_at", dateTime.nullable()),
        .required("journal_entry_id", uuid.nullable()), .required("lines", .array(of: .openObject([]))),
    ])
    static let listInvoices = RouteSchema(
        "Invoices", operationId: "listInvoices", tags: ["Invoices"],
        query: [companyQuery, .query("status", .enumeration(InvoiceLifecycle.Status.allCases.map(\.rawValue))),
                .query("customer_id", uuid)] + pageQuery,
        responses: [.ok(page(of: "Invoice"))])
    static let createInvoice = RouteSchema("Draft an invoice (numbered INV-YYYY-NNNN; invoice.created)", operationId: "createInvoice",
                                           tags: ["Invoices"], body: .json(invoiceBody(creating: true)),
                                           responses: [.created(.ref("Invoice"))])
    static let getInvoice = RouteSchema("An invoice", operationId: "getInvoice", tags: ["Invoices"], path: id("invoice"),
                                        responses: [.ok(.ref("Invoice")), .error(404, "Invoice not found")])
    static let updateInvoice = RouteSchema(
        "Change a draft invoice", operationId: "updateInvoice", tags: ["Invoices"], path: id("invoice"),
        body: .json(invoiceBody(creating: false)),
        responses: [.ok(.ref("Invoice")), .error(404, "Invoice not found"), .error(409, "Only draft invoices can be updated")])
    static let sendInvoice = RouteSchema(
        "Send a draft: posts DR receivable / CR revenue and tax (invoice.sent)", operationId: "sendInvoice", tags: ["Invoices"],
        path: id("invoice"), query: [.query("ar_account_id", uuid, "Default: the accounts_receivable posting rule's account")],
        body: .json(.openObject([.optional("ar_account_id", uuid)]), required: false),
        responses: [.ok(.ref("Invoice")), .error(404, "Invoice not found"), .error(409, "Not a draft, or dated in a closed period")])
    static let markInvoiceViewed = RouteSchema(
        "Mark a sent invoice viewed", operationId: "markInvoiceViewed", tags: ["Invoices"], path: id("invoice"),
        responses: [.ok(.ref("Invoice")), .error(404, "Invoice not found"), .error(409, "Not sent")])
    static let voidInvoice = RouteSchema(
        "Void a sent invoice without payments (reverses its entry)", operationId: "voidInvoice", tags: ["Invoices"],
        path: id("invoice"), query: [.query("reason", reason)],
        body: .json(.openObject([.required("reason", reason)]), required: false),
        responses: [.ok(.ref("Invoice")), .error(404, "Invoice not found"), .error(409, "A draft, paid, or already void")])

    // MARK: Payments received and made

    /// The payment routes of one side: `/payments` keeps its operation ids (`createPayment` …), `/payments-made` gets
    /// its own (`createPaymentMade` …) and the `PaymentMade` component.
    struct Payments {
        let side: PaymentSide
        var received: Bool { side.contactKind == .customer }
        var name: String { received ? "Payment" : "PaymentMade" }
        var plural: String { received ? "Payments" : "PaymentsMade" }
        var tag: String { received ? "Payments" : "Payments made" }
        var document: String { side.documentTitle }

        var applicationInput: Schema {
            .openObject([.required(side.documentField, uuid), .optional("amount_applied", amountInput),
                         .optional("amount", amountInput.described("Same as amount_applied"))])
        }
        var applications: Schema { .array(of: applicationInput, itemsMax: PaymentHandlers.applicationsMax) }
        var component: Schema {
            .openObject([
                .required("id", uuid),
                .required("payment_number", .string(pattern: "^\(side.numberPrefix)[0-9]{4}-[0-9]{4,}$")),
                .required(side.contactField, uuid), .required("payment_date", date), .required("amount", money),
                .required("unapplied_amount", money), .required("payment_method", .enumeration(side.methods)),
                .required("currency", currency), .required("exchange_rate", exchangeRate),
                .required("status", .enumeration(["completed", "voided"])), .required("journal_entry_id", uuid),
                .required("applications", .array(of: .openObject([.required("id", uuid), .required(side.documentField, uuid),
                                                                  .required("amount_applied", money)]))),
            ])
        }
        var list: RouteSchema {
            RouteSchema(received ? "Payments received" : "Payments made (bill payments)", operationId: "list\(plural)", tags: [tag],
                        query: [companyQuery, .query(side.contactField, uuid)] + pageQuery, responses: [.ok(page(of: name))])
        }
        var createFields: [Schema.Property] {
            let fields: [Schema.Property] = [
                .optional(side.controlField, uuid),
                .required(side.contactField, uuid), .required("payment_date", date), .required("amount", amountInput),
                .required("payment_method", .enumeration(side.methods)), .required(side.accountField, uuid),
                .optional("applications", applications),
                .optional("reference_number", .string(lengthMax: PaymentHandlers.referenceLengthMax)), .optional("company_id", uuid),
            ]
            return fields + documentCurrency(of: side.contactKind.rawValue, dated: "payment_date")
        }
        var create: RouteSchema {
            RouteSchema(
                received ? "Record a payment (DR deposit / CR receivable; payment.received), optionally applied"
                    : "Record a payment made (DR payable / CR payment account), optionally applied to bills",
                operationId: "create\(name)", tags: [tag],
                query: [.query(side.controlField, uuid, "The \(received ? "receivable" : "payable") account to settle (default: posting rule)")],
                body: .json(.openObject(createFields)),
                responses: [.created(.ref(name)), .error(409, "An application exceeds the amount due or the unapplied amount")])
        }
        var get: RouteSchema {
            RouteSchema(received ? "A payment" : "A payment made", operationId: "get\(name)", tags: [tag], path: id("payment"),
                        responses: [.ok(.ref(name)), .error(404, "Payment not found")])
        }
        var apply: RouteSchema {
            RouteSchema(
                received ? "Apply a payment to invoices (invoice.paid when one is paid off)" : "Apply a payment made to bills",
                operationId: "apply\(name)", tags: [tag], path: id("payment"),
                body: .json(.openObject([.optional("applications", applications), .optional(side.documentField, uuid),
                                         .optional("amount_applied", amountInput), .optional("amount", amountInput)])),
                responses: [.ok(.ref(name)), .error(404, "Payment not found"),
                            .error(409, "Exceeds the amount due or the unapplied amount, or the \(document) is not open")])
        }
        var autoApply: RouteSchema {
            RouteSchema("Apply to the \(side.contactKind.rawValue)'s open \(document)s, oldest due date first",
                        operationId: "autoApply\(name)", tags: [tag], path: id("payment"),
                        responses: [.ok(.ref(name)), .error(404, "Payment not found")])
        }
        var unapply: RouteSchema {
            RouteSchema("Delete an application (restores both amounts)", operationId: "delete\(name)Application", tags: [tag],
                        path: id("payment") + [.path("application_id", uuid)],
                        responses: [.noContent(), .error(404, "Payment or application not found")])
        }
        var void: RouteSchema {
            RouteSchema("Void a fully unapplied payment (reverses its entry)", operationId: "void\(name)", tags: [tag],
                        path: id("payment"), query: [.query("reason", reason)],
                        body: .json(.openObject([.optional("reason", reason)]), required: false),
                        responses: [.ok(.ref(name)), .error(404, "Payment not found"), .error(409, "Applied, or already voided")])
        }
    }

    // MARK: Bills

    static let billLine = Schema.openObject([
        .required("description", .string(lengthMin: 1, lengthMax: InvoiceMath.descriptionLengthMax)),
        .required("unit_price", amountInput),
        .optional("expense_account_id", uuid.described("Default: the vendor's default expense account")),
        .optional("quantity", amountInput), .optional("tax_rate", amountInput.described("A percentage: 10 is 10 %")),
    ])
    static func billBody(creating: Bool) -> Schema {
        let lines = Schema.array(of: billLine, itemsMax: InvoiceMath.linesMax)
        let head: [Schema.Property] = creating
            ? [.required("vendor_id", uuid), .required("bill_date", date), .required("lines", lines), .optional("company_id", uuid)]
            : [.optional("vendor_id", uuid), .optional("bill_date", date), .optional("lines", lines)]
        let tail: [Schema.Property] = [.optional("due_date", date),
                                       .optional("vendor_bill_number", .string(lengthMax: BillHandlers.vendorBillNumberLengthMax))]
        return .openObject(head + tail + documentCurrency(of: "vendor", dated: "bill_date"))
    }
    static let billComponent = Schema.openObject([
        .required("id", uuid), .required("bill_number", .string(pattern: "^BILL-[0-9]{4}-[0-9]{4,}$")), .required("vendor_id", uuid),
        .required("status", .enumeration(BillLifecycle.Status.allCases.map(\.rawValue))), .required("bill_date", date),
        .required("due_date", date), .required("total_amount", money), .required("amount_due", money),
        .required("currency", currency), .required("exchange_rate", exchangeRate),
        .required("approved_at", dateTime.nullable()), .required("approved_by", Schema.string().nullable()),
        .required("journal_entry_id", uuid.nullable()), .required("lines", .array(of: .openObject([]))),
    ])
    static let listBills = RouteSchema(
        "Bills", operationId: "listBills", tags: ["Bills"],
        query: [companyQuery, .query("status", .enumeration(BillLifecycle.Status.allCases.map(\.rawValue))),
                .query("vendor_id", uuid)] + pageQuery,
        responses: [.ok(page(of: "Bill"))])
    static let createBill = RouteSchema("Draft a bill (numbered BILL-YYYY-NNNN)", operationId: "createBill", tags: ["Bills"],
                                        body: .json(billBody(creating: true)), responses: [.created(.ref("Bill"))])
    static let getBill = RouteSchema("A bill", operationId: "getBill", tags: ["Bills"], path: id("bill"),
                                     responses: [.ok(.ref("Bill")), .error(404, "Bill not found")])
    static let updateBill = RouteSchema(
        "Change a draft bill", operationId: "updateBill", tags: ["Bills"], path: id("bill"), body: .json(billBody(creating: false)),
        responses: [.ok(.ref("Bill")), .error(404, "Bill not found"), .error(409, "Only draft bills can be updated")])
    static let approveBill = RouteSchema(
        "Approve a draft: posts DR expenses / CR payables (bill.approved)", operationId: "approveBill", tags: ["Bills"],
        path: id("bill"), query: [.query("ap_account_id", uuid)],
        body: .json(.openObject([.required("ap_account_id", uuid)]), required: false),
        responses: [.ok(.ref("Bill")), .error(404, "Bill not found"), .error(409, "Not a draft, or dated in a closed period")])
    static let voidBill = RouteSchema(
        "Void an approved bill without payments (reverses its entry)", operationId: "voidBill", tags: ["Bills"], path: id("bill"),
        query: [.query("reason", reason)], body: .json(.openObject([.required("reason", reason)]), required: false),
        responses: [.ok(.ref("Bill")), .error(404, "Bill not found"), .error(409, "Not approved, or paid")])

    // MARK: Currencies and exchange rates

    static let currencyComponent = Schema.openObject([.required("code", currency), .required("decimal_places", .integer(minimum: 0))])
    static let rateComponent = Schema.openObject([
        .required("id", uuid), .required("from_currency", currency), .required("to_currency", currency),
        .required("rate", .string()), .required("effective_date", date), .required("source", .enumeration(ExchangeRateRecord.sources)),
    ])
    static let listCurrencies = RouteSchema("ISO 4217 currencies and their decimals", operationId: "listCurrencies",
                                            tags: ["Currencies"], query: pageQuery, responses: [.ok(page(of: "Currency"))])
    static let getCurrency = RouteSchema("A currency", operationId: "getCurrency", tags: ["Currencies"],
                                         path: [.path("code", currency)],
                                         responses: [.ok(.ref("Currency")), .error(404, "Unknown currency")])
    static let convertCurrency = RouteSchema(
        "Convert an amount with the latest rate effective on the date", operationId: "convertCurrency", tags: ["Currencies"],
        query: [companyQuery, .query("from_currency", currency, required: true), .query("to_currency", currency, required: true),
                .query("amount", .string(), "A decimal amount", required: true), .query("date", date, "Default: today")],
        responses: [.ok(.openObject([.required("amount", money), .required("converted_amount", money), .required("rate", .string()),
                                     .required("effective_date", date)])),
                    .error(404, "No rate for the pair on or before the date")])
    static let listRates = RouteSchema("Exchange rates, newest first", operationId: "listExchangeRates", tags: ["Exchange rates"],
                                       query: [companyQuery] + pageQuery, responses: [.ok(page(of: "ExchangeRate"))])
    static let createRate = RouteSchema(
        "Add an exchange rate", operationId: "createExchangeRate", tags: ["Exchange rates"],
        body: .json(.openObject([
            .required("from_currency", currency), .required("to_currency", currency),
            .required("rate", amountInput.described("Units of to_currency per 1 from_currency; greater than 0")),
            .required("effective_date", date), .optional("source", .enumeration(ExchangeRateRecord.sources)),
            .optional("company_id", uuid),
        ])),
        responses: [.created(.ref("ExchangeRate")), .error(409, "A rate for the pair and date exists")])
    static let getRate = RouteSchema("An exchange rate", operationId: "getExchangeRate", tags: ["Exchange rates"],
                                     path: id("exchange rate"), responses: [.ok(.ref("ExchangeRate")), .error(404, "Not found")])
    static let deleteRate = RouteSchema("Delete an exchange rate", operationId: "deleteExchangeRate", tags: ["Exchange rates"],
                                        path: id("exchange rate"), responses: [.noContent(), .error(404, "Not found")])

    // MARK: Periods

    static let listPeriods = RouteSchema("Closed and reopened periods", operationId: "listPeriods", tags: ["Periods"],
                                         query: [companyQuery] + pageQuery, responses: [.ok(page(of: "Period"))])
    static let closePeriod = RouteSchema(
        "Close a period: unrealised exchange differences, closing entry, lock, hash chain, period.closed",
        operationId: "closePeriod", tags: ["Periods"],
        query: [companyQuery, .query("period_start", date), .query("period_end", date)],
        body: .json(.openObject([.required("period_start", date), .required("period_end", date)]), required: false),
        responses: [.created(.ref("Period")),
                    .error(409, "Overlaps a closed period, the trial balance does not balance, an open foreign-currency "
                           + "document's currency has no exchange rate effective on period_end, or the revaluation's reversal "
                           + "day (period_end + 1) is in a closed period")])
    static let reopenPeriod = RouteSchema(
        "Reopen the latest closed period (audited)", operationId: "reopenPeriod", tags: ["Periods"], path: id("period"),
        query: [.query("reason", reason)], body: .json(.openObject([.required("reason", reason)]), required: false),
        responses: [.ok(.ref("Period")), .error(404, "Period not found"), .error(409, "Not the latest closed period")])
    static let verifyChain = RouteSchema(
        "Recompute the closed periods' hash chain", operationId: "verifyPeriodChain", tags: ["Periods"], query: [companyQuery],
        responses: [.ok(.openObject([.required("periods_checked", .integer(minimum: 0)), .required("is_valid", .boolean),
                                     .required("breaks", .array(of: .openObject([.required("period_id", uuid),
                                                                                 .required("reason", .string())])))]))])
}
