// What `digits serve` runs for each picture: the same decoding and preprocessing as
// `digits classify`, then the model's compiled inference plan. Plans hold buffers, so each
// request takes one from a pool and gives it back: concurrent requests share no mutable state.
import DigitsKit
import Foundation
import Synchronization

/// One model the server offers.
public struct ServedModel: Sendable {
    public let name: String          // "mlp", "cnn": what the page and ?model= call it
    public let path: String
    public let architecture: Architecture
    public let testAccuracy: Double?
    public let parameters: Int
}

/// The answer for one picture.
public struct Classification: Codable, Sendable, Equatable {
    public var digit: Int
    public var confidence: Float
    public var probabilities: [Float]
    public var model: String
    /// The 28×28 picture the model read, as a base64 PNG.
    public var preprocessed: String
}

public enum ServeError: DigitsError, Equatable {
    case unknownModel(String, known: [String])
    case emptyBody
    case noImagePart

    public var message: String {
        switch self {
        case .unknownModel(let name, let known): return "no model named \(name); the models are \(known.joined(separator: ", "))"
        case .emptyBody: return "the request has no body; send a PNG (image/png) or a multipart upload"
        case .noImagePart: return "the multipart upload has no file part"
        }
    }

    public var hint: String? { nil }
}

public final class Classifier: Sendable {
    public let models: [ServedModel]
    public let defaultModel: String
    private let pools: [String: PlanPool]

    /// Loads every checkpoint (name, path); the first is the default.
    public init(checkpoints: [(name: String, path: String)]) throws {
        precondition(!checkpoints.isEmpty, "a server needs at least one model")
        var models: [ServedModel] = [], pools: [String: PlanPool] = [:]
        for (name, path) in checkpoints {
            let (model, file) = try Checkpoint.loadModel(from: path)
            guard let plan = InferencePlan(model) else {
                throw ModelError.invalidArchitecture(path: path, reason: "the server runs models with ReLU activations (an inference plan); this one has others")
            }
            let input = model.architecture.input
            guard input.count == 3, input[0] == 1, input[1] == input[2] else {
                throw ModelError.invalidArchitecture(path: path, reason: "the model takes \(input) inputs; the server needs square one-channel images")
            }
            models.append(ServedModel(name: name, path: path, architecture: model.architecture,
                                      testAccuracy: file.metadata["test_accuracy"].flatMap(Double.init), parameters: model.parameterCount))
            pools[name] = PlanPool(model, first: plan)
        }
        self.models = models
        defaultModel = checkpoints[0].name
        self.pools = pools
    }

    /// Classifies the PNG in `bytes` with model `name` (the default when nil).
    public func classify(png bytes: [UInt8], model name: String?, path: String = "upload.png") throws -> Classification {
        let name = name ?? defaultModel
        guard let pool = pools[name],
              let served = models.first(where: { $0.name == name }) else {
            throw ServeError.unknownModel(name, known: models.map(\.name))
        }
        let image = try PNG.decodeGray(bytes, path: path)
        var settings = DigitPreprocessor()
        settings.side = served.architecture.input[1]
        settings.box = settings.side * 20 / 28
        let digit = try settings.prepare(image, path: path)
        let classes = served.architecture.classes
        let (best, probabilities) = pool.withPlan { plan in
            let logits = digit.image.pixels.withUnsafeBufferPointer { plan.forward(pixels: $0.baseAddress!, count: 1) }
            let (maximum, best, logSum) = SoftmaxCrossEntropy.logSumExp(logits.data, classes: classes)
            return (best, (0..<classes).map { expf(logits.data[$0] - maximum - logSum) })
        }
        let picture = try PNG.encode(width: digit.image.width, height: digit.image.height, layout: .gray, samples: digit.image.pixels)
        return Classification(digit: best, confidence: probabilities[best], probabilities: probabilities, model: name,
                              preprocessed: Data(picture).base64EncodedString())
    }
}

/// Inference plans of one model for concurrent requests: a request takes a free plan, or makes
/// one when all are busy, and gives it back. Each plan owns its buffers; the model is only read
/// (a new plan copies its weights).
final class PlanPool: Sendable {
    private let model: UncheckedSendable<Sequential>
    private let free: Mutex<[UncheckedSendable<InferencePlan>]>

    init(_ model: Sequential, first plan: InferencePlan) {
        self.model = UncheckedSendable(model)
        free = Mutex([UncheckedSendable(plan)])
    }

    func withPlan<R>(_ body: (InferencePlan) throws -> R) rethrows -> R {
        // The model has a plan (the first one proved it), so a new one always compiles.
        let taken = free.withLock { $0.popLast() } ?? UncheckedSendable(InferencePlan(model.value)!)
        defer { free.withLock { $0.append(taken) } }
        return try body(taken.value)
    }
}
