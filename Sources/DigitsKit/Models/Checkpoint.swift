// Model checkpoints as safetensors with PyTorch names and shapes (fc1.weight is [out, in]),
// and the architecture, training options and history in __metadata__, so that a program in
// any language can rebuild and run the model from the file alone.
import Foundation

/// Why a checkpoint or training-state file cannot be used. Every case names the file's path.
public enum CheckpointError: DigitsError, Equatable {
    /// The file is not a digits checkpoint or training state (wrong or missing format keys) or its
    /// contents are invalid (architecture, counters, random states); `reason` says what.
    case notACheckpoint(path: String, reason: String)
    /// The file lacks a tensor the model needs, named as in the file (with any prefix, e.g.
    /// `current.fc1.weight`).
    case missingTensor(path: String, tensor: String)
    /// A tensor's shape differs from the one the architecture gives it.
    case wrongShape(path: String, tensor: String, expected: [Int], found: [Int])
    /// The file holds a tensor the architecture has no place for.
    case unexpectedTensor(path: String, tensor: String)
    /// The file is valid but does not go with the rest of the request (a training state for another
    /// dataset); `reason` says what.
    case mismatch(path: String, reason: String)
    /// A tensor holds `count` NaN or infinite values, which would make every answer NaN.
    case nonFiniteValues(path: String, tensor: String, count: Int)

    public var message: String {
        switch self {
        case .notACheckpoint(let path, let reason): return "\(path): not a digits checkpoint: \(reason)"
        case .missingTensor(let path, let tensor): return "\(path): tensor \(tensor) is missing"
        case .wrongShape(let path, let tensor, let expected, let found):
            return "\(path): tensor \(tensor) has shape \(found), expected \(expected)"
        case .unexpectedTensor(let path, let tensor): return "\(path): unexpected tensor \(tensor) for this architecture"
        case .mismatch(let path, let reason): return "\(path): \(reason)"
        case .nonFiniteValues(let path, let tensor, let count):
            return "\(path): tensor \(tensor) holds \(formatCount(count)) NaN or infinite value\(count == 1 ? "" : "s")"
        }
    }

    public var hint: String? {
        switch self {
        case .mismatch: return "train a new model with digits train, or pass the checkpoint that goes with these options"
        case .nonFiniteValues: return "a model with such weights answers nothing meaningful: the training that wrote it diverged, or the file was damaged; train again with digits train"
        default: return "the checkpoint is damaged or was written by something else; train again with digits train"
        }
    }
}

/// Model checkpoints: safetensors files with PyTorch's tensor names and shapes, and the
/// architecture and format keys in the metadata, so that any program can rebuild the model from
/// the file alone.
public enum Checkpoint {
    /// The metadata "format" value of every digits checkpoint: "digits".
    public static let format = "digits"
    /// The metadata "format_version" this version writes and reads (training states record it too).
    public static let formatVersion = "1"

    /// The model's parameters and buffers plus metadata (architecture and format keys are added here).
    public static func file(for model: Sequential, metadata: [String: String]) -> SafeTensorsFile {
        var keys = metadata
        keys["format"] = format
        keys["format_version"] = formatVersion
        keys["architecture"] = model.architecture.json()
        return SafeTensorsFile(metadata: keys, entries: model.savedTensors.map {
            SafeTensorsFile.Entry(name: $0.name, shape: $0.value.shape, values: $0.value.array)
        })
    }

    /// Writes the model's parameters and buffers, with `metadata` plus the format keys and the
    /// architecture, as a safetensors file at `path`, atomically.
    ///
    /// - Throws: `FileError.unwritable` when the file cannot be written; any old file is then left
    ///   as it was.
    public static func save(_ model: Sequential, metadata: [String: String], to path: String) throws {
        try file(for: model, metadata: metadata).write(to: path)
    }

    /// The architecture recorded in a checkpoint's metadata.
    public static func architecture(of file: SafeTensorsFile, path: String) throws -> Architecture {
        guard file.metadata["format"] == format else {
            throw CheckpointError.notACheckpoint(path: path, reason: "metadata has no \"format\": \"\(format)\"")
        }
        guard file.metadata["format_version"] == formatVersion else {
            throw CheckpointError.notACheckpoint(path: path, reason: "format version \(file.metadata["format_version"] ?? "none"), expected \(formatVersion)")
        }
        guard let json = file.metadata["architecture"] else {
            throw CheckpointError.notACheckpoint(path: path, reason: "no architecture in the metadata")
        }
        do { return try Architecture.decode(json: json) } catch {
            throw CheckpointError.notACheckpoint(path: path, reason: "the architecture metadata is not valid")
        }
    }

    /// Copies tensors named `prefix + parameter name` into the model's parameters, checking
    /// that every one is present with the right shape and holds only finite numbers. Other tensors are allowed only when
    /// `strict` is false.
    public static func load(_ file: SafeTensorsFile, into parameters: [Parameter], prefix: String = "",
                            strict: Bool = true, path: String) throws {
        for parameter in parameters {
            let name = prefix + parameter.name
            guard let entry = file[name] else { throw CheckpointError.missingTensor(path: path, tensor: name) }
            guard entry.shape == parameter.value.shape else {
                throw CheckpointError.wrongShape(path: path, tensor: name, expected: parameter.value.shape, found: entry.shape)
            }
            // A NaN weight makes every answer NaN: refuse it here rather than print "0 (nan%)".
            try requireFinite(entry, path: path)
            entry.values.withUnsafeBufferPointer { parameter.value.data.update(from: $0.baseAddress!, count: $0.count) }
        }
        if strict {
            let known = Set(parameters.map { prefix + $0.name })
            if let extra = file.entries.first(where: { !known.contains($0.name) }) {
                throw CheckpointError.unexpectedTensor(path: path, tensor: extra.name)
            }
        }
    }

    /// Throws `nonFiniteValues` when the tensor holds a NaN or an infinity.
    static func requireFinite(_ entry: SafeTensorsFile.Entry, path: String) throws {
        let nonFinite = entry.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        guard nonFinite == 0 else { throw CheckpointError.nonFiniteValues(path: path, tensor: entry.name, count: nonFinite) }
    }

    /// Rebuilds a model from a checkpoint file alone.
    public static func loadModel(from path: String) throws -> (model: Sequential, file: SafeTensorsFile) {
        try loadModel(SafeTensorsFile.read(contentsOf: path), path: path)
    }

    /// Rebuilds a model from a checkpoint's bytes; `path` names it in errors.
    public static func loadModel(_ bytes: [UInt8], path: String) throws -> (model: Sequential, file: SafeTensorsFile) {
        try loadModel(SafeTensorsFile.decode(bytes, path: path), path: path)
    }

    private static func loadModel(_ file: SafeTensorsFile, path: String) throws -> (model: Sequential, file: SafeTensorsFile) {
        let architecture = try architecture(of: file, path: path)
        // The layers' weights must be in the file: an architecture that declares more values
        // than the file holds is refused before the model allocates them.
        let held = file.entries.reduce(0) { $0 + $1.values.count }
        guard let declared = architecture.declaredParameterCount, declared <= held else {
            let count = architecture.declaredParameterCount.map { formatCount($0) } ?? "too many"
            throw CheckpointError.notACheckpoint(path: path, reason: "the architecture declares \(count) parameters, but the file holds \(formatCount(held)) values")
        }
        let model = try Sequential(architecture, random: nil, dropoutRandom: RandomGenerator(seed: 0), source: path)
        try load(file, into: model.savedTensors, path: path)
        return (model, file)
    }
}
