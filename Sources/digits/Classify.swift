// `digits classify`: reads pictures of digits and numbers as people make them (PNG or JPEG, any
// size, either polarity, color, alpha, margins or none, thin or thick strokes) through
// DigitReader, and prints the digit, its confidence and the runners-up, the number and each
// digit's confidence, or "not a digit".
import ArgumentParser
@_spi(Tools) import DigitsKit
import DigitsPresentation
import Foundation

extension DigitsCommand {
    struct Classify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the digit or the number in pictures (PNG or JPEG), or say that a picture is not a digit.",
            discussion: """
                Each picture is prepared as MNIST's digits were. A clean picture (two gray \
                levels on a flat background: a drawing-app export, a scan, a tight crop whose \
                ink touches the edges, a 16×16 bitmap) gets the plain textbook preparation: \
                a box drawn around the ink (a form's cell) dropped, \
                cropped to the ink, the longer side scaled to 20 pixels by area averaging, \
                placed in 28×28 by its centre of mass. A picture of paper (uneven light, ruled \
                lines, a sheet photographed on a table) also has its background measured and \
                removed, ruled lines and framing lines dropped and its stroke width brought \
                into MNIST's range first. JPEG photos are turned upright from their EXIF tag. \
                The format is told from the file's content, not its name.

                Not a digit: the shipped models learned an extra class from pictures that are \
                not digits (letters, symbols, scribbles, shapes). A picture is refused when the \
                model gives that class at least --reject-threshold (default 0.5: the class is \
                more probable than all the digits together, or a reject_threshold the \
                checkpoint's metadata records); it prints "not a digit (closest: D, \
                P%)". --accept-all turns the verdict off. A model trained without negatives \
                gives every picture a digit.

                Numbers: a picture may hold one line of digits ("2026"), read left to right. The \
                ink is cut into pieces (a piece wider than a digit is tall is also cut where its \
                strokes are thinnest, where touching digits meet), and the model picks the \
                grouping of pieces into digits it is surest of, so a 5's detached bar joins its \
                5 and touching digits are split. It prints "2026 (2 99%, 0 98%, 2 97%, 6 99%)"; \
                a position refused as not a digit is "?" ("7?3"). One line only: digits \
                written above one another are not told apart. Digits only: marks much smaller \
                than a digit (a decimal point, a comma) are left out, so "3.14" reads 314, and \
                a minus sign is dropped with them. A picture of one digit is read \
                exactly as with --single, which forces a one-digit reading.

                A directory argument means every .png, .jpg and .jpeg file inside it (and its \
                subdirectories), in name order; "-" means the picture piped in on standard \
                input, reported as "stdin". A file that cannot be read gets its own error \
                line; the others are still classified, and the exit status is 1 at the end. A \
                blank picture is reported as such (no ink found), never given a digit; low \
                confidence gets a warning.

                Examples:
                  digits classify drawing.png
                  digits classify photo.jpg --top 3
                  digits classify photos/ --json
                  curl -s https://example.com/seven.jpg | digits classify -
                  digits classify drawing.png --model checkpoints/mlp.safetensors
                  digits classify scribble.png --accept-all
                  digits classify drawing.png --save-preprocessed out/seen
                  digits classify year.png --json
                  digits classify drawing.png --single
                """
        )

        @Argument(help: ArgumentHelp("PNG or JPEG files, directories of them, or - for a picture piped in on standard input.", valueName: "picture"),
                  completion: .file(extensions: ["png", "jpg", "jpeg"]))
        var inputs: [String]

        @Option(name: .customLong("model"), help: ArgumentHelp("The checkpoint to use (default: checkpoints/cnn.safetensors). Given more than once, the models form an ensemble: each picture's probabilities are their mean.", valueName: "file"),
                completion: .file(extensions: ["safetensors"]))
        var models: [String] = []

        @Option(help: "How many of the most probable digits to show.")
        var top: Int = 3

        @Option(name: .customLong("save-preprocessed"), help: ArgumentHelp("Write the 28×28 image the model saw for each file into this directory; for a number, one per digit (NAME-1.png, ...) and NAME-boxes.png, the picture with each digit's box and reading.", valueName: "directory"),
                completion: .directory)
        var savePreprocessed: String?

        @Option(help: "Warn when the confidence is below this (0–1).")
        var warnBelow: Double = 0.6

        @Option(help: "Refuse a picture as not a digit when the model's not-a-digit probability reaches this (0–1; default 0.5, or the reject_threshold recorded in the checkpoint's metadata).")
        var rejectThreshold: Float?

        @Flag(help: "Never refuse a picture: always name the most probable digit.")
        var acceptAll = false

        @Flag(help: "Read each picture as one digit, never as a number.")
        var single = false

        @Option(help: "Threads (default: 1 for one picture, where starting more costs more than it saves; one per core for several).")
        var threads: Int?

        @Flag(help: "Print one JSON array on stdout: per file {file, number, digit, rejected, reason, best_guess, confidence, probabilities, digits: [{digit, best_guess, confidence, rejected, box: [x, y, w, h]}]} (digit is null for a number), or {file, error}.")
        var json = false

        func validate() throws {
            guard (1...10).contains(top) else { throw ValidationError("--top must be 1–10, got \(top)") }
            guard (0...1).contains(warnBelow) else { throw ValidationError("--warn-below must be in 0–1, got \(warnBelow)") }
            if let rejectThreshold, !(0...1).contains(rejectThreshold) { throw ValidationError("--reject-threshold must be in 0–1, got \(rejectThreshold)") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
            guard inputs.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("\"-\" (standard input) can be given once") }
        }

        func run() throws {
            var files = try Self.expand(inputs)
            // "-" is the picture piped in on standard input, read once, before the models load;
            // when it cannot be read, it gets its error line like any file.
            let pipedAt = files.firstIndex(of: "-")
            var piped: [UInt8]?
            var pipeError: (any DigitsError)?
            if pipedAt != nil {
                do { piped = try Self.readStandardInput() } catch let error as any DigitsError { pipeError = error }
            }
            files = files.map { $0 == "-" ? Self.standardInputName : $0 }
            let loaded = try ModelFile.loadAll(models, threads: threads ?? (files.count > 1 ? ProcessInfo.processInfo.activeProcessorCount : 1))
            let reader = try DigitReader(models: loaded.map(\.model), paths: loaded.map(\.path), metadata: loaded.map(\.metadata),
                                         options: ReaderOptions(rejectThreshold: rejectThreshold, acceptAll: acceptAll))
            let onDisk = files.enumerated().filter { $0.offset != pipedAt }.map(\.element)
            var outcomes: [NumberOutcome] = single
                ? reader.read(files: onDisk).map { outcome in
                    switch outcome {
                    case .read(let reading): return .read(NumberReading(single: reading))
                    case .failed(let error): return .failed(error)
                    }
                }
                : reader.readNumbers(files: onDisk)
            if let pipedAt {
                let outcome: NumberOutcome
                do {
                    if let pipeError { throw pipeError }
                    let bytes = piped ?? []
                    outcome = .read(single ? NumberReading(single: try reader.read(bytes, name: Self.standardInputName))
                                           : try reader.readNumber(bytes, name: Self.standardInputName))
                } catch let error as any DigitsError {
                    outcome = .failed(error)
                }
                outcomes.insert(outcome, at: pipedAt)
            }

            var failures = 0
            var records: [[String: Any]] = []
            var savedNames = Set<String>()
            for (index, (file, outcome)) in zip(files, outcomes).enumerated() {
                switch outcome {
                case .failed(let error):
                    failures += 1
                    records.append(["file": file, "error": error.message])
                    if !json { report(error) }
                case .read(let number) where number.isSingleDigit:
                    let reading = number.digits[0].reading
                    let confidence = Double(reading.confidence)
                    var warning: String?
                    if !reading.rejected, confidence < warnBelow {
                        warning = String(format: "low confidence (%.0f%%): the picture may not be one clear digit", confidence * 100)
                    }
                    if let directory = savePreprocessed {
                        try save(reading.prepared.image, as: stem(of: file), in: directory, taken: &savedNames)
                    }
                    if json {
                        var record = Self.record(reading)
                        record["file"] = file
                        record["number"] = reading.digit.map { String($0) as Any } ?? NSNull()
                        record["digits"] = [Self.record(number.digits[0])]
                        if let warning { record["warning"] = warning }
                        records.append(record)
                    } else if reading.rejected {
                        print(String(format: "%@: not a digit (closest: %d, %.0f%%)", file, reading.bestGuess, confidence * 100))
                    } else {
                        let best = reading.top(top)
                        let runnersUp = best.map { String(format: "%d %.1f%%", $0.digit, Double($0.probability) * 100) }.joined(separator: ", ")
                        print(String(format: "%@: %d (%.1f%%)   top %d: %@", file, reading.bestGuess, confidence * 100, best.count, runnersUp))
                        if let warning { printError("warning: \(file): \(warning)") }
                    }
                case .read(let number):
                    if let directory = savePreprocessed {
                        let bytes = try index == pipedAt ? piped ?? [] : Files.read(file, limit: Picture.maxFileBytes)
                        let name = try save(number, for: file, bytes: bytes, in: directory, taken: &savedNames)
                        for (position, digit) in number.digits.enumerated() {
                            try save(digit.reading.prepared.image, as: "\(name)-\(position + 1)", in: directory, taken: &savedNames)
                        }
                    }
                    if json {
                        var record: [String: Any] = ["file": file, "number": number.text, "digit": NSNull(),
                                                     "rejected": number.digits.allSatisfy(\.reading.rejected),
                                                     "digits": number.digits.map(Self.record)]
                        if number.hasRejectedPosition { record["reason"] = "a position is not a digit (shown as ?)" }
                        records.append(record)
                    } else {
                        let parts = number.digits.map { digit in
                            digit.reading.rejected
                                ? String(format: "? not a digit, closest %d %.0f%%", digit.reading.bestGuess, Double(digit.reading.confidence) * 100)
                                : String(format: "%d %.0f%%", digit.reading.bestGuess, Double(digit.reading.confidence) * 100)
                        }
                        print("\(file): \(number.text) (\(parts.joined(separator: ", ")))")
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

        /// What the picture read from standard input is called in the output and in errors.
        static let standardInputName = "stdin"

        /// The picture piped in, up to the size limit of a picture file; a terminal is refused
        /// rather than waited on.
        static func readStandardInput() throws -> [UInt8] {
            guard isatty(STDIN_FILENO) == 0 else { throw StandardInputIsATerminal() }
            return try Files.readStream(STDIN_FILENO, name: standardInputName, limit: Picture.maxFileBytes)
        }

        /// Files named, and the pictures (.png, .jpg, .jpeg) under directories named, in order.
        static func expand(_ inputs: [String]) throws -> [String] {
            var files: [String] = []
            for input in inputs {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
                    let found = (FileManager.default.enumerator(atPath: input)?.allObjects as? [String] ?? [])
                        .filter { name in [".png", ".jpg", ".jpeg"].contains { name.lowercased().hasSuffix($0) } }
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

        /// One reading as JSON fields: digit (null when refused), rejected, reason, best_guess,
        /// confidence, probabilities, not_digit_probability.
        static func record(_ reading: DigitReading) -> [String: Any] {
            var record: [String: Any] = ["digit": reading.digit.map { $0 as Any } ?? NSNull(), "rejected": reading.rejected,
                                         "best_guess": reading.bestGuess, "confidence": Double(reading.confidence),
                                         "probabilities": reading.probabilities.map(Double.init)]
            if let reason = reading.reason { record["reason"] = reason }
            if let notDigit = reading.notDigitProbability { record["not_digit_probability"] = Double(notDigit) }
            return record
        }

        /// One digit of a number: its reading and its box [x, y, width, height] in the picture.
        static func record(_ digit: DigitInNumber) -> [String: Any] {
            var record = record(digit.reading)
            record["box"] = [digit.box.x, digit.box.y, digit.box.width, digit.box.height]
            return record
        }

        func stem(of file: String) -> String { ((file as NSString).lastPathComponent as NSString).deletingPathExtension }

        /// Writes `image` as NAME.png in `directory` (NAME-2.png, ... when taken); returns the
        /// name used, without the extension.
        @discardableResult
        func save(_ image: GrayImage, as stem: String, in directory: String, taken: inout Set<String>) throws -> String {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var name = stem
            var copy = 2
            while taken.contains(name) { name = "\(stem)-\(copy)"; copy += 1 }
            taken.insert(name)
            try PNG.write(image, to: (directory as NSString).appendingPathComponent(name + ".png"))
            return name
        }

        /// Writes NAME-boxes.png: the picture (`bytes`, read from `file`) with each digit's box and
        /// reading. Returns NAME.
        func save(_ number: NumberReading, for file: String, bytes: [UInt8], in directory: String, taken: inout Set<String>) throws -> String {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var name = stem(of: file)
            var copy = 2
            while taken.contains(name) { name = "\(stem(of: file))-\(copy)"; copy += 1 }
            taken.insert(name)
            let picture = try Picture.decodeGray(bytes, path: file)
            try NumberPicture.draw(picture, reading: number).write(to: (directory as NSString).appendingPathComponent(name + "-boxes.png"))
            return name
        }

        func report(_ error: DigitsError) {
            printError("digits: error: \(error.message)")
            if let hint = error.hint { printError("hint: \(hint)") }
        }

        struct StandardInputIsATerminal: DigitsError {
            var message: String { "\(standardInputName): \"-\" reads a picture from standard input, which is a terminal here" }
            var hint: String? { "pipe a picture in, as in: digits classify - < photo.jpg (a file named -: ./-)" }
        }

        struct NoPictures: DigitsError {
            let path: String
            var message: String { "\(path): the directory holds no .png, .jpg or .jpeg files" }
            var hint: String? { "pass PNG or JPEG files, or a directory that contains some" }
        }
    }
}

func printError(_ line: String) {
    var standardError = StandardError()
    print(line, to: &standardError)
}
