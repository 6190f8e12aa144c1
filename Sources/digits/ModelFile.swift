// Where `evaluate` and `classify` find a model: --model, or the shipped CNN. The default is
// looked up in the working directory first, then beside an installed executable
// (PREFIX/bin/digits → PREFIX/share/digits/checkpoints/), then in the clone that built it
// (.build/release/digits → checkpoints/), so the command works from any directory.
import DigitsKit
import Foundation

enum ModelFile {
    static let defaultPath = "checkpoints/cnn.safetensors"

    struct Missing: DigitsError {
        let path: String
        let isDefault: Bool
        var message: String { "\(path): no such model file" }
        var hint: String? {
            isDefault ? "the shipped models are in checkpoints/ of the repository (or PREFIX/share/digits/ after scripts/install); run from the clone, pass --model, or train one with digits train --model cnn"
                : "pass the path of a checkpoint written by digits train (checkpoints/cnn.safetensors, checkpoints/mlp.safetensors)"
        }
    }

    static func resolve(_ requested: String?) -> String {
        if let requested { return requested }
        return shipped(defaultPath)
    }

    /// A file of the repository (checkpoints/...), from the working directory, the clone that
    /// built this binary, or an installation (scripts/install: PREFIX/bin/digits with the
    /// models in PREFIX/share/digits/checkpoints).
    static func shipped(_ defaultPath: String) -> String {
        if FileManager.default.fileExists(atPath: defaultPath) { return defaultPath }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let installed = executable.deletingLastPathComponent().appendingPathComponent("share/digits").appendingPathComponent(defaultPath).path
        if FileManager.default.fileExists(atPath: installed) { return installed }
        // The clone that built this binary: .build/<triple>/release/digits sits four levels down.
        var directory = executable
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(defaultPath).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return defaultPath
    }

    /// The model and its checkpoint's metadata, running on `compute`'s threads.
    static func load(_ requested: String?, compute: ComputeContext) throws -> (model: Sequential, path: String, metadata: [String: String]) {
        let path = resolve(requested)
        guard FileManager.default.fileExists(atPath: path) else { throw Missing(path: path, isDefault: requested == nil) }
        let (model, file) = try Checkpoint.loadModel(from: path)
        model.compute = compute
        return (model, path, file.metadata)
    }

    /// The models of `--model` given once or more (the shipped CNN when not given), sharing
    /// one pool of `threads` threads: one model, or an ensemble.
    static func loadAll(_ requested: [String], threads: Int) throws -> [(model: Sequential, path: String, metadata: [String: String])] {
        let compute = ComputeContext(threads: threads)
        return try (requested.isEmpty ? [nil] : requested.map(Optional.some)).map { try load($0, compute: compute) }
    }
}
