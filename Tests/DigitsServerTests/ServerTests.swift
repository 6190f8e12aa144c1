// The HTTP API through Hummingbird's test client (no network): every route, the preprocessing
// that classify uses, each kind of bad request with its status, and concurrent requests.
@_spi(Tools) import DigitsKit
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import DigitsServer

@Suite struct ServerTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let classifier: Classifier = {
        try! Classifier(checkpoints: [("cnn", repository + "/checkpoints/cnn.safetensors"), ("mlp", repository + "/checkpoints/mlp.safetensors")])
    }()

    /// A "1" drawn the way a user would: a thick dark stroke on a large light canvas.
    static let one: [UInt8] = {
        let (width, height) = (200, 240)
        var pixels = [UInt8](repeating: 250, count: width * height)
        for y in 40..<200 { for x in 90..<112 { pixels[y * width + x] = 20 } }
        return try! PNG.encode(width: width, height: height, layout: .gray, samples: pixels)
    }()

    static func application(maximumBodyBytes: Int = 5 << 20) -> some ApplicationProtocol {
        var settings = ServerSettings()
        settings.maximumBodyBytes = maximumBodyBytes
        return Application(router: DigitsServer.router(classifier, settings: settings))
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(Array(buffer: buffer))) as! [String: Any]
    }

    @Test func healthAndModels() async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let status = try Self.json(response.body)["status"] as? String
                #expect(status == "ok")
            }
            try await client.execute(uri: "/api/models", method: .get) { response in
                let models = try Self.json(response.body)["models"] as! [[String: Any]]
                #expect(models.map { $0["name"] as! String } == ["cnn", "mlp"])
                #expect(models[0]["default"] as? Bool == true && (models[0]["test_accuracy"] as! Double) > 0.99)
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains("<canvas id=\"pad\"") && page.contains("/api/classify"))
                #expect(!page.contains("http://") && !page.contains("https://"), "every asset is served locally")
            }
        }
    }

    @Test(arguments: ["cnn", "mlp"])
    func aDrawnOneIsReadAsOne(model: String) async throws {
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/api/classify?model=\(model)", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: Self.one)) { response in
                #expect(response.status == .ok)
                let answer = try JSONDecoder().decode(Classification.self, from: Data(Array(buffer: response.body)))
                #expect(answer.digit == 1 && !answer.rejected && answer.model == model && (answer.confidence ?? 0) > 0.9 && answer.number == "1" && answer.digits.count == 1)
                #expect(answer.probabilities?.count == 10)
                // The answer is the one the command line's reader gives, loaded on its own
                // from the same checkpoint: the same picture, digit and probabilities.
                let path = Self.repository + "/checkpoints/\(model).safetensors"
                let reading = try DigitReader(checkpoint: path).read(Self.one, name: "one.png")
                let seen = try PNG.decodeGray([UInt8](Data(base64Encoded: answer.preprocessed)!), path: "seen")
                #expect(seen.width == 28 && seen.pixels == reading.prepared.image.pixels)
                #expect(answer.digit == reading.digit && answer.probabilities == reading.probabilities)
                #expect(answer.notDigitProbability == reading.notDigitProbability)
            }
        }
    }

    @Test func multipartUpload() async throws {
        let boundary = "----digits-test"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"one.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += Self.one + Array("\r\n--\(boundary)--\r\n".utf8)
        let upload = body
        try await Self.application().test(.router) { client in
            try await client.execute(uri: "/api/classify", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                                     body: ByteBuffer(bytes: upload)) { response in
                #expect(response.status == .ok)
                let digit = try Self.json(response.body)["digit"] as? Int
                #expect(digit == 1)
            }
        }
    }

    @Test func badRequestsGetTheirStatus() async throws {
        try await Self.application(maximumBodyBytes: 4096).test(.router) { client in
            let cases: [(String, HTTPFields, [UInt8], HTTPResponse.Status, String)] = [
                ("/api/classify", [.contentType: "image/png"], Array("not a picture".utf8), .badRequest, "neither a PNG nor a JPEG"),
                ("/api/classify", [.contentType: "image/jpeg"], [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 1, count: 200), .badRequest, "invalid JPEG"),
                ("/api/classify", [.contentType: "image/png"], [], .badRequest, "no body"),
                ("/api/classify", [.contentType: "image/png"], Array(Self.one.prefix(100)), .badRequest, "invalid PNG"),
                ("/api/classify", [.contentType: "image/png"], [UInt8](repeating: 7, count: 5000), .contentTooLarge, "over the limit"),
                ("/api/classify?model=resnet", [.contentType: "image/png"], Self.one, .notFound, "no model named resnet"),
                ("/api/classify", [.contentType: "multipart/form-data; boundary=x"], Array("--x\r\n\r\n".utf8), .badRequest, "no file part"),
            ]
            for (uri, headers, body, status, message) in cases {
                try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                    #expect(response.status == status, "\(message)")
                    let error = try Self.json(response.body)["error"] as? String ?? ""
                    #expect(error.contains(message), "\(error)")
                }
            }
            // And the server still answers.
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    /// 32 requests at once, on both models: every answer is the one a lone request gets, and
    /// no more than the server's decode slots ran at once.
    @Test func concurrentRequestsShareNoState() async throws {
        let classifier = try Classifier(checkpoints: [("cnn", Self.repository + "/checkpoints/cnn.safetensors"),
                                                      ("mlp", Self.repository + "/checkpoints/mlp.safetensors")], concurrentDecodes: 2)
        let alone = try await classifier.classify(Self.one, model: "cnn")
        let other = try await classifier.classify(Self.one, model: "mlp")
        let answers = try await withThrowingTaskGroup(of: Classification.self) { group in
            for index in 0..<32 {
                group.addTask { try await classifier.classify(Self.one, model: index % 2 == 0 ? "cnn" : "mlp") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 32)
        #expect(answers.allSatisfy { $0 == ($0.model == "cnn" ? alone : other) })
        #expect(classifier.decodesRunning.peak <= 2 && classifier.decodesRunning.now == 0)
    }

    /// A small file that declares a huge canvas is refused from its header, before decoding,
    /// with 413; a picture within the budget is read.
    @Test func pixelBudgetIsHeldPerRequest() async throws {
        let classifier = try Classifier(checkpoints: [("cnn", Self.repository + "/checkpoints/cnn.safetensors")], pixelBudget: 100_000)
        // 7000×7000 of one gray level: a few kB of PNG.
        let huge = try PNG.encode(width: 7000, height: 7000, layout: .gray, samples: [UInt8](repeating: 255, count: 7000 * 7000))
        #expect(huge.count < 200_000)
        await #expect(throws: ServeError.overBudget(width: 7000, height: 7000, budget: 100_000)) {
            try await classifier.classify(huge, model: nil)
        }
        #expect(try await classifier.classify(Self.one, model: nil).digit == 1)
        var settings = ServerSettings()
        settings.maximumBodyBytes = 1 << 20
        try await Application(router: DigitsServer.router(classifier, settings: settings)).test(.router) { client in
            try await client.execute(uri: "/api/classify", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: huge)) { response in
                #expect(response.status == .contentTooLarge)
                let error = try Self.json(response.body)["error"] as? String ?? ""
                #expect(error.contains("7000×7000"), "\(error)")
            }
        }
    }

    /// A scribble that is no digit gets the verdict, with the closest digit; the JSON says so.
    @Test func notADigitIsRefused() async throws {
        let (width, height) = (200, 200)
        var pixels = [UInt8](repeating: 250, count: width * height)
        // A five-pointed star outline.
        let points = (0..<6).map { index -> (Double, Double) in
            let angle = Double(index * 2 % 5) * 2 * Double.pi / 5 - Double.pi / 2
            return (100 + 80 * cos(angle), 105 + 80 * sin(angle))
        }
        for ((x0, y0), (x1, y1)) in zip(points, points.dropFirst()) {
            for step in 0...400 {
                let t = Double(step) / 400, x = Int(x0 + (x1 - x0) * t), y = Int(y0 + (y1 - y0) * t)
                for dy in -5...5 { for dx in -5...5 where (0..<width).contains(x + dx) && (0..<height).contains(y + dy) { pixels[(y + dy) * width + x + dx] = 10 } }
            }
        }
        let star = try PNG.encode(width: width, height: height, layout: .gray, samples: pixels)
        let answer = try await Self.classifier.classify(star, model: "cnn")
        #expect(answer.rejected && answer.digit == nil && answer.reason != nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(answer)) as! [String: Any]
        #expect(json["digit"] is NSNull && json["rejected"] as? Bool == true && json["best_guess"] is Int)
    }
}
