// What `digits serve` runs for each picture: DigitsKit's DigitReader, the same decoding,
// preparation, inference plan and verdict as `digits classify`. Each reader keeps a pool of
// plans, so concurrent requests share no mutable state.
//
// Held against abuse: a small PNG or JPEG can declare a huge canvas (7000×7000 compresses to
// a few kB). Each request may decode at most `pixelBudget` pixels (judged from the header,
// before decoding), and at most `concurrentDecodes` pictures are decoded and prepared at once;
// the rest wait their turn, so a burst of large uploads holds a bounded amount of memory and
// leaves the event loops free for other requests.
@_spi(Tools) import DigitsKit
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

/// One digit of a number, as `digits classify --json` lists it.
public struct NumberDigit: Codable, Sendable, Equatable {
    public var digit: Int?
    public var rejected: Bool
    public var bestGuess: Int
    public var confidence: Float
    /// [x, y, width, height] in the picture's pixels.
    public var box: [Int]

    enum CodingKeys: String, CodingKey {
        case digit, rejected, confidence, box
        case bestGuess = "best_guess"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digit, forKey: .digit)  // null, not absent, for a refused position
        try container.encode(rejected, forKey: .rejected)
        try container.encode(bestGuess, forKey: .bestGuess)
        try container.encode(confidence, forKey: .confidence)
        try container.encode(box, forKey: .box)
    }
}

/// The answer for one picture: the fields of `digits classify --json`. A picture of one digit
/// has `digit` (null when refused) with its confidence and probabilities; a number has `digit`
/// null, and `number` ("2026", "7?3") with each position in `digits`.
public struct Classification: Codable, Sendable, Equatable {
    /// The number read ("2026"; "?" where a position is not a digit); for one digit, that digit,
    /// or nil when it was refused.
    public var number: String?
    /// The digit read, for a picture of one digit; nil for a number, or a refused picture.
    public var digit: Int?
    public var digits: [NumberDigit]
    public var rejected: Bool
    public var reason: String?
    /// For one digit: the most probable digit, its probability and every digit's.
    public var bestGuess: Int?
    public var confidence: Float?
    public var probabilities: [Float]?
    public var notDigitProbability: Float?
    public var model: String
    /// What the model read, as a base64 PNG: the 28×28 picture, or a number's digits side by side.
    public var preprocessed: String

    enum CodingKeys: String, CodingKey {
        case number, digit, digits, rejected, reason, confidence, probabilities, model, preprocessed
        case bestGuess = "best_guess", notDigitProbability = "not_digit_probability"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        try container.encode(digit, forKey: .digit)  // null, not absent, for a refused picture or a number
        try container.encode(digits, forKey: .digits)
        try container.encode(rejected, forKey: .rejected)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encodeIfPresent(bestGuess, forKey: .bestGuess)
        try container.encodeIfPresent(confidence, forKey: .confidence)
        try container.encodeIfPresent(probabilities, forKey: .probabilities)
        try container.encodeIfPresent(notDigitProbability, forKey: .notDigitProbability)
        try container.encode(model, forKey: .model)
        try container.encode(preprocessed, forKey: .preprocessed)
    }
}

public enum ServeError: DigitsError, Equatable {
    case unknownModel(String, known: [String])
    case emptyBody
    case noImagePart
    case overBudget(width: Int, height: Int, budget: Int)

    public var message: String {
        switch self {
        case .unknownModel(let name, let known): return "no model named \(name); the models are \(known.joined(separator: ", "))"
        case .emptyBody: return "the request has no body; send a PNG or JPEG (image/png, image/jpeg) or a multipart upload"
        case .noImagePart: return "the multipart upload has no file part"
        case .overBudget(let width, let height, let budget):
            return "the picture is \(width)×\(height) = \(formatCount(width * height)) pixels, over this server's limit of \(formatCount(budget)) per request"
        }
    }

    public var hint: String? { nil }
}

public final class Classifier: Sendable {
    public let models: [ServedModel]
    public let defaultModel: String
    /// Pixels one request may decode, from the picture's header.
    public let pixelBudget: Int
    private let readers: [String: DigitReader]
    private let decodeSlots: DecodeSlots

    /// Loads every checkpoint (name, path); the first is the default. The models run on
    /// `compute`'s threads.
    public init(checkpoints: [(name: String, path: String)], pixelBudget: Int = 24_000_000,
                concurrentDecodes: Int = max(1, ProcessInfo.processInfo.activeProcessorCount),
                compute: ComputeContext = .serial) throws {
        precondition(!checkpoints.isEmpty, "a server needs at least one model")
        var models: [ServedModel] = [], readers: [String: DigitReader] = [:]
        for (name, path) in checkpoints {
            let (model, file) = try Checkpoint.loadModel(from: path)
            model.compute = compute
            readers[name] = try DigitReader(model: model, path: path, metadata: file.metadata,
                                            options: ReaderOptions(maxPixels: pixelBudget))
            models.append(ServedModel(name: name, path: path, architecture: model.architecture,
                                      testAccuracy: file.metadata["test_accuracy"].flatMap(Double.init), parameters: model.parameterCount))
        }
        self.models = models
        defaultModel = checkpoints[0].name
        self.readers = readers
        self.pixelBudget = pixelBudget
        decodeSlots = DecodeSlots(count: concurrentDecodes)
    }

    /// The reader behind model `name` (the default when nil).
    public func reader(_ name: String?) throws -> DigitReader {
        let name = name ?? defaultModel
        guard let reader = readers[name] else { throw ServeError.unknownModel(name, known: models.map(\.name)) }
        return reader
    }

    /// Classifies the PNG or JPEG in `bytes` with model `name` (the default when nil). Waits
    /// for a decode slot first.
    public func classify(_ bytes: [UInt8], model name: String?, path: String = "upload") async throws -> Classification {
        let reader = try reader(name)
        let size = try Picture.size(of: bytes, path: path)
        guard size.width.multipliedReportingOverflow(by: size.height).partialValue <= pixelBudget, size.width <= 65_535, size.height <= 65_535 else {
            throw ServeError.overBudget(width: size.width, height: size.height, budget: pixelBudget)
        }
        await decodeSlots.acquire()
        defer { decodeSlots.release() }
        let number = try reader.readNumber(bytes, name: path)
        let entries = number.digits.map { digit in
            NumberDigit(digit: digit.reading.digit, rejected: digit.reading.rejected, bestGuess: digit.reading.bestGuess,
                        confidence: digit.reading.confidence, box: [digit.box.x, digit.box.y, digit.box.width, digit.box.height])
        }
        // What the model saw: each digit's 28×28 picture, side by side.
        let images = number.digits.map(\.reading.prepared.image)
        let side = images[0].height, width = images.count * side
        var pixels = [UInt8](repeating: 0, count: width * side)
        for (index, image) in images.enumerated() {
            for y in 0..<side { for x in 0..<side { pixels[y * width + index * side + x] = image.pixels[y * side + x] } }
        }
        let picture = try PNG.encode(width: width, height: side, layout: .gray, samples: pixels)
        let model = name ?? defaultModel, seen = Data(picture).base64EncodedString()
        guard number.isSingleDigit else {
            return Classification(number: number.text, digit: nil, digits: entries, rejected: number.digits.allSatisfy(\.reading.rejected),
                                  reason: number.hasRejectedPosition ? "a position is not a digit (shown as ?)" : nil,
                                  model: model, preprocessed: seen)
        }
        let reading = number.digits[0].reading
        return Classification(number: reading.digit.map(String.init), digit: reading.digit, digits: entries, rejected: reading.rejected,
                              reason: reading.reason, bestGuess: reading.bestGuess, confidence: reading.confidence,
                              probabilities: reading.probabilities, notDigitProbability: reading.notDigitProbability,
                              model: model, preprocessed: seen)
    }

    /// Decodes running now, and the most seen at once (for tests and the abuse check).
    public var decodesRunning: (now: Int, peak: Int) { decodeSlots.usage }
}

/// A counting semaphore for async callers: `acquire` suspends (it never blocks a thread)
/// until one of `count` slots is free.
final class DecodeSlots: Sendable {
    private struct State {
        var free: Int
        var running = 0
        var peak = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(free: count)) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                guard state.free > 0 else { state.waiting.append(continuation); return false }
                state.free -= 1
                state.running += 1
                state.peak = max(state.peak, state.running)
                return true
            }
            if ready { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()  // the slot passes straight to the next caller
        }
        next?.resume()
    }

    var usage: (now: Int, peak: Int) { state.withLock { ($0.running, $0.peak) } }
}
