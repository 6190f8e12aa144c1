// One-file descriptions for `digits inspect FILE`: the kind is recognized from the content
// (PNG or JPEG signature, gzip or IDX magic, a safetensors header), falling back on the name
// only to word the error. Its own folder, as it looks at every format the others define.

package enum DataFile {
    package enum Kind: Equatable, Sendable { case png, jpeg, idx, checkpoint }

    /// PNG or JPEG if it starts with its signature; IDX if gzip or IDX magic; a checkpoint if it
    /// starts as safetensors does (an 8-byte header length, then "{"); otherwise guessed from
    /// the extension, so that the error speaks of the format the user meant.
    package static func kind(of bytes: [UInt8], path: String) -> Kind {
        if bytes.starts(with: PNG.signature) { return .png }
        if JPEG.isJPEG(bytes) { return .jpeg }
        if Gzip.isGzip(bytes) || bytes.starts(with: [0, 0]) { return .idx }
        if bytes.count > 8, bytes[8] == UInt8(ascii: "{") { return .checkpoint }
        let name = path.lowercased()
        if name.hasSuffix(".jpg") || name.hasSuffix(".jpeg") { return .jpeg }
        return name.hasSuffix(".png") ? .png : name.hasSuffix(".safetensors") ? .checkpoint : .idx
    }

    /// A few lines on what the file holds. Throws the reader's own typed error when it is invalid.
    package static func describe(_ path: String) throws -> [String] {
        // The kind comes from the first bytes, so each format's own size limit is checked
        // before the whole file is read (a 3 GB file that starts as a PNG is refused unread).
        let kind = kind(of: try Files.readPrefix(path, count: 16), path: path)
        let limit = switch kind {
        case .png, .jpeg: Picture.maxFileBytes
        case .idx: IDXLimits.standard.maxFileBytes
        case .checkpoint: SafeTensorsFile.maxFileBytes
        }
        let bytes = try Files.read(path, limit: limit)
        switch kind {
        case .checkpoint:
            let (model, file) = try Checkpoint.loadModel(bytes, path: path)
            let architecture = model.architecture, metadata = file.metadata
            let classes = architecture.classes == 11 ? "10 digits and \"not a digit\"" : architecture.classes == 10 ? "10 digits" : "\(architecture.classes) classes"
            var lines = ["\(path): digits checkpoint, model \(architecture.model), \(formatCount(model.parameterCount)) parameters in \(file.entries.count) tensors, \(classes)"]
            var training: [String] = []
            if let accuracy = metadata["test_accuracy"].flatMap(Double.init) { training.append("test accuracy " + String(format2: accuracy * 100) + "%") }
            if let epochs = metadata["epochs"] { training.append("\(epochs) epochs" + (metadata["best_epoch"].map { " (best \($0))" } ?? "")) }
            if let augmentation = metadata["augmentation"] { training.append("augmentation \(augmentation)") }
            if let decay = metadata["training"].flatMap(TrainingOptions.init(json:))?.ema {
                training.append("weights averaged (EMA \(decay))")
            }
            if let seed = metadata["seed"] { training.append("seed \(seed)") }
            if !training.isEmpty { lines.append("  trained: " + training.joined(separator: ", ")) }
            return lines
        case .png:
            let info = try PNG.info(of: bytes, path: path)
            let image = try PNG.decodeGray(bytes, path: path)
            let layout = (info.hasColor ? "color" : "gray") + (info.hasAlpha ? " with alpha" : "")
            let depth = info.is16Bit ? "16-bit" : "8-bit or less"
            return ["\(path): PNG \(info.width)×\(info.height), \(layout), \(depth)",
                    "  as 8-bit gray: \(grayStatistics(image.pixels))"]
        case .jpeg:
            let info = try JPEG.info(of: bytes, path: path)
            let image = try JPEG.decodeGray(bytes, path: path)
            let layout = info.components == 1 ? "gray" : info.components == 4 ? "CMYK" : "color"
            let coding = info.progressive ? "progressive" : "baseline"
            let upright = info.orientation == 1 ? "upright" : "EXIF orientation \(info.orientation), read upright as \(image.width)×\(image.height)"
            return ["\(path): JPEG \(info.width)×\(info.height), \(layout), \(coding), \(upright)",
                    "  as 8-bit gray: \(grayStatistics(image.pixels))"]
        case .idx:
            let array = try IDXArray.decode(bytes, path: path)
            let compression = Gzip.isGzip(bytes) ? "gzip-compressed " : ""
            var lines = ["\(path): \(compression)IDX \(array.elementType), shape \(formatShape(array.shape)) (\(formatCount(array.values.count)) values)"]
            if let range = array.values.range {
                lines.append("  values: min \(range.min), max \(range.max), mean \(String(format1: range.mean))")
            }
            return lines
        }
    }

    /// "mean M, min A, max B" of 8-bit gray pixels.
    private static func grayStatistics(_ pixels: [UInt8]) -> String {
        let mean = Double(pixels.reduce(0) { $0 + Int($1) }) / Double(max(pixels.count, 1))
        return "mean \(String(format1: mean)), min \(pixels.min() ?? 0), max \(pixels.max() ?? 0)"
    }
}

extension IDXValues {
    /// Minimum, maximum and mean, or nil when there are no values. One pass, no copies.
    var range: (min: Double, max: Double, mean: Double)? {
        func summarize<T>(_ values: [T], _ toDouble: (T) -> Double) -> (min: Double, max: Double, mean: Double)? {
            guard !values.isEmpty else { return nil }
            var low = Double.infinity, high = -Double.infinity, sum = 0.0
            for value in values {
                let x = toDouble(value)
                low = Swift.min(low, x); high = Swift.max(high, x); sum += x
            }
            return (low, high, sum / Double(values.count))
        }
        switch self {
        case .ubyte(let values): return summarize(values) { Double($0) }
        case .byte(let values): return summarize(values) { Double($0) }
        case .short(let values): return summarize(values) { Double($0) }
        case .int(let values): return summarize(values) { Double($0) }
        case .float(let values): return summarize(values) { Double($0) }
        case .double(let values): return summarize(values) { $0 }
        }
    }
}

extension String {
    /// A number with one decimal, without Foundation's formatters: "33.3".
    init(format1 value: Double) {
        let tenths = (value * 10).rounded()
        self = tenths.magnitude < 1e15
            ? "\(tenths < 0 ? "-" : "")\(Int(tenths.magnitude) / 10).\(Int(tenths.magnitude) % 10)"
            : "\(value)"
    }

    /// A number with two decimals, the same way: "99.63".
    init(format2 value: Double) {
        let hundredths = (value * 100).rounded()
        guard hundredths.magnitude < 1e15 else { self = "\(value)"; return }
        let whole = Int(hundredths.magnitude) / 100, fraction = Int(hundredths.magnitude) % 100
        self = "\(hundredths < 0 ? "-" : "")\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
