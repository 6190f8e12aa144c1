// The one way a picture becomes an answer, for `digits classify`, `digits serve` and Swift
// programs: decode (PNG or JPEG, by content) → prepare the MNIST way (DigitPreprocessor) →
// run the model's compiled inference plan → a verdict: a digit, or "not a digit".
//
//     let reader = try DigitReader(checkpoint: "checkpoints/cnn.safetensors")
//     let reading = try reader.read(file: "photo.jpg")
//     print(reading.digit.map(String.init) ?? "not a digit", reading.confidence)
//
// The verdict comes from the model's reject class (trained on pictures that are not digits,
// `digits train --negatives`): a picture is refused when that class's probability reaches
// the threshold. A model without the class gives no verdict: every picture gets a digit.
import Foundation
import Synchronization

/// What the reader made of one picture.
public struct DigitReading: Sendable {
    /// The digit read, or nil when the picture was refused as not a digit.
    public var digit: Int? { rejected ? nil : bestGuess }
    /// The most probable digit, refused or not.
    public let bestGuess: Int
    /// The probability of `bestGuess` (over every class, the reject class included).
    public let confidence: Float
    /// (digit classes) the probability of each digit.
    public let probabilities: [Float]
    /// The probability of "not a digit", for a model with that class.
    public let notDigitProbability: Float?
    /// The picture was refused: the model's "not a digit" probability reached the reader's threshold
    /// (never for a model without a reject class, or with `ReaderOptions.acceptAll`).
    public let rejected: Bool
    /// Why the picture was refused, in a few words; nil when it was not.
    public let reason: String?
    /// The picture as the model saw it, and how it was prepared.
    public let prepared: PreparedDigit

    /// The `k` most probable digits, most probable first.
    public func top(_ k: Int) -> [(digit: Int, probability: Float)] {
        probabilities.enumerated().map { (digit: $0.offset, probability: $0.element) }
            .sorted { $0.probability != $1.probability ? $0.probability > $1.probability : $0.digit < $1.digit }
            .prefix(max(k, 0)).map { $0 }
    }
}

/// One file's outcome among many.
public enum ReadOutcome: Sendable {
    /// The picture was read: the verdict and how it was reached.
    case read(DigitReading)
    /// The file could not be read, decoded or prepared; the error says why.
    case failed(any DigitsError)
}

/// How a `DigitReader` decides and what it accepts.
public struct ReaderOptions: Sendable {
    /// Refuse a picture when P(not a digit) reaches this (nil: the `reject_threshold` the
    /// checkpoint's metadata records, else 0.5; the shipped checkpoints record none).
    public var rejectThreshold: Float?
    /// Never refuse: every picture gets its most probable digit.
    public var acceptAll = false
    /// Largest picture accepted, judged from its header before decoding.
    public var maxPixels = PNG.maxPixels

    /// Options for a reader: `rejectThreshold` (nil: the checkpoint's recorded
    /// `reject_threshold`, else 0.5), `acceptAll` to never refuse a picture, and `maxPixels`,
    /// the largest picture accepted (PNG's limit by default).
    public init(rejectThreshold: Float? = nil, acceptAll: Bool = false, maxPixels: Int = PNG.maxPixels) {
        self.rejectThreshold = rejectThreshold
        self.acceptAll = acceptAll
        self.maxPixels = maxPixels
    }
}

/// Why a model cannot be used to read pictures.
public enum ReaderError: DigitsError, Equatable {
    /// The model at `path` cannot read pictures: no model was given (or not one path and one
    /// metadata dictionary per model), its input is not a square one-channel image of at least
    /// 8 pixels a side, or an ensemble's members differ in input or classes; `reason` says which.
    case unsuitableModel(path: String, reason: String)

    public var message: String {
        switch self {
        case .unsuitableModel(let path, let reason): return "\(path): \(reason)"
        }
    }
    public var hint: String? { "read pictures with a model trained on square one-channel digits, such as checkpoints/cnn.safetensors" }
}

/// Reads pictures of digits: decodes a PNG or JPEG (by content), prepares it the MNIST way
/// (ink bright on black, its longer side scaled to 20 pixels and centred by mass in 28×28 for
/// a 28×28 model), runs the model's compiled inference plan, and gives a verdict: a digit, or
/// "not a digit" when the model's reject class reaches the threshold.
///
/// One model or an ensemble whose probabilities are averaged. A reader may be shared between
/// threads: each concurrent request takes its own inference plans from a pool.
public final class DigitReader: Sendable {
    /// The architecture of the model that reads the pictures (an ensemble's first member's; the
    /// members share its input and classes).
    public let architecture: Architecture
    /// The checkpoint's path; an ensemble's paths joined by " + ".
    public let modelPath: String
    /// The checkpoint's metadata (test accuracy, training options, any recorded
    /// `reject_threshold`); an ensemble's first member's.
    public let metadata: [String: String]
    /// The options the reader was made with.
    public let options: ReaderOptions
    /// The threshold in use for the reject class, nil for a model without one.
    public let rejectThreshold: Float?
    let preprocessor: DigitPreprocessor
    /// One model, or the members of an ensemble, whose probabilities are averaged.
    private let models: UncheckedSendable<[Sequential]>
    /// Inference plans for every member, one set per concurrent request.
    private let plans: Mutex<[UncheckedSendable<[InferencePlan]>]>
    /// The first set of plans: the sets made later read their packed weights.
    private let firstPlans: UncheckedSendable<[InferencePlan]>

    /// Loads a checkpoint written by `digits train`, to run on `compute`'s threads.
    public convenience init(checkpoint path: String, options: ReaderOptions = ReaderOptions(),
                            compute: ComputeContext = .serial) throws {
        try self.init(checkpoints: [path], options: options, compute: compute)
    }

    /// Loads several checkpoints as an ensemble: a picture's probabilities are the mean of the
    /// models'. They must take the same input and have the same classes.
    public convenience init(checkpoints paths: [String], options: ReaderOptions = ReaderOptions(),
                            compute: ComputeContext = .serial) throws {
        var models: [Sequential] = [], metadata: [[String: String]] = []
        for path in paths {
            let (model, file) = try Checkpoint.loadModel(from: path)
            model.compute = compute
            models.append(model)
            metadata.append(file.metadata)
        }
        try self.init(models: models, paths: paths, metadata: metadata, options: options)
    }

    /// A reader for a model already in memory; `path` names it in messages and `metadata` is its
    /// checkpoint metadata (for a recorded `reject_threshold`). It runs on the model's own
    /// compute context.
    /// - Throws: `ReaderError.unsuitableModel` when the model does not take square one-channel
    ///   images of at least 8 pixels a side.
    public convenience init(model: Sequential, path: String, metadata: [String: String] = [:], options: ReaderOptions = ReaderOptions()) throws {
        try self.init(models: [model], paths: [path], metadata: [metadata], options: options)
    }

    /// An ensemble of `models` (one is a single model), loaded from `paths`, with each one's
    /// checkpoint metadata.
    public init(models: [Sequential], paths: [String], metadata: [[String: String]], options: ReaderOptions = ReaderOptions()) throws {
        guard let model = models.first, models.count == paths.count, models.count == metadata.count else {
            throw ReaderError.unsuitableModel(path: paths.first ?? "", reason: "no model to read with")
        }
        let input = model.architecture.input
        guard input.count == 3, input[0] == 1, input[1] == input[2], input[1] >= 8 else {
            throw ReaderError.unsuitableModel(path: paths[0], reason: "the model takes \(input.map(String.init).joined(separator: "×")) inputs; reading pictures needs square one-channel images")
        }
        for (other, path) in zip(models, paths).dropFirst() {
            let a = model.architecture, b = other.architecture
            guard b.input == a.input, b.hasSameClasses(as: a) else {
                throw ReaderError.unsuitableModel(path: path, reason: "an ensemble's models must take the same input and have the same classes as \(paths[0]) (\(b.classes) classes on \(b.input.map(String.init).joined(separator: "×")), against \(a.classes) on \(a.input.map(String.init).joined(separator: "×")))")
            }
        }
        // The first set of plans is made now: a model the plan does not compile (a tanh MLP)
        // reads on its layers, through OpenBLAS, which is then loaded here, so that a missing
        // library is this error rather than an exit in the middle of a reading.
        let firstPlans = models.map { InferencePlan($0) }
        if !firstPlans.allSatisfy(\.isCompiled) { try BLAS.load() }
        architecture = model.architecture
        modelPath = paths.joined(separator: " + ")
        self.metadata = metadata[0]
        self.options = options
        var settings = DigitPreprocessor()
        settings.side = input[1]
        settings.box = input[1] * 20 / 28
        preprocessor = settings
        self.models = UncheckedSendable(models)
        plans = Mutex([UncheckedSendable(firstPlans)])
        self.firstPlans = UncheckedSendable(firstPlans)
        // Each member's recorded threshold, averaged (0.5 for a member without one).
        let recorded = metadata.map { $0["reject_threshold"].flatMap(Float.init) ?? 0.5 }
        rejectThreshold = model.architecture.rejectClass == true
            ? (options.rejectThreshold ?? recorded.reduce(0, +) / Float(recorded.count)) : nil
    }

    /// The number of models whose probabilities are averaged (1 for a single model).
    public var ensembleSize: Int { models.value.count }

    // MARK: Reading

    /// Reads the picture in a file (PNG or JPEG).
    public func read(file: String) throws -> DigitReading {
        try read(prepared: [prepare(file: file)])[0]
    }

    /// Reads a picture from its bytes; `name` is what errors call it.
    public func read(_ bytes: [UInt8], name: String) throws -> DigitReading {
        try read(prepared: [prepare(bytes, name: name)])[0]
    }

    /// Reads many files: each is decoded and prepared on its own core, then all go through the
    /// model together. A file that cannot be read gets its error, in place.
    public func read(files: [String]) -> [ReadOutcome] {
        var prepared = [PreparedDigit?](repeating: nil, count: files.count)
        var failures = [(any DigitsError)?](repeating: nil, count: files.count)
        prepared.withUnsafeMutableBufferPointer { preparedBuffer in
            failures.withUnsafeMutableBufferPointer { failureBuffer in
                nonisolated(unsafe) let digits = preparedBuffer.baseAddress!, errors = failureBuffer.baseAddress!
                DispatchQueue.concurrentPerform(iterations: files.count) { index in
                    do { digits[index] = try prepare(file: files[index]) } catch let error as any DigitsError {
                        errors[index] = error
                    } catch {
                        errors[index] = FileError.unreadable(path: files[index], reason: "\(error)")
                    }
                }
            }
        }
        var readings = read(prepared: prepared.compactMap { $0 }).makeIterator()
        return zip(prepared, failures).map { digit, failure in
            if digit != nil, let reading = readings.next() { return .read(reading) }
            return .failed(failure ?? FileError.unreadable(path: "", reason: "not read"))
        }
    }

    /// Decodes and prepares a file, without running the model.
    public func prepare(file: String) throws -> PreparedDigit {
        try prepare(Files.read(file, limit: Picture.maxFileBytes), name: file)
    }

    /// Decodes and prepares a picture's bytes, without running the model.
    public func prepare(_ bytes: [UInt8], name: String) throws -> PreparedDigit {
        try prepare(decoded: decode(bytes, name: name), bytes: bytes, name: name)
    }

    /// The picture in `bytes`, decoded at the size the preparation needs.
    func decode(_ bytes: [UInt8], name: String) throws -> GrayImage {
        try Picture.decodeGray(bytes, path: name, maxPixels: options.maxPixels, atLeast: preprocessor.workingSize)
    }

    /// Prepares a picture already decoded from `bytes`: again from the picture at its own size
    /// when a large JPEG, decoded reduced, shows a digit too small for the reduction
    /// (`fullResolution`).
    func prepare(decoded image: GrayImage, bytes: [UInt8], name: String, pictures: WorkingPictures? = nil) throws -> PreparedDigit {
        let digit = try prepareAsDecoded(image, bytes: bytes, name: name, pictures: pictures)
        guard let full = fullResolution(of: image, inkHeight: digit.inkBox.height, bytes: bytes, name: name),
              let closer = try? preprocessor.prepare(full, path: name, pictures: pictures) else { return digit }
        return closer
    }

    /// A large JPEG is decoded at a reduced DCT scale (`decode`), which keeps enough pixels for
    /// the working size but not for a closer look at small ink (`DigitPreprocessor.closerLook`
    /// and the number reader's): a number 55 pixels tall in a 4,000×3,000 photo is 14 pixels
    /// tall in the 1,000×750 decoded. When the ink found, `inkHeight` pixels of `image` tall,
    /// would get a closer look (under `DigitPreprocessor.closerLookHeight` at the working
    /// size), the picture is decoded again at its own size. Nil for a picture decoded whole,
    /// larger ink, or a second decoding that fails.
    func fullResolution(of image: GrayImage, inkHeight: Int, bytes: [UInt8], name: String) -> GrayImage? {
        guard PictureFormat(of: bytes) == .jpeg, let declared = try? Picture.size(of: bytes, path: name),
              max(declared.width, declared.height) > max(image.width, image.height) else { return nil }
        let scaleDown = max(1, Double(max(image.width, image.height)) / Double(preprocessor.workingSize))
        guard Double(inkHeight) / scaleDown < Double(DigitPreprocessor.closerLookHeight) else { return nil }
        return try? Picture.decodeGray(bytes, path: name, maxPixels: options.maxPixels)
    }

    private func prepareAsDecoded(_ image: GrayImage, bytes: [UInt8], name: String, pictures: WorkingPictures?) throws -> PreparedDigit {
        do {
            return try preprocessor.prepare(image, path: name, pictures: pictures)
        } catch PreprocessError.noInk where PictureFormat(of: bytes) == .png && (try? PNG.info(of: bytes, path: name))?.hasAlpha == true {
            // Light ink on a transparent canvas vanishes on white paper: try black.
            return try preprocessor.prepare(PNG.decodeGray(bytes, path: name, maxPixels: options.maxPixels, onBlack: true), path: name)
        }
    }

    /// Runs prepared pictures through the model, in one batch, and gives each its verdict.
    /// A picture with a second reading (the sheet of paper alone, the other polarity) sends
    /// both, and the one the model is surer of is kept.
    public func read(prepared digits: [PreparedDigit]) -> [DigitReading] {
        guard !digits.isEmpty else { return [] }
        var images: [GrayImage] = []
        let rows: [(primary: Int, alternative: Int?)] = digits.map { digit in
            images.append(digit.image)
            return (images.count - 1, digit.alternative.map { images.append($0.image); return images.count - 1 })
        }
        let predictions = predict(images)
        return zip(digits, rows).map { digit, row in
            var chosen = digit, index = row.primary
            if let other = row.alternative, let alternative = digit.alternative {
                let first = predictions.confidence(at: index), second = predictions.confidence(at: other)
                let better = digit.polarityAmbiguous ? second > first : (digit.alternativeLooksRight || (first < 0.8 && second > first))
                if better { chosen = alternative; index = other }
            }
            return verdict(predictions, at: index, prepared: chosen)
        }
    }

    /// How much wider than tall a 1's ink may be. Of MNIST's 6,742 training 1s, none is wider
    /// than 1.33 times its height (ink above 50 of 255); a stroke lying flatter is a dash, a
    /// bar or a stroke of some other character, which the model, shown only upright strokes as
    /// 1s, still calls a 1 (a 30° stroke at 58%; the flat last stroke of a katakana ル at 97%,
    /// which made it "111"). On the calibration pictures (the numbers of `make-numbers.py
    /// --calibration` and the negatives of `make-negatives.py --pictures`, seed 101), read right
    /// together: 2,784 without the rule or at 2.0, 2,785 at 1.6, 2,786 at 1.2–1.4, 2,792 at 1.1,
    /// which would refuse some of MNIST's own 1s.
    static let lyingOneAspect = 1.4

    /// Whether the model's `digit` is a 1 whose ink lies on its side (`lyingOneAspect`), and
    /// refused for it (not with `acceptAll`).
    func refusesLyingOne(_ digit: Int, prepared: PreparedDigit) -> Bool {
        !options.acceptAll && digit == 1 && Double(prepared.inkBox.width) > Self.lyingOneAspect * Double(prepared.inkBox.height)
    }

    func verdict(_ predictions: Predictions, at index: Int, prepared: PreparedDigit) -> DigitReading {
        let notDigit = predictions.notDigitProbability(at: index)
        var rejected = false
        var reason: String?
        if let notDigit, let rejectThreshold, !options.acceptAll, notDigit >= rejectThreshold {
            rejected = true
            reason = String(format: "the model rates it %.0f%% not a digit (threshold %.0f%%)", Double(notDigit) * 100, Double(rejectThreshold) * 100)
        }
        if !rejected, refusesLyingOne(predictions.predicted[index], prepared: prepared) {
            rejected = true
            reason = "a stroke lying on its side (\(prepared.inkBox.width)×\(prepared.inkBox.height) pixels): a 1 stands taller than it is wide"
        }
        return DigitReading(bestGuess: predictions.predicted[index], confidence: predictions.confidence(at: index),
                            probabilities: Array(predictions.probabilities(at: index).prefix(predictions.digitClasses)),
                            notDigitProbability: notDigit, rejected: rejected, reason: reason, prepared: prepared)
    }

    /// The model (or the ensemble's mean) over side×side images, through inference plans taken
    /// from a pool (requests on other threads take others). The many candidate digits of one
    /// number (`splitCount` or more) on a reader of one thread go through in two halves at once,
    /// each with plans of its own, on the two cores Dispatch already runs the candidates'
    /// preparation on (the reader's own threads would have to be started first, which costs
    /// more than it saves for one picture). An image's probabilities do not depend on the images
    /// beside it, so the halves give the same bits as the whole.
    func predict(_ images: [GrayImage]) -> Predictions {
        /// The images' pixels, one image after another.
        func pixels(_ images: ArraySlice<GrayImage>) -> [UInt8] {
            var pixels = [UInt8]()
            pixels.reserveCapacity(images.count * preprocessor.side * preprocessor.side)
            for image in images { pixels += image.pixels }
            return pixels
        }
        guard images.count >= Self.splitCount, models.value[0].compute.threads == 1, ProcessInfo.processInfo.activeProcessorCount > 1 else {
            return predict(pixels: pixels(images[...]))
        }
        let middle = images.count / 2
        let parts = [pixels(images[..<middle]), pixels(images[middle...])]
        var halves: [Predictions?] = [nil, nil]
        halves.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let slots = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: 2) { half in slots[half] = predict(pixels: parts[half]) }
        }
        return Predictions.concatenating(halves.map { $0! })
    }

    /// `predict` over whole images' pixels, one after another, with a set of plans from the pool.
    private func predict(pixels: [UInt8]) -> Predictions {
        let set = plans.withLock { $0.popLast() } ?? UncheckedSendable(zip(models.value, firstPlans.value).map { model, first in
            first.isCompiled ? InferencePlan(sharingWeightsOf: first) : InferencePlan(model)
        })
        defer { plans.withLock { $0.append(set) } }
        return Predictions.average(set.value.map { Predictions.compute($0, pixels: pixels) }, labels: [UInt8]?.none)
    }

    /// The fewest images `predict` splits between two cores: a number of four digits or so
    /// (its candidates), where a half of them takes longer than waking a core.
    static let splitCount = 16
}
