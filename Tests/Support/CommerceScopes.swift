/// The Commerce scopes the product grants (every wired module's `.commerce` declaration), written out
/// so tests pin the accepted set: a module that stopped declaring a scope fails them.
public enum CommerceScopes {
    public static let all: Set<String> = [
        "terminal:read", "terminal:write", "transactions:read", "transactions:write",
        "reconciliation:read", "reconciliation:write", "settlements:read", "webhooks:manage",
        "keys:manage", "audit:read",
    ]
}
