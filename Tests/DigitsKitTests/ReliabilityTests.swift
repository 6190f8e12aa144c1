// Files that must never hurt: a checkpoint whose architecture declares more weights than the
// file holds is refused before anything is allocated (a 10⁶×10⁶ layer would be 4 TB), sizes that
// overflow are refused, and an atomic write removes what killed writers left behind.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct ReliabilityTests {
    /// A small model's checkpoint with its architecture replaced by `change`'s.
    static func checkpoint(changing change: (inout Architecture) -> Void) throws -> [UInt8] {
        let model = try Sequential(SyntheticDigits.architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2))
        var file = Checkpoint.file(for: model, metadata: [:])
        var architecture = model.architecture
        change(&architecture)
        file.metadata["architecture"] = architecture.json()
        return file.encoded()
    }

    @Test func theFileAsItIsLoads() throws {
        let (model, _) = try Checkpoint.loadModel(try Self.checkpoint { _ in }, path: "ok.safetensors")
        #expect(model.architecture == SyntheticDigits.architecture)
    }

    @Test func layersLargerThanTheFileAreRefusedBeforeAllocating() throws {
        let bytes = try Self.checkpoint { $0.layers[0].outFeatures = 1_000_000; $0.layers[0].inFeatures = 1_000_000 }
        do {
            _ = try Checkpoint.loadModel(bytes, path: "huge.safetensors")
            Issue.record("a 10⁶×10⁶ layer was accepted")
        } catch let error as CheckpointError {
            guard case .notACheckpoint(let path, let reason) = error else { Issue.record("\(error)"); return }
            #expect(path == "huge.safetensors" && reason.contains("declares 1,000,"), "\(reason)")
        }
    }

    @Test func overflowingSizesAreRefused() throws {
        let bytes = try Self.checkpoint { $0.layers[0].outFeatures = Int.max / 2; $0.layers[0].inFeatures = 4 }
        #expect(throws: CheckpointError.self) { _ = try Checkpoint.loadModel(bytes, path: "overflow.safetensors") }
        var architecture = SyntheticDigits.architecture
        architecture.layers[0].outFeatures = Int.max / 2
        #expect(architecture.declaredParameterCount == nil)
    }

    @Test func abandonedTemporariesAreRemoved() throws {
        let directory = TestFiles.scratchDirectory()
        // No process has this id (it is above the kernel's pid_max): its writer is gone.
        let abandoned = directory + "/.model.safetensors.tmp-2147483646"
        let unrelated = directory + "/.other.safetensors.tmp-2147483646"
        for path in [abandoned, unrelated] { try Files.writeAtomically([1, 2, 3], to: path) }
        try Files.writeAtomically([4, 5], to: directory + "/model.safetensors")
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: unrelated))
        #expect(try Files.read(directory + "/model.safetensors", limit: 10) == [4, 5])
    }

    // MARK: What the fuzzers found (scripts/fuzz), kept as regressions

    /// FuzzAugmentSpec: Float(_:) stopped at a NUL, so "elastic=0\0…:2" parsed, and α = 0 with
    /// σ = 2 was a spec that printed as "none" but was not equal to it.
    @Test func augmentRecipesWithNULOrZeroElasticity() throws {
        #expect(throws: AugmentationError.self) { try AugmentationSpec.parse("elastic=0\u{0}t\u{fffd}hea\u{0}:2") }
        #expect(throws: AugmentationError.self) { try AugmentationSpec.parse("rotate=5\u{0}junk") }
        #expect(throws: AugmentationError.self) { try AugmentationSpec.parse("shift=+2") }
        #expect(try AugmentationSpec.parse("elastic=0:2") == .none)
        for text in ["elastic=34:4", "rotate=1e-3", "scale=0.1,noise=0.05"] {
            let spec = try AugmentationSpec.parse(text)
            #expect(try AugmentationSpec.parse(spec.description) == spec)
        }
    }

    /// FuzzPNG: 446 bytes whose third text chunk declares 1.85 GB. libpng allocated it before
    /// finding the file too short (1.8 GB resident, 2 s); the chunk lengths are now checked first.
    @Test func pngChunkLongerThanTheFileIsRefusedFirst() throws {
        let bytes = [UInt8](Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgBAAAAACT4cgpAAAABGdBTUFAAYagMeiWXwAAABlpVFh0VGl0bGUAAABlbgBUaXRsZQBQbmdTdWl0ZdWsVUludAA4aVRYdEF1dGhvcgAAAGVuAEF1dGhvcgBXaWxsZW0gdmFuIFNjaGFpayAod2lsbGVtQHNjaGFpay5jb20pRVcgpAAAAEFpVFhhcmUAAABlbgBTb2Z0d2FyZQBDcmVhdGVkIG9uIGEgTmVYVHN0YXRpb24gY29sb3IgdXNpbmcgInBubXRvcG5nIi7EGQUHAAAAJGlUWHREaXNjbGFpbWVyAAAAZW4ARGlzY2xhaW1lcgBGcmVld2FyZS7TvjMJAAAATElOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OREFUKJFj+A8GxsYuLqGhaWnl5QxkCSgpIbgdHeQJ/P+P4M6cSZ4A3EkQQJYACEAMXLWKPAGEk8BcsgQQ3N27z5whTwDBhXqOdAEA3bPzUVXWNJcAAAAASUVORK5CYII=")!)
        #expect(bytes.count == 446)
        do {
            _ = try PNG.decodeGray(bytes, path: "oom.png")
            Issue.record("the PNG was accepted")
        } catch let error as PNGError {
            #expect(error.message.contains("declares 1,853,"), "\(error.message)")
        }
    }
}
