import Accounting
import Auth
import EventLog
import Foundation
import HTTPClient
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
            ReconciliationModule(), RoundingModule(), AccountingModule(),
            WebhooksModule(settings: configuration.webhooks, client: webhookClient(configuration.webhookClient)),
        ]
    }

    /// The outgoing HTTP client of webhook deliveries; nil (webhooks answer 503, nothing is sent) when
    /// OpenSSL cannot build its TLS context, which is reported rather than stopping the other surfaces.
    static func webhookClient(_ configuration: HTTPClientConfiguration) -> (any OutboundHTTPClient)? {
        do {
            return try HTTPClient(configuration: configuration)
        } catch {
            FileHandle.standardError.write(Data("atlas: webhook deliveries are off: \(error)\n".utf8))
            return nil
        }
    }

    /// Every module's admin commands, then the event log's and the API documents', as `atlas help` lists them;
    /// needs no database. Modules are built with the environment's configuration when it reads (a command such
    /// as `webhooks reencrypt-secrets` needs its keys), else with the defaults (`atlas help` still lists them).
    public static var adminCommands: [AdminCommand] {
        all((try? AtlasConfiguration.fromEnvironment()) ?? AtlasConfiguration()).flatMap(\.adminCommands) + ParkedEventsAdminCommands.all + [AtlasAPIDocuments.writeCommand]
    }
}
