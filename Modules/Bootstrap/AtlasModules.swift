import Accounting
import Auth
import EventLog
public import Kernel
import Reconciliation
import Rounding
import Transactions
import Webhooks

/// The product's feature modules, in wiring order: contracts are provided in this order and `atlas help`
/// lists admin commands in it. A new feature module is added here and in Package.swift, nowhere else.
public enum AtlasModules {
    public static func all(_ configuration: AtlasConfiguration = AtlasConfiguration()) -> [any FeatureModule] {
        [
            AuthModule(settings: configuration.auth), TransactionsModule(settings: configuration.transactions),
            ReconciliationModule(), RoundingModule(), AccountingModule(), WebhooksModule(),
        ]
    }

    /// Every module's admin commands, then the event log's and the API documents', as `atlas help` lists them;
    /// needs no database.
    public static var adminCommands: [AdminCommand] {
        all().flatMap(\.adminCommands) + ParkedEventsAdminCommands.all + [AtlasAPIDocuments.writeCommand]
    }
}
