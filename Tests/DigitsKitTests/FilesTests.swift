// Whole-file reads check the size before allocating; writes are atomic.
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct FilesTests {
    @Test func readsWholeFile() throws {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write([1, 2, 3], named: "a", in: directory)
        #expect(try Files.read(path, limit: 3) == [1, 2, 3])
    }

    @Test func refusesOverLimit() {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write([1, 2, 3, 4], named: "a", in: directory)
        #expect(throws: FileError.tooLarge(path: path, size: 4, limit: 3)) { try Files.read(path, limit: 3) }
    }

    @Test func readsAPrefix() throws {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write([1, 2, 3, 4, 5], named: "a", in: directory)
        #expect(try Files.readPrefix(path, count: 3) == [1, 2, 3])
        #expect(try Files.readPrefix(path, count: 16) == [1, 2, 3, 4, 5])
        #expect(throws: FileError.notAFile(path: directory)) { try Files.readPrefix(directory, count: 4) }
    }

    /// A pipe is read to its end, and refused once more than the limit has arrived; a regular
    /// file given as the stream is refused by its size, before any read.
    @Test func readsAStreamWithinItsLimit() throws {
        func piped(_ bytes: [UInt8], limit: Int) throws -> [UInt8] {
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            let writeEnd = ends[1]
            let writer = Thread {
                bytes.withUnsafeBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let written = write(writeEnd, buffer.baseAddress! + offset, buffer.count - offset)
                        if written <= 0 { break }  // the reader stopped early and closed its end
                        offset += written
                    }
                }
                close(writeEnd)
            }
            writer.start()
            defer { close(ends[0]) }
            return try Files.readStream(ends[0], name: "stdin", limit: limit)
        }
        signal(SIGPIPE, SIG_IGN)
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try piped(bytes, limit: 200_000) == bytes)
        #expect(try piped([], limit: 10) == [])
        #expect(throws: FileError.streamTooLarge(path: "stdin", limit: 199_999)) { try piped(bytes, limit: 199_999) }

        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write([1, 2, 3, 4], named: "a", in: directory)
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        #expect(throws: FileError.tooLarge(path: "stdin", size: 4, limit: 3)) { try Files.readStream(descriptor, name: "stdin", limit: 3) }
        #expect(try Files.readStream(descriptor, name: "stdin", limit: 4) == [1, 2, 3, 4])
    }

    /// A missing file's hint sends the user to scripts/fetch-mnist only for MNIST's files.
    @Test func aMissingFilesHintFitsTheFile() {
        #expect(FileError.notFound(path: "photo.png").hint == "check the path")
        #expect(FileError.notFound(path: "datasets/mnist/t10k-images-idx3-ubyte.gz").hint?.contains("scripts/fetch-mnist") == true)
    }

    /// `digits inspect FILE` tells the format from the first bytes and applies that format's
    /// limit before reading: a sparse file that starts as a PNG and is one byte over PNG's limit
    /// is refused unread (it used to be read whole, under IDX's far larger limit).
    @Test func describeChecksTheFormatsLimitBeforeReading() throws {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write(PNG.signature + [0, 0, 0, 13], named: "big.png", in: directory)
        #expect(truncate(path, off_t(PNG.maxFileBytes + 1)) == 0)
        #expect(throws: FileError.tooLarge(path: path, size: PNG.maxFileBytes + 1, limit: PNG.maxFileBytes)) {
            _ = try DataFile.describe(path)
        }
    }

    /// Replacing a file keeps its permission bits (it used to come back as 0644).
    @Test func atomicWriteKeepsPermissions() throws {
        let directory = TestFiles.scratchDirectory()
        let path = TestFiles.write([1, 2, 3], named: "private.safetensors", in: directory)
        #expect(chmod(path, 0o600) == 0)
        try Files.writeAtomically([4, 5], to: path)
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(status.st_mode & 0o7777 == 0o600)
        #expect(try Files.read(path, limit: 10) == [4, 5])
    }

    @Test func missingAndDirectory() {
        let directory = TestFiles.scratchDirectory()
        #expect(throws: FileError.notFound(path: "\(directory)/nope")) { try Files.read("\(directory)/nope", limit: 10) }
        #expect(throws: FileError.notAFile(path: directory)) { try Files.read(directory, limit: 10) }
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporary() throws {
        let directory = TestFiles.scratchDirectory()
        let path = "\(directory)/out.bin"
        try Files.writeAtomically([1, 2, 3], to: path)
        try Files.writeAtomically([4, 5], to: path)
        #expect(try Files.read(path, limit: 100) == [4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.bin"])
    }

    @Test func unwritableDirectoryIsAnError() {
        #expect(throws: FileError.self) { try Files.writeAtomically([1], to: "/nonexistent-dir/out.bin") }
    }
}
