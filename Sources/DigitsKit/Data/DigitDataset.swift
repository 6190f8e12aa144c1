// A labelled set of grayscale digit images from an IDX image/label pair (MNIST's format),
// validated as a whole: ubyte N×rows×cols images, ubyte N labels, every label a class.
import Foundation

/// Why a pair of IDX files could not be found or used as a labelled digit dataset.
public enum DatasetError: DigitsError, Equatable {
    /// None of the file names tried for `split` (listed in `tried`, in order) exists in
    /// `directory`. For extra training pictures, `directory` is the image file and `split` is
    /// `extra`: its name does not follow MNIST's pattern, so no label file could be found beside
    /// it, and `tried` describes the name expected.
    case missingFiles(directory: String, split: String, tried: [String])
    /// The image file is not a 3-dimensional ubyte array `[N, rows, columns]`; `shape` and
    /// `type` are what it holds.
    case wrongImageLayout(path: String, shape: [Int], type: IDXElementType)
    /// The label file is not a 1-dimensional ubyte array `[N]`; `shape` and `type` are what it
    /// holds.
    case wrongLabelLayout(path: String, shape: [Int], type: IDXElementType)
    /// The image file holds `images` items but the label file `labels`: they are not a pair.
    case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
    /// The label at `index` (0-based) is `value`, which is not below the number of classes,
    /// `classes`.
    case labelOutOfRange(path: String, index: Int, value: Int, classes: Int)

    public var message: String {
        switch self {
        case .missingFiles(let directory, let split, let tried):
            return "\(directory): no MNIST \(split) files (looked for \(tried.joined(separator: ", ")))"
        case .wrongImageLayout(let path, let shape, let type):
            return "\(path): expected images as ubyte N×rows×cols, found \(formatShape(shape)) \(type)"
        case .wrongLabelLayout(let path, let shape, let type):
            return "\(path): expected labels as ubyte N, found \(formatShape(shape)) \(type)"
        case .countMismatch(let imagesPath, let images, let labelsPath, let labels):
            return "\(labelsPath): \(formatCount(labels)) labels, but \(imagesPath) has \(formatCount(images)) images; expected the same count"
        case .labelOutOfRange(let path, let index, let value, let classes):
            return "\(path): label \(value) at index \(index) is outside 0–\(classes - 1)"
        }
    }

    public var hint: String? {
        switch self {
        case .missingFiles:
            return "run scripts/fetch-mnist, or pass --data with a directory that holds the IDX files"
        case .wrongImageLayout, .wrongLabelLayout:
            return "the image file comes first, then the label file; check that the pair is the right way round"
        case .countMismatch:
            return "the image and label files must come from the same split"
        case .labelOutOfRange:
            return "this is not a 10-class digits label file, or it is damaged; fetch it again (scripts/fetch-mnist)"
        }
    }
}

/// Grayscale digits with their labels, stored contiguously.
public struct DigitDataset: Sendable {
    /// Height of every image, in pixels (28 for MNIST).
    public let rows: Int
    /// Width of every image, in pixels (28 for MNIST).
    public let columns: Int
    /// (count, rows, columns), row-major; 0 is background and 255 full ink, as in MNIST.
    public let pixels: [UInt8]
    /// (count); each in 0..<classes.
    public let labels: [UInt8]
    /// Number of classes; every label is below it. 10 for the digits 0–9, 11 when extra
    /// pictures bring in the reject class 10 (not a digit).
    public let classes: Int
    /// The image file the pixels were read from, as given; named in error messages. A set made
    /// by `inserting(_:beforeLast:)` keeps the training set's path.
    public let imagesPath: String
    /// The label file the labels were read from, as given; named in error messages. A set made
    /// by `inserting(_:beforeLast:)` keeps the training set's path.
    public let labelsPath: String

    /// Number of images, which is also the number of labels.
    public var count: Int { labels.count }
    /// Pixels in one image, `rows * columns` (784 for MNIST): the stride between consecutive
    /// images in `pixels`.
    public var pixelsPerImage: Int { rows * columns }

    /// Checks the arrays as a dataset and keeps them.
    public init(images: IDXArray, imagesPath: String, labels: IDXArray, labelsPath: String, classes: Int = 10) throws {
        guard case .ubyte(let pixels) = images.values, images.shape.count == 3 else {
            throw DatasetError.wrongImageLayout(path: imagesPath, shape: images.shape, type: images.elementType)
        }
        guard case .ubyte(let labelValues) = labels.values, labels.shape.count == 1 else {
            throw DatasetError.wrongLabelLayout(path: labelsPath, shape: labels.shape, type: labels.elementType)
        }
        guard images.shape[0] == labels.shape[0] else {
            throw DatasetError.countMismatch(imagesPath: imagesPath, images: images.shape[0],
                                             labelsPath: labelsPath, labels: labels.shape[0])
        }
        if let index = labelValues.firstIndex(where: { Int($0) >= classes }) {
            throw DatasetError.labelOutOfRange(path: labelsPath, index: index, value: Int(labelValues[index]), classes: classes)
        }
        self.rows = images.shape[1]
        self.columns = images.shape[2]
        self.pixels = pixels
        self.labels = labelValues
        self.classes = classes
        self.imagesPath = imagesPath
        self.labelsPath = labelsPath
    }

    /// The label file that belongs beside an image file: NAME-images-idx3-ubyte[.gz] →
    /// NAME-labels-idx1-ubyte[.gz]; nil when the name does not follow MNIST's pattern.
    public static func labelsPath(forImages path: String) -> String? {
        let directory = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        guard let range = name.range(of: "images-idx3-ubyte") else { return nil }
        return (directory as NSString).appendingPathComponent(name.replacingCharacters(in: range, with: "labels-idx1-ubyte"))
    }

    /// Extra training pictures: an IDX image file and the label file beside it, labels 0–10
    /// (10: not a digit, the reject class).
    public static func extra(images imagesPath: String, limits: IDXLimits = .standard) throws -> DigitDataset {
        guard let labelsPath = labelsPath(forImages: imagesPath) else {
            throw DatasetError.missingFiles(directory: imagesPath, split: "extra", tried: ["a name of the form NAME-images-idx3-ubyte, with NAME-labels-idx1-ubyte beside it"])
        }
        return try load(images: imagesPath, labels: labelsPath, classes: 11, limits: limits)
    }

    /// Arrays already known to fit: (count, rows, columns) pixels, labels under `classes`.
    init(rows: Int, columns: Int, pixels: [UInt8], labels: [UInt8], classes: Int, imagesPath: String, labelsPath: String) {
        self.rows = rows
        self.columns = columns
        self.pixels = pixels
        self.labels = labels
        self.classes = classes
        self.imagesPath = imagesPath
        self.labelsPath = labelsPath
    }

    /// This training set with `extra` inserted before its last `validationCount` images, so
    /// they are trained on but the validation images stay the same digits.
    public func inserting(_ extra: DigitDataset, beforeLast validationCount: Int) throws -> DigitDataset {
        let negatives = extra
        guard negatives.rows == rows, negatives.columns == columns else {
            throw InputError.wrongImageSize(path: negatives.imagesPath, rows: negatives.rows, columns: negatives.columns,
                                            model: "(the training set is \(rows)×\(columns))", expected: [1, rows, columns])
        }
        let split = max(0, count - validationCount) * pixelsPerImage
        let labelSplit = max(0, count - validationCount)
        return DigitDataset(rows: rows, columns: columns,
                            pixels: Array(pixels[..<split]) + negatives.pixels + Array(pixels[split...]),
                            labels: Array(labels[..<labelSplit]) + negatives.labels + Array(labels[labelSplit...]),
                            classes: max(classes, negatives.classes), imagesPath: imagesPath, labelsPath: labelsPath)
    }

    /// Loads an IDX image file and its label file (raw or gzip each).
    public static func load(images imagesPath: String, labels labelsPath: String, classes: Int = 10,
                            limits: IDXLimits = .standard) throws -> DigitDataset {
        let images = try IDXArray.read(contentsOf: imagesPath, limits: limits)
        let labels = try IDXArray.read(contentsOf: labelsPath, limits: limits)
        return try DigitDataset(images: images, imagesPath: imagesPath, labels: labels, labelsPath: labelsPath, classes: classes)
    }

    /// Image `index` as a standalone picture.
    public func image(at index: Int) -> GrayImage {
        precondition(index >= 0 && index < count, "image index \(index) outside 0..<\(count)")
        let start = index * pixelsPerImage
        return GrayImage(width: columns, height: rows, pixels: Array(pixels[start..<start + pixelsPerImage]))
    }

    /// Count of each label, indexed by class.
    public func labelHistogram() -> [Int] {
        var histogram = [Int](repeating: 0, count: classes)
        for label in labels { histogram[Int(label)] += 1 }
        return histogram
    }

    /// Mean and standard deviation of all pixels, in 0–255 units. Accumulates exact integer
    /// sums, so the result does not depend on summation order.
    public func pixelStatistics() -> (mean: Double, standardDeviation: Double) {
        var sum: UInt64 = 0
        var sumOfSquares: UInt64 = 0
        pixels.withUnsafeBufferPointer { buffer in
            for value in buffer {
                sum &+= UInt64(value)
                sumOfSquares &+= UInt64(value) * UInt64(value)
            }
        }
        let n = Double(max(pixels.count, 1))
        let mean = Double(sum) / n
        let variance = max(Double(sumOfSquares) / n - mean * mean, 0)
        return (mean, variance.squareRoot())
    }
}

/// The two MNIST splits and where their files live.
public enum MNISTSplit: String, CaseIterable, Sendable {
    /// The training split: 60,000 images in MNIST, in files named `train-*`.
    case train
    /// The test split: 10,000 images in MNIST, in files named `t10k-*`.
    case test

    /// The prefix of the split's files: MNIST calls the test set "t10k".
    var filePrefix: String { self == .train ? "train" : "t10k" }

    /// File names tried in order: the original gzip files, then unpacked copies under the two
    /// names in circulation (LeCun's, and the dotted one of some mirrors).
    public func candidateNames(kind: String) -> [String] {
        let idx = kind == "images" ? "idx3" : "idx1"
        return ["\(filePrefix)-\(kind)-\(idx)-ubyte.gz",
                "\(filePrefix)-\(kind)-\(idx)-ubyte",
                "\(filePrefix)-\(kind).\(idx)-ubyte"]
    }
}

/// Finds and loads MNIST from a directory of its IDX files, under any of the names in
/// circulation (see `MNISTSplit.candidateNames(kind:)`), gzip-compressed or not.
public enum MNIST {
    /// Where `scripts/fetch-mnist` puts the files, relative to the repository.
    public static let defaultDirectory = "datasets/mnist"

    /// Finds a split's image and label files in `directory`.
    public static func files(in directory: String, split: MNISTSplit) throws -> (images: String, labels: String) {
        func find(_ kind: String) throws -> String {
            let names = split.candidateNames(kind: kind)
            for name in names {
                let path = (directory as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: path) { return path }
            }
            throw DatasetError.missingFiles(directory: directory, split: split.rawValue, tried: names)
        }
        return (try find("images"), try find("labels"))
    }

    /// Loads one split of MNIST from `directory` as a 10-class `DigitDataset`: the image and
    /// label files that `files(in:split:)` finds there, each raw or gzip-compressed.
    ///
    /// - Throws: `DatasetError.missingFiles` when a file is not there; `FileError`, a gzip error or
    ///   `IDXError` when a file cannot be read or decoded within `limits`; `DatasetError` when the
    ///   two files are not a valid image/label pair.
    public static func load(from directory: String = defaultDirectory, split: MNISTSplit,
                            limits: IDXLimits = .standard) throws -> DigitDataset {
        let (images, labels) = try files(in: directory, split: split)
        return try DigitDataset.load(images: images, labels: labels, limits: limits)
    }
}

/// Images whose size does not match what a model, or the dataset they are combined with,
/// reads.
public enum InputError: DigitsError, Equatable {
    /// The images in `path` are `rows`×`columns`, but `model` (the model's file and kind, or a
    /// note naming the training set) takes input of shape `expected`, such as `[1, 28, 28]`.
    case wrongImageSize(path: String, rows: Int, columns: Int, model: String, expected: [Int])

    public var message: String {
        switch self {
        case .wrongImageSize(let path, let rows, let columns, let model, let expected):
            return "\(path): images are \(rows)×\(columns), but the model \(model) takes \(expected.map(String.init).joined(separator: "×"))"
        }
    }

    public var hint: String? { "use images the size the model was trained on, or a model trained on these images" }
}

extension Sequential {
    /// Checks that `dataset`'s images are what this model reads: one channel of H×W.
    /// `modelPath` names the model's file in the error.
    public func checkInput(_ dataset: DigitDataset, modelPath: String? = nil) throws {
        let input = architecture.input
        let expectedPixels = input.reduce(1, *)
        let matches = input.count == 3 ? (input[0] == 1 && input[1] == dataset.rows && input[2] == dataset.columns)
            : expectedPixels == dataset.pixelsPerImage
        guard matches else {
            throw InputError.wrongImageSize(path: dataset.imagesPath, rows: dataset.rows, columns: dataset.columns,
                                            model: modelPath.map { "\($0) (\(architecture.model))" } ?? "(\(architecture.model))",
                                            expected: input)
        }
    }
}
