// `digits serve`: a local web page to draw digits on, classified live, and an HTTP API.
import ArgumentParser
import DigitsKit
import DigitsServer
import Foundation

extension DigitsCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve a page to draw digits on (classified live) and an HTTP API.",
            discussion: """
                Open http://HOST:PORT/ in a browser and draw with the mouse or a finger: the \
                prediction, the probabilities of 0–9 and the 28×28 picture the model read update \
                as you draw. The page switches between the shipped MLP and CNN (and --model).

                API (the same reader as digits classify):
                  POST /api/classify[?model=NAME]  body: a PNG or JPEG (Content-Type: image/png
                                                   or image/jpeg) or a multipart upload
                                                   (curl -F image=@digit.png)
                       → {"digit", "rejected", "reason", "best_guess", "confidence",
                          "probabilities", "not_digit_probability", "model", "preprocessed"}
                         (digit is null when the picture is refused as not a digit;
                          preprocessed: the 28×28 picture as a base64 PNG)
                       400 for a body that is not a readable picture, 404 for an unknown
                       model, 413 for a body over --max-body-mb or a picture over
                       --max-megapixels

                Held against abuse: a small PNG or JPEG can declare a huge canvas. Each \
                request may decode at most --max-megapixels (judged from the header, before \
                decoding), and at most --decodes pictures are decoded at once; the others \
                wait their turn.
                  GET  /api/models                 the models offered
                  GET  /healthz                    {"status": "ok"}

                Examples:
                  digits serve
                  curl --data-binary @digit.png -H 'Content-Type: image/png' localhost:8080/api/classify
                  digits serve --host 0.0.0.0 --port 9000 --model my.safetensors
                """
        )

        @Option(help: "Address to listen on (0.0.0.0 for every interface).")
        var host = "127.0.0.1"

        @Option(help: "Port to listen on.")
        var port = 8080

        @Option(help: "A checkpoint to serve as the default model (named after its file), besides the shipped ones.",
                completion: .file(extensions: ["safetensors"]))
        var model: String?

        @Option(name: .customLong("max-body-mb"), help: "Largest request body accepted, in megabytes.")
        var maxBodyMB = 5

        @Option(help: "Seconds a connection may stay silent, mid-request or between requests, before it is closed.")
        var idleTimeout = 10

        @Option(name: .customLong("max-megapixels"), help: "Largest picture a request may decode, in megapixels.")
        var maxMegapixels = 24

        @Option(help: "Pictures decoded and prepared at once; more requests wait (default: one per core).")
        var decodes: Int?

        @Option(help: "Threads each request's inference may use (default: one per core).")
        var threads: Int?

        func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
            guard (1...1024).contains(maxBodyMB) else { throw ValidationError("--max-body-mb must be in 1...1024, got \(maxBodyMB)") }
            guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be in 1...3600 seconds, got \(idleTimeout)") }
            guard (1...50).contains(maxMegapixels) else { throw ValidationError("--max-megapixels must be in 1...50, got \(maxMegapixels)") }
            if let decodes, !(1...256).contains(decodes) { throw ValidationError("--decodes must be in 1...256, got \(decodes)") }
        }

        func run() throws {
            var checkpoints: [(name: String, path: String)] = []
            if let model {
                guard FileManager.default.fileExists(atPath: model) else { throw ModelFile.Missing(path: model, isDefault: false) }
                let name = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
                checkpoints.append((name, model))
            }
            for name in ["cnn", "mlp"] where !checkpoints.contains(where: { $0.name == name }) {
                let path = ModelFile.shipped("checkpoints/\(name).safetensors")
                if FileManager.default.fileExists(atPath: path) { checkpoints.append((name, path)) }
            }
            guard !checkpoints.isEmpty else { throw ModelFile.Missing(path: ModelFile.defaultPath, isDefault: true) }
            let classifier = try Classifier(checkpoints: checkpoints, pixelBudget: maxMegapixels * 1_000_000,
                                            concurrentDecodes: decodes ?? ProcessInfo.processInfo.activeProcessorCount,
                                            compute: ComputeContext(threads: threads ?? ComputeContext.processorCount))
            var settings = ServerSettings()
            settings.host = host
            settings.port = port
            settings.maximumBodyBytes = maxBodyMB << 20
            settings.idleTimeoutSeconds = idleTimeout
            let models = classifier.models.map { "\($0.name) (\($0.path))" }.joined(separator: ", ")
            let (host, port) = (settings.host, settings.port)
            let app = DigitsServer.application(classifier, settings: settings) { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
                print("digits serve: http://\(address)/  models: \(models); Ctrl-C stops")
                fflush(nil)
            }
            // ArgumentParser runs this command synchronously: the server runs in a task until
            // it stops (Ctrl-C or SIGTERM shut it down gracefully).
            let done = DispatchSemaphore(value: 0)
            let outcome = Outcome()
            Task {
                do { try await app.runService() } catch { outcome.error = error }
                done.signal()
            }
            done.wait()
            if let error = outcome.error {
                let text = "\(error)"
                let reason = text.contains("Address already in use") ? "the address is already in use"
                    : text.contains("Cannot assign requested address") ? "this machine has no such address" : text
                throw ServeStartError(address: "\(host):\(port)", reason: reason)
            }
        }
    }
}

final class Outcome: @unchecked Sendable {
    var error: Error?
}

struct ServeStartError: DigitsError {
    let address: String
    let reason: String
    var message: String { "cannot serve on \(address): \(reason)" }
    var hint: String? { "pick another --port (one that is free), or stop what is listening there" }
}
