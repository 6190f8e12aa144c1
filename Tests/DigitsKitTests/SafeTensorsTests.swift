// safetensors files and checkpoints: round trips, the layout other readers expect, and every
// kind of damage refused with an error that names the file.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct SafeTensorsTests {
    static let sample = SafeTensorsFile(metadata: ["note": "hello", "n": "3"], entries: [
        .init(name: "fc1.weight", shape: [2, 3], values: [1, -2, 3.5, 0, .pi, -0.25]),
        .init(name: "fc1.bias", shape: [2], values: [7, 8]),
        .init(name: "empty", shape: [0, 4], values: []),
    ])

    @Test func roundTrip() throws {
        let decoded = try SafeTensorsFile.decode(Self.sample.encoded(), path: "s")
        #expect(decoded.metadata == Self.sample.metadata)
        for entry in Self.sample.entries {
            #expect(decoded[entry.name]?.shape == entry.shape && decoded[entry.name]?.values == entry.values)
        }
    }

    @Test func layoutFollowsTheSpecification() throws {
        let bytes = Self.sample.encoded()
        let headerLength = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) })
        #expect(headerLength % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + headerLength])) as! [String: Any]
        let weight = header["fc1.weight"] as! [String: Any]
        #expect(weight["dtype"] as? String == "F32" && weight["shape"] as? [Int] == [2, 3])
        #expect((header["__metadata__"] as? [String: String])?["note"] == "hello")
        #expect(bytes.count == 8 + headerLength + 4 * 8)
        // Little-endian float32 data: fc1.weight starts at offset 0 with 1.0 = 00 00 80 3f.
        let offsets = weight["data_offsets"] as! [Int]
        #expect(Array(bytes[8 + headerLength + offsets[0]..<8 + headerLength + offsets[0] + 4]) == [0, 0, 0x80, 0x3f])
    }

    /// Replaces the JSON header with `json` (padded), keeping `data` after it.
    static func file(header json: String, data: [UInt8]) -> [UInt8] {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        return bytes + header + data
    }

    @Test func damagedFilesAreRefused() {
        let eight: [UInt8] = Array(repeating: 0, count: 8)
        let cases: [(String, [UInt8])] = [
            ("too short", [1, 2, 3]),
            ("huge header length", [0, 0, 0, 0, 0, 0, 0, 0x10] + Array(repeating: 0x20, count: 16)),
            ("header past the end", [100, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8)),
            ("not JSON", Self.file(header: "{not json", data: [])),
            ("not an object", Self.file(header: "[1,2]", data: [])),
            ("metadata not strings", Self.file(header: #"{"__metadata__":{"a":1}}"#, data: [])),
            ("F16", Self.file(header: #"{"t":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])),
            ("shape and offsets disagree", Self.file(header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight)),
            ("offsets past the data", Self.file(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: eight)),
            ("negative dimension", Self.file(header: #"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight)),
            ("overflowing shape", Self.file(header: #"{"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight)),
            ("overlap", Self.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)),
            ("hole", Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)),
            ("trailing data", Self.file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight)),
            ("missing fields", Self.file(header: #"{"a":{"dtype":"F32"}}"#, data: [])),
        ]
        for (name, bytes) in cases {
            do {
                _ = try SafeTensorsFile.decode(bytes, path: "bad.safetensors")
                Issue.record("\(name): decoded")
            } catch let error as SafeTensorsError {
                #expect(error.message.hasPrefix("bad.safetensors: "), "\(name): \(error.message)")
            } catch {
                Issue.record("\(name): unexpected \(error)")
            }
        }
    }

    /// `digits inspect FILE` recognizes a checkpoint by its content, whatever its name, and says
    /// what model it holds and how it was trained; a damaged one gets the checkpoint reader's error.
    @Test func inspectDescribesACheckpoint() throws {
        let architecture = Architecture.mlp(hidden: [5], activation: .relu, dropout: 0, input: [1, 2, 3])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 4), dropoutRandom: RandomGenerator(seed: 5))
        let directory = TestFiles.scratchDirectory()
        let path = "\(directory)/model.bin"
        try Checkpoint.save(model, metadata: ["seed": "4", "test_accuracy": "0.98765", "epochs": "3", "best_epoch": "2"], to: path)
        let lines = try DataFile.describe(path)
        #expect(lines.count == 2)
        #expect(lines[0] == "\(path): digits checkpoint, model mlp, \(model.parameterCount) parameters in 4 tensors, 10 digits")
        #expect(lines[1] == "  trained: test accuracy 98.77%, 3 epochs (best 2), seed 4")
        var bytes = try Files.read(path, limit: 1 << 20)
        bytes.removeLast(8)
        let cut = "\(directory)/cut.safetensors"
        try Files.writeAtomically(bytes, to: cut)
        do {
            _ = try DataFile.describe(cut)
            Issue.record("a cut checkpoint was described")
        } catch let error as any DigitsError {
            #expect(error.message.contains(cut))
        }
    }

    @Test func checkpointRebuildsTheSameModel() throws {
        let architecture = Architecture.mlp(hidden: [5], activation: .gelu, dropout: 0.3, input: [1, 2, 3])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 4), dropoutRandom: RandomGenerator(seed: 5))
        let directory = TestFiles.scratchDirectory()
        try Checkpoint.save(model, metadata: ["seed": "4"], to: "\(directory)/m.safetensors")
        let (loaded, file) = try Checkpoint.loadModel(from: "\(directory)/m.safetensors")
        #expect(loaded.architecture == architecture)
        #expect(file.metadata["seed"] == "4" && file.metadata["format"] == "digits")
        #expect(file["fc1.weight"]?.shape == [5, 6] && file["fc2.bias"]?.shape == [10])
        let x = smoothInput(rows: 2, features: 6, seed: 9)
        #expect(model.forward(x, training: false).array == loaded.forward(x, training: false).array)
    }

    @Test func checkpointProblemsAreNamed() throws {
        let architecture = Architecture.mlp(hidden: [4], activation: .relu, dropout: 0, input: [3])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1))
        var file = Checkpoint.file(for: model, metadata: [:])

        var wrongShape = file
        wrongShape.entries[0] = .init(name: "fc1.weight", shape: [3, 4], values: wrongShape.entries[0].values)
        #expect(throws: CheckpointError.wrongShape(path: "c", tensor: "fc1.weight", expected: [4, 3], found: [3, 4])) {
            try Checkpoint.load(wrongShape, into: model.parameters, path: "c")
        }
        var missing = file
        missing.entries.removeLast()
        #expect(throws: CheckpointError.missingTensor(path: "c", tensor: "fc2.bias")) {
            try Checkpoint.load(missing, into: model.parameters, path: "c")
        }
        var extra = file
        extra.entries.append(.init(name: "fc9.weight", shape: [1], values: [0]))
        #expect(throws: CheckpointError.unexpectedTensor(path: "c", tensor: "fc9.weight")) {
            try Checkpoint.load(extra, into: model.parameters, path: "c")
        }
        // NaN or infinite weights are refused with the tensor's name and count, before that
        // tensor is copied into the model.
        var poisoned = file
        poisoned.entries[2].values = poisoned.entries[2].values.enumerated().map { $0.offset < 3 ? .nan : $0.element }
        poisoned.entries[3].values[0] = .infinity
        let before = model.parameters[2].value.array
        #expect(throws: CheckpointError.nonFiniteValues(path: "c", tensor: poisoned.entries[2].name, count: 3)) {
            try Checkpoint.load(poisoned, into: model.parameters, path: "c")
        }
        #expect(model.parameters[2].value.array == before)
        let directory = TestFiles.scratchDirectory()
        try poisoned.write(to: "\(directory)/nan.safetensors")
        #expect(throws: CheckpointError.self) { try Checkpoint.loadModel(from: "\(directory)/nan.safetensors") }
        file.metadata["format"] = "other"
        #expect(throws: CheckpointError.self) { try Checkpoint.architecture(of: file, path: "c") }
        file.metadata["format"] = "digits"
        file.metadata["architecture"] = #"{"model":"mlp","layers":[{"kind":"conv"}]}"#
        #expect(throws: CheckpointError.self) { try Checkpoint.architecture(of: file, path: "c") }
    }
}
