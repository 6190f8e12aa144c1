// `digits classify`: reads PNG pictures of digits as people make them (any size, either
// polarity, color, alpha, margins, thin or thick strokes), prepares each the way MNIST was
// made, and prints the digit, its confidence and the runners-up.
import ArgumentParser
import DigitsKit
import Foundation

extension DigitsCommand {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the digit in PNG pictures: any size, dark on light or light on dark, color or alpha.",
            discussion: """
                Each picture is prepared as MNIST's digits were: grayscale; the background \
                (even an uneven or gray one) is measured and removed and the ink made bright; \
                specks are dropped; it is cropped to the ink; very thin or very thick strokes are \
                brought into MNIST's range; the longer side is scaled to 20 pixels by area \
                averaging; the result is placed in 28×28 by its centre of mass. A 28×28 picture \
                that is already an MNIST-style digit is used as it is.

                A directory argument means every .png file inside it (and its subdirectories), \
                in name order. A file that cannot be read gets its own error line; the others \
                are still classified, and the exit status is 1 at the end. A blank picture is \
                reported as such (no ink found), never given a digit; low confidence gets a \
                warning. A photo of a sheet of paper on a table is also read as the sheet \
                alone, and that reading is used when the model is surer of it.

                Examples:
                  digits classify drawing.png
                  digits classify photos/ --top 3
                  digits classify drawing.png --model checkpoints/mlp.safetensors --json
                  digits classify drawing.png --save-preprocessed out/seen
                """
        )

        @Argument(help: "PNG files, or directories of PNG files.")
        var inputs: [String]

        @Option(help: "The checkpoint to use (default: checkpoints/cnn.safetensors).")
        var model: String?

        @Option(help: "How many of the most probable digits to show.")
        var top: Int = 3

        @Option(name: .customLong("save-preprocessed"), help: "Write the 28×28 image the model saw for each file into this directory.")
        var savePreprocessed: String?

        @Option(help: "Warn when the confidence is below this (0–1).")
        var warnBelow: Double = 0.6

        @Option(help: "Threads (default: 1 for one picture, where starting more costs more than it saves; one per core for several).")
        var threads: Int?

        @Flag(help: "Print one JSON array on stdout: {file, digit, confidence, probabilities} per file, or {file, error}.")
        var json = false

        func validate() throws {
            guard (1...10).contains(top) else { throw ValidationError("--top must be 1–10, got \(top)") }
            guard (0...1).contains(warnBelow) else { throw ValidationError("--warn-below must be in 0–1, got \(warnBelow)") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }

        /// One input file's outcome before prediction.
        enum Outcome: Sendable {
            case prepared(PreparedDigit)
            case failed(DigitsError)
        }

        func run() throws {
            let files = try Self.expand(inputs)
            let (network, modelPath, _) = try ModelFile.load(model, threads: threads ?? (files.count > 1 ? ProcessInfo.processInfo.activeProcessorCount : 1))
            // Pictures become square one-channel digits: the model must read those.
            let input = network.architecture.input
            let side = input.count == 3 ? input[1] : Int(Double(input.reduce(1, *)).squareRoot())
            guard input.count == 3 ? (input[0] == 1 && input[1] == input[2]) : side * side == input.reduce(1, *) else {
                throw ModelError.invalidArchitecture(path: modelPath,
                    reason: "the model takes \(input.map(String.init).joined(separator: "×")) inputs; classify needs square one-channel images")
            }
            var settings = DigitPreprocessor()
            settings.side = side
            settings.box = side * 20 / 28
            let preprocessor = settings  // a value: each thread reads its own copy

            // Pictures are read and prepared on every core: each is independent.
            let prepare = { @Sendable (file: String) -> Outcome in
                do {
                    let bytes = try Files.read(file, limit: PNG.maxFileBytes)
                    do {
                        return .prepared(try preprocessor.prepare(PNG.decodeGray(bytes, path: file), path: file))
                    } catch PreprocessError.noInk where (try? PNG.info(of: bytes, path: file))?.hasAlpha == true {
                        // Light ink on a transparent canvas vanishes on white paper: try black.
                        return .prepared(try preprocessor.prepare(PNG.decodeGray(bytes, path: file, onBlack: true), path: file))
                    }
                } catch let error as DigitsError {
                    return .failed(error)
                } catch {
                    return .failed(UnexpectedError(path: file, description: "\(error)"))
                }
            }
            var outcomes = [Outcome](repeating: .failed(UnexpectedError(path: "", description: "")), count: files.count)
            if files.count == 1 {
                outcomes[0] = prepare(files[0])
            } else {
                outcomes.withUnsafeMutableBufferPointer { buffer in
                    nonisolated(unsafe) let results = buffer.baseAddress!
                    let inputs = files
                    DispatchQueue.concurrentPerform(iterations: inputs.count) { results[$0] = prepare(inputs[$0]) }
                }
            }

            // All readable pictures go through the model together, as evaluate's batches do;
            // a picture with a second reading (a sheet of paper on a table) sends both.
            // rows[file]: where that file's readings sit among the images (nil for a failed file).
            var images: [GrayImage] = []
            let rows: [(primary: Int, alternative: Int?)?] = outcomes.map { outcome in
                guard case .prepared(let digit) = outcome else { return nil }
                images.append(digit.image)
                return (images.count - 1, digit.alternative.map { images.append($0.image); return images.count - 1 })
            }
            var predictions: Predictions?
            if !images.isEmpty {
                let dataset = try DigitDataset(images: IDXArray(shape: [images.count, side, side], values: .ubyte(images.flatMap(\.pixels))),
                                               imagesPath: "<pictures>",
                                               labels: IDXArray(shape: [images.count], values: .ubyte([UInt8](repeating: 0, count: images.count))),
                                               labelsPath: "<pictures>")
                try network.checkInput(dataset, modelPath: modelPath)
                predictions = Predictions.compute(network, on: dataset)
            }

            var failures = 0
            var records: [[String: Any]] = []
            var savedNames = Set<String>()
            for (file, (outcome, row)) in zip(files, zip(outcomes, rows)) {
                switch outcome {
                case .failed(let error):
                    failures += 1
                    records.append(["file": file, "error": error.message])
                    if !json { report(error) }
                case .prepared(var digit):
                    guard let predictions, let row else { continue }
                    var index = row.primary
                    // The second reading (the sheet alone) wins when it finds pen strokes where the
                    // first found a blob, or when the first is unsure and the second surer.
                    if let other = row.alternative, let alternative = digit.alternative,
                       digit.alternativeLooksRight
                        || (predictions.confidence(at: index) < 0.8 && predictions.confidence(at: other) > predictions.confidence(at: index)) {
                        index = other
                        digit = alternative
                    }
                    let best = predictions.top(top, at: index)
                    let confidence = Double(predictions.confidence(at: index))
                    var warning: String?
                    if confidence < warnBelow {
                        warning = String(format: "low confidence (%.0f%%): the picture may not be one clear digit", confidence * 100)
                    }
                    if let directory = savePreprocessed {
                        try save(digit.image, for: file, in: directory, taken: &savedNames)
                    }
                    if json {
                        var record: [String: Any] = ["file": file, "digit": predictions.predicted[index], "confidence": confidence,
                                                     "probabilities": predictions.probabilities(at: index).map(Double.init)]
                        if let warning { record["warning"] = warning }
                        records.append(record)
                    } else {
                        let runnersUp = best.map { String(format: "%d %.1f%%", $0.digit, Double($0.probability) * 100) }.joined(separator: ", ")
                        print(String(format: "%@: %d (%.1f%%)   top %d: %@", file, predictions.predicted[index], confidence * 100, best.count, runnersUp))
                        if let warning { printError("warning: \(file): \(warning)") }
                    }
                }
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: records, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
            if failures > 0 {
                if !json || files.count > 1 {
                    printError("digits: \(failures) of \(files.count) file\(files.count == 1 ? "" : "s") could not be classified")
                }
                throw ExitCode(1)
            }
        }

        /// Files named, and the .png files under directories named, in order.
        static func expand(_ inputs: [String]) throws -> [String] {
            var files: [String] = []
            for input in inputs {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
                    let found = (FileManager.default.enumerator(atPath: input)?.allObjects as? [String] ?? [])
                        .filter { $0.lowercased().hasSuffix(".png") }
                        .sorted()
                        .map { (input as NSString).appendingPathComponent($0) }
                    guard !found.isEmpty else { throw NoPictures(path: input) }
                    files += found
                } else {
                    files.append(input)
                }
            }
            return files
        }

        func save(_ image: GrayImage, for file: String, in directory: String, taken: inout Set<String>) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            var name = stem + ".png"
            var copy = 2
            while taken.contains(name) { name = "\(stem)-\(copy).png"; copy += 1 }
            taken.insert(name)
            try PNG.write(image, to: (directory as NSString).appendingPathComponent(name))
        }

        func report(_ error: DigitsError) {
            printError("digits: error: \(error.message)")
            if let hint = error.hint { printError("hint: \(hint)") }
        }

        struct NoPictures: DigitsError {
            let path: String
            var message: String { "\(path): the directory holds no .png files" }
            var hint: String? { "pass PNG files, or a directory that contains some" }
        }

        struct UnexpectedError: DigitsError {
            let path: String
            let description: String
            var message: String { "\(path): \(description)" }
            var hint: String? { nil }
        }
    }
}

func printError(_ line: String) {
    var standardError = StandardError()
    print(line, to: &standardError)
}
