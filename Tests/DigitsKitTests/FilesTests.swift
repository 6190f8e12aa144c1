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
