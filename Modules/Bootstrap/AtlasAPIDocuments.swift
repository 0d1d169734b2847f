import AccessContract
public import Kernel
public import OpenAPI

/// The product's OpenAPI documents: one per surface (`SurfaceDocuments.all`), generated from the route
/// groups' declarations; served at `GET /openapi/<surface>.json` and written by `atlas admin openapi-write`.
public enum AtlasAPIDocuments {
    public static func generate(_ routeGroups: [RouteGroup]) throws(OpenAPIError) -> [GeneratedDocument] {
        try OpenAPIGenerator.documents(surfaces: SurfaceDocuments.all.map(SurfaceDocuments.document(for:)),
                                       groups: routeGroups)
    }

    /// Builds the wired modules' routes over the command's services (routes do no I/O when built).
    static var writeCommand: AdminCommand {
        OpenAPIPublishing.writeCommand { services in
            try generate(AtlasModules.all().flatMap { $0.routeGroups(services: services) })
        }
    }
}
