import Foundation
import Kernel

/// `/tip/cash`, `/tip/credit-card`, `/tip/adjust`, `/tip/pool/create`, `/tip/pool/distribute` (TIP, POOL).
struct TipHandlers: Sendable {
    /// Largest tip accepted: $100,000.
    static let tipCentsMax: Int64 = 10_000_000
    static let poolTipsMax = 500
    static let poolParticipantsMax = 100
    static let weightMax: Int64 = 1_000
    /// Hours per participant in hundredths (1,000 hours).
    static let centiHoursMax: Int64 = 100_000
    static let tipEvents = ["TIP_CASH", "TIP_CREDIT_CARD"]

    let service: RoundingService

    static func tipCents(_ amount: DollarAmount?, _ field: String) throws(AtlasError) -> DollarAmount {
        guard let amount else { throw AtlasError.missingField(field) }
        guard amount.cents >= 1, amount.cents <= tipCentsMax else {
            throw AtlasError.invalidField(field, "\(field) must be a dollar amount from 0.01 to 100000", constraint: "range")
        }
        return amount
    }

    func tip(_ request: Request, _ context: RoundingContext, cash: Bool) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(TipBody.self, from: request)
        let transactionId = try FieldCheck.identifier(body.transactionId, "transaction_id")
        let employeeId = try FieldCheck.identifier(body.employeeId, "employee_id")
        let employeeName = try FieldCheck.text(body.employeeName, "employee_name")
        let amount = try TipHandlers.tipCents(body.tipAmount, "tip_amount")
        guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: transactionId, mode: caller.mode,
                                                    merchantId: caller.lookupMerchant, eventTypes: ["SALE"]),
                                                              merchantId: { $0.merchantId }) else {
            throw RoundingService.notFound()
        }
        let tenant = TenantContext(merchantId: found.merchantId, mode: caller.mode)
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let now = service.clock.now()
            let fields: [String: JSONValue] = [
                "transaction_id": .string(transactionId), "employee_name": .string(employeeName),
                "tip_type": .string(cash ? "cash" : "credit_card"), "tip_amount_submitted": .string(amount.submitted),
                "tip_amount_cents": .int(amount.cents), "tip_amount": .string(DollarAmount.format(cents: amount.cents)),
                "flsa_ceiling_applied": .bool(amount.fractionRoundedUp), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: service.recordId("TIP", on: now), eventType: cash ? "TIP_CASH" : "TIP_CREDIT_CARD",
                                    linkedId: transactionId, employeeId: employeeId, reasonCode: nil, paymentMethod: nil,
                                    complianceStatus: nil, ledgerTotalCents: nil, cashTotalCents: nil,
                                    roundingDeltaCents: nil, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: head.counters, indianaMode: head.indianaMode)
        }
        return .json(["success": true, "tip": TipHandlers.view(stored)])
    }

    static func view(_ stored: ChainRecord) -> JSONValue {
        TransactionHandlers.publicView(stored.record.setting("id", .string(stored.recordId))
            .setting("chainPosition", .int(stored.position)).setting("auditHash", .string(stored.auditHash))
            .setting("previousHash", .string(stored.previousHash)))
    }

    /// A tip's current amount: the latest adjustment's, else the original.
    static func currentCents(tip: ChainRecord, linked: [ChainRecord]) -> Int64 {
        linked.last { $0.record["event_type"]?.stringValue == "TIP_ADJUST" }?.record["new_tip_amount_cents"]?.intValue
            ?? tip.record["tip_amount_cents"]?.intValue ?? 0
    }

    func adjust(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(TipAdjustBody.self, from: request)
        let tipId = try FieldCheck.identifier(body.tipId, "tip_id")
        let amount = try TipHandlers.tipCents(body.tipAmount, "tip_amount")
        let employeeId = try FieldCheck.identifier(body.employeeId, "employee_id")
        let reason = try FieldCheck.text(body.reason, "reason")
        guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: tipId, mode: caller.mode,
                                                    merchantId: caller.lookupMerchant, eventTypes: TipHandlers.tipEvents),
                                                              merchantId: { $0.merchantId }) else {
            throw RoundingService.notFound("Tip")
        }
        let tenant = TenantContext(merchantId: found.merchantId, mode: caller.mode)
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            if try await TipHandlers.poolStatus(executor, tipId: tipId, mode: tenant.mode) == "distributed" {
                throw RoundingService.conflict("Tip was already paid out in a distributed pool")
            }
            let linked = try await ChainStore.linked(executor, to: tipId, tenant: tenant)
            let previous = TipHandlers.currentCents(tip: found.record, linked: linked)
            let now = service.clock.now()
            let fields: [String: JSONValue] = [
                "tip_id": .string(tipId), "reason": .string(reason), "previous_tip_amount_cents": .int(previous),
                "new_tip_amount_cents": .int(amount.cents), "tip_amount_submitted": .string(amount.submitted),
                "tip_amount": .string(DollarAmount.format(cents: amount.cents)),
                "flsa_ceiling_applied": .bool(amount.fractionRoundedUp), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: service.recordId("TIPADJ", on: now), eventType: "TIP_ADJUST", linkedId: tipId,
                                    employeeId: employeeId, reasonCode: nil, paymentMethod: nil, complianceStatus: nil,
                                    ledgerTotalCents: nil, cashTotalCents: nil, roundingDeltaCents: nil, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: head.counters, indianaMode: head.indianaMode)
        }
        return .json(["success": true, "adjustment": TipHandlers.view(stored)])
    }

    static func poolStatus(_ executor: any SQLExecutor, tipId: String, mode: Mode) async throws -> String? {
        try await executor.queryFirst("""
            SELECT p.status FROM rounding_tip_pool_members m JOIN rounding_tip_pools p ON p.mode = m.mode AND p.pool_id = m.pool_id
            WHERE m.mode = \(mode) AND m.tip_id = \(tipId)
            """)?.text("status")
    }

    struct ParticipantInput: Sendable {
        let employeeId: String
        let employeeName: String
        let share: Int64
        var json: JSONValue
    }

    static func participants(_ body: PoolCreateBody, method: PoolDistributionMethod) throws(AtlasError) -> [ParticipantInput] {
        guard let list = body.participants else { throw AtlasError.missingField("participants") }
        guard !list.isEmpty, list.count <= poolParticipantsMax else {
            throw AtlasError.invalidField("participants", "participants must hold 1 to \(poolParticipantsMax) items", constraint: "size")
        }
        var result: [ParticipantInput] = []
        var seen = Set<String>()
        for (index, item) in list.enumerated() {
            let id = try FieldCheck.identifier(item.employeeId, "participants[\(index)].employeeId")
            let name = try FieldCheck.text(item.employeeName, "participants[\(index)].employeeName")
            guard seen.insert(id).inserted else {
                throw AtlasError.invalidField("participants", "participants lists employee \(id) twice", constraint: "unique")
            }
            var share: Int64 = 1
            var json: [String: JSONValue] = ["employeeId": .string(id), "employeeName": .string(name)]
            switch method {
            case .equal: break
            case .weighted:
                guard let weight = item.weight else { throw AtlasError.missingField("participants[\(index)].weight") }
                guard (1...weightMax).contains(weight) else {
                    throw AtlasError.invalidField("participants[\(index)].weight", "participants[\(index)].weight must be 1 to \(weightMax)",
                                                  constraint: "range")
                }
                share = weight
                json["weight"] = .int(weight)
            case .hoursBased:
                guard let hours = item.hours else { throw AtlasError.missingField("participants[\(index)].hours") }
                guard !hours.fractionRoundedUp, (1...centiHoursMax).contains(hours.cents) else {
                    throw AtlasError.invalidField("participants[\(index)].hours",
                                                  "participants[\(index)].hours must be 0.01 to 1000 with at most 2 decimals",
                                                  constraint: "range")
                }
                share = hours.cents
                json["hours_hundredths"] = .int(hours.cents)
            }
            result.append(ParticipantInput(employeeId: id, employeeName: name, share: share, json: .object(json)))
        }
        return result
    }

    func createPool(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(PoolCreateBody.self, from: request)
        let poolName = try FieldCheck.text(body.poolName, "pool_name")
        guard let tipIds = body.tipIds else { throw AtlasError.missingField("tip_ids") }
        guard !tipIds.isEmpty, tipIds.count <= TipHandlers.poolTipsMax, Set(tipIds).count == tipIds.count else {
            throw AtlasError.invalidField("tip_ids", "tip_ids must hold 1 to \(TipHandlers.poolTipsMax) distinct tip ids",
                                          constraint: "size")
        }
        for (index, id) in tipIds.enumerated() { _ = try FieldCheck.identifier(id, "tip_ids[\(index)]") }
        let method: PoolDistributionMethod = try FieldCheck.oneOf(body.distributionMethod, "distribution_method",
                                                                  PoolDistributionMethod.allCases)
        let participants = try TipHandlers.participants(body, method: method)
        var tenant: TenantContext? = nil
        var foundTips: [ChainRecord] = []
        for id in tipIds {
            guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: id, mode: caller.mode,
                                                        merchantId: caller.lookupMerchant, eventTypes: TipHandlers.tipEvents),
                                                              merchantId: { $0.merchantId }) else {
                throw AtlasError.notFound("Tip not found: \(id)")
            }
            let owner = TenantContext(merchantId: found.merchantId, mode: caller.mode)
            if let tenant, tenant != owner {
                throw AtlasError.invalidField("tip_ids", "tip_ids must all belong to one merchant", constraint: "tenant")
            }
            tenant = owner
            foundTips.append(found.record)
        }
        guard let tenant else { throw AtlasError.missingField("tip_ids") }
        let service = service
        let tips = foundTips
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            var total: Int64 = 0
            for tip in tips {
                if try await TipHandlers.poolStatus(executor, tipId: tip.recordId, mode: tenant.mode) != nil {
                    throw RoundingService.conflict("Tip \(tip.recordId) already belongs to a pool")
                }
                total += TipHandlers.currentCents(tip: tip, linked: try await ChainStore.linked(executor, to: tip.recordId, tenant: tenant))
            }
            let now = service.clock.now()
            let poolId = service.recordId("POOL", on: now)
            try await executor.execute("""
                INSERT INTO rounding_tip_pools (merchant_id, mode, pool_id, status)
                VALUES (\(tenant.merchantId), \(tenant.mode), \(poolId), 'open')
                """)
            for tip in tips {
                try await executor.execute("""
                    INSERT INTO rounding_tip_pool_members (merchant_id, mode, tip_id, pool_id)
                    VALUES (\(tenant.merchantId), \(tenant.mode), \(tip.recordId), \(poolId))
                    """)
            }
            let fields: [String: JSONValue] = [
                "pool_name": .string(poolName), "tip_ids": .array(tipIds.map(JSONValue.string)),
                "distribution_method": .string(method.rawValue), "participants": .array(participants.map(\.json)),
                "total_cents": .int(total), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: poolId, eventType: "TIP_POOL_CREATE", linkedId: nil, employeeId: nil,
                                    reasonCode: nil, paymentMethod: nil, complianceStatus: nil, ledgerTotalCents: nil,
                                    cashTotalCents: nil, roundingDeltaCents: nil, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: head.counters, indianaMode: head.indianaMode)
        }
        return .json(["success": true, "pool_id": .string(stored.recordId),
                      "pool": TipHandlers.view(stored).setting("status", "open")])
    }

    func distributePool(_ request: Request, _ context: RoundingContext) async throws -> Response {
        let caller = Caller(context, service: service)
        let body = try FieldCheck.decode(PoolDistributeBody.self, from: request)
        let poolId = try FieldCheck.identifier(body.poolId, "pool_id")
        guard let found = try await caller.requireAccess(try await ChainStore.find(service.database, recordId: poolId, mode: caller.mode,
                                                    merchantId: caller.lookupMerchant, eventTypes: ["TIP_POOL_CREATE"]),
                                                              merchantId: { $0.merchantId }) else {
            throw RoundingService.notFound("Pool")
        }
        let tenant = TenantContext(merchantId: found.merchantId, mode: caller.mode)
        let pool = found.record.record
        let service = service
        let stored = try await service.appending { executor in
            let head = try await service.chain.lockHead(executor, tenant: tenant)
            let claimed = try await executor.execute("""
                UPDATE rounding_tip_pools SET status = 'distributed'
                WHERE mode = \(tenant.mode) AND pool_id = \(poolId) AND status = 'open'
                """)
            guard claimed == 1 else { throw RoundingService.conflict("Pool is already distributed") }
            var total: Int64 = 0
            var tipIds: [String] = []
            if case .array(let ids)? = pool["tip_ids"] { tipIds = ids.compactMap(\.stringValue) }
            for tipId in tipIds {
                guard let tip = try await ChainStore.find(executor, recordId: tipId, mode: tenant.mode,
                                                          merchantId: tenant.merchantId, eventTypes: TipHandlers.tipEvents) else { continue }
                total += TipHandlers.currentCents(tip: tip.record, linked: try await ChainStore.linked(executor, to: tipId, tenant: tenant))
            }
            let payouts = TipHandlers.payouts(pool: pool, totalCents: total)
            let now = service.clock.now()
            let fields: [String: JSONValue] = [
                "pool_id": .string(poolId), "distribution_method": pool["distribution_method"] ?? .null,
                "total_cents": .int(total), "payouts": .array(payouts), "created_by": caller.attribution,
            ]
            let draft = RecordDraft(recordId: service.recordId("PAYOUT", on: now), eventType: "TIP_PAYOUT", linkedId: poolId,
                                    employeeId: nil, reasonCode: nil, paymentMethod: nil, complianceStatus: nil,
                                    ledgerTotalCents: nil, cashTotalCents: nil, roundingDeltaCents: nil, fields: fields)
            return try await service.chain.append(executor, tenant: tenant, head: head, draft: draft, occurredAt: now,
                                                  counters: head.counters, indianaMode: head.indianaMode)
        }
        return .json(["success": true, "pool_id": .string(poolId), "payout_id": .string(stored.recordId),
                      "total_cents": stored.record["total_cents"] ?? 0, "payouts": stored.record["payouts"] ?? [],
                      "chainPosition": .int(stored.position), "auditHash": .string(stored.auditHash)])
    }

    /// Splits `totalCents` by the participants' shares with the largest-remainder method, so payouts
    /// are whole cents that add up exactly to the pool; ties go to the earlier participant.
    static func payouts(pool: JSONValue, totalCents: Int64) -> [JSONValue] {
        guard case .array(let people)? = pool["participants"] else { return [] }
        let shares: [Int64] = people.map { $0["weight"]?.intValue ?? $0["hours_hundredths"]?.intValue ?? 1 }
        let amounts = split(totalCents: totalCents, shares: shares)
        return zip(people, amounts).map { person, amount in
            ["employeeId": person["employeeId"] ?? .null, "employeeName": person["employeeName"] ?? .null,
             "amount_cents": .int(amount)]
        }
    }

    static func split(totalCents: Int64, shares: [Int64]) -> [Int64] {
        let shareTotal = shares.reduce(0, +)
        guard shareTotal > 0 else { return shares.map { _ in 0 } }
        var amounts = shares.map { totalCents * $0 / shareTotal }
        let remainders = shares.map { totalCents * $0 % shareTotal }
        var left = totalCents - amounts.reduce(0, +)
        let order = remainders.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        for index in order where left > 0 {
            amounts[index] += 1
            left -= 1
        }
        return amounts
    }
}
