// `digits serve`: a Hummingbird 2 application with the drawing page and the API.
//   GET  /               the page (HTML, CSS and JavaScript in one document, nothing remote)
//   POST /api/classify   a PNG or JPEG body (image/png, image/jpeg) or a multipart upload; ?model=mlp|cnn
//   GET  /api/models     the models offered
//   GET  /healthz        {"status": "ok"}
// Errors are JSON {"error": "..."}: 400 for a body that is not a readable picture, 404 for an
// unknown model, 413 for a body over the limit (5 MB by default) or a picture over the pixel
// budget (24 megapixels by default).
import DigitsKit
import Foundation
import Hummingbird
import NIOCore

public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var maximumBodyBytes = 5 << 20
    /// Seconds a connection may stay silent (mid-request or between requests) before it is
    /// closed, so half-sent requests cannot pile up until the open-file limit.
    public var idleTimeoutSeconds = 10
    public init() {}
}

public enum DigitsServer {
    /// The routes, on any context (the application's or a test's).
    public static func router(_ classifier: Classifier, settings: ServerSettings) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: Page.html)))
        }
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/api/models") { _, _ in
            let models: [[String: Any]] = classifier.models.map { model in
                var entry: [String: Any] = ["name": model.name, "architecture": model.architecture.model,
                                            "parameters": model.parameters, "default": model.name == classifier.defaultModel]
                if let accuracy = model.testAccuracy { entry["test_accuracy"] = accuracy }
                return entry
            }
            return json(["models": models])
        }
        router.post("/api/classify") { request, context in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: settings.maximumBodyBytes)
            } catch is NIOTooManyBytesError {
                return error(.contentTooLarge, "the body is over the limit of \(formatBytes(settings.maximumBodyBytes))")
            }
            var bytes = Array(buffer: body)
            guard !bytes.isEmpty else { return error(.badRequest, ServeError.emptyBody.message) }
            if let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data") {
                guard let part = Multipart.firstFile(in: bytes, contentType: type) else {
                    return error(.badRequest, ServeError.noImagePart.message)
                }
                bytes = part
            }
            let model = request.uri.queryParameters.get("model")
            // Decoding and preprocessing take milliseconds: off the event loop.
            let outcome: Result<Classification, Error> = await Task.detached {
                do { return .success(try await classifier.classify(bytes, model: model)) } catch { return .failure(error) }
            }.value
            switch outcome {
            case .success(let result):
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(result))))
            case .failure(let failure as ServeError):
                if case .unknownModel = failure { return error(.notFound, failure.message) }
                if case .overBudget = failure { return error(.contentTooLarge, failure.message) }
                return error(.badRequest, failure.message)
            case .failure(let failure as DigitsError):
                // "upload: not a PNG file: ..." without the made-up file name.
                return error(.badRequest, failure.message.replacingOccurrences(of: "upload: ", with: ""))
            case .failure(let failure):
                return error(.internalServerError, "\(failure)")
            }
        }
        return router
    }

    public static func application(_ classifier: Classifier, settings: ServerSettings,
                                   onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in })
        -> some ApplicationProtocol {
        Application(router: router(classifier, settings: settings),
                    server: .http1(configuration: .init(idleTimeout: .seconds(Int64(settings.idleTimeoutSeconds)))),
                    configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "digits"),
                    onServerRunning: onServerRunning)
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": message], status: status)
    }
}

/// The first file part of a multipart/form-data body (RFC 7578), enough for a browser's or
/// curl's `-F image=@digit.png` upload.
enum Multipart {
    static func firstFile(in body: [UInt8], contentType: String) -> [UInt8]? {
        guard let boundaryItem = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { $0.lowercased().hasPrefix("boundary=") }) else { return nil }
        let boundary = Array(("--" + boundaryItem.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))).utf8)
        var index = 0
        while let start = find(boundary, in: body, from: index) {
            let headersStart = start + boundary.count + 2  // CRLF after the boundary
            guard headersStart < body.count, let headersEnd = find(Array("\r\n\r\n".utf8), in: body, from: headersStart) else { return nil }
            let headers = String(decoding: body[headersStart..<headersEnd], as: UTF8.self).lowercased()
            let contentStart = headersEnd + 4
            guard let next = find(Array("\r\n".utf8) + boundary, in: body, from: contentStart) else { return nil }
            if headers.contains("filename=") || headers.contains("content-type: image/") {
                return Array(body[contentStart..<next])
            }
            index = next + 2
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
