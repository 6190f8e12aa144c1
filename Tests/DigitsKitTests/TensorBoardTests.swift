// TensorBoard event files: CRC-32C against its standard check value, and a file written by
// TensorBoardWriter read back record by record (framing, checksums, the Event and Summary
// fields). TensorBoard's own reader checks real runs in e2e (scripts/check-tensorboard.py).
import Foundation
import Testing
@_spi(Tools) @testable import DigitsKit

@Suite struct TensorBoardTests {
    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    /// The records of an event file, each checked against its two masked checksums.
    static func records(_ data: [UInt8]) -> [[UInt8]] {
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[at + $1]) << (8 * $1) } }
        var records: [[UInt8]] = [], position = 0
        while position < data.count {
            let lengthBytes = Array(data[position..<position + 8])
            let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(lengthBytes[$1]) << (8 * $1) })
            #expect(u32(position + 8) == CRC32C.masked(lengthBytes))
            let payload = Array(data[position + 12..<position + 12 + length])
            #expect(u32(position + 12 + length) == CRC32C.masked(payload))
            records.append(payload)
            position += 16 + length
        }
        return records
    }

    /// A NaN inside the values (which min and max skip) writes no histogram instead of trapping.
    @Test func histogramOfNonFiniteValuesIsSkipped() throws {
        let directory = TestFiles.scratchDirectory()
        let writer = try TensorBoardWriter(directory: "\(directory)/run")
        let values: [Float] = [1, .nan, 2, .infinity, 3]
        try values.withUnsafeBufferPointer { try writer.histogram("weights/w", values: $0, step: 1) }
        try values.withUnsafeBufferPointer { try writer.histogram("weights/w", values: UnsafeBufferPointer(rebasing: $0[2..<3]), step: 1, buckets: 0) }
        // Only the file's first record, its version, is there.
        #expect(Self.records(Array(try Data(contentsOf: URL(fileURLWithPath: writer.path)))).count == 1)
    }

    @Test func eventFileRecords() throws {
        let directory = TestFiles.scratchDirectory()
        let writer = try TensorBoardWriter(directory: "\(directory)/run")
        try writer.scalars([("train/loss", 0.25), ("val/accuracy", 0.875)], step: 3)
        let values: [Float] = [-1, 0, 0.5, 1, 1]
        try values.withUnsafeBufferPointer { try writer.histogram("weights/fc1.weight", values: $0, step: 3, buckets: 4) }
        try writer.text("options", "| a | b |", step: 0)
        let name = (writer.path as NSString).lastPathComponent
        #expect(name.hasPrefix("events.out.tfevents."))
        let records = Self.records(Array(try Data(contentsOf: URL(fileURLWithPath: writer.path))))
        #expect(records.count == 4)
        #expect(wireFields(records[0]).first { $0.number == 3 }?.string == "brain.Event:2")

        let scalarEvent = wireFields(records[1])
        #expect(scalarEvent.first { $0.number == 2 }?.varint == 3)
        let entries = wireFields(scalarEvent.first { $0.number == 5 }!.bytes!).map { wireFields($0.bytes!) }
        #expect(entries.map { $0.first { $0.number == 1 }!.string } == ["train/loss", "val/accuracy"])
        #expect(entries.map { Float(bitPattern: $0.first { $0.number == 2 }!.fixed32!) } == [0.25, 0.875])

        // The histogram: min −1, max 1, 5 values in 4 buckets of width 0.5: [−1, −0.5): 1,
        // [−0.5, 0): 0, [0, 0.5): 1, [0.5, 1]: 3.
        let histogramEntry = wireFields(wireFields(wireFields(records[2]).first { $0.number == 5 }!.bytes!)[0].bytes!)
        let histogram = wireFields(histogramEntry.first { $0.number == 5 }!.bytes!)
        func doubles(_ field: Int) -> [Double] {
            let raw = histogram.first { $0.number == field }!.bytes!
            return stride(from: 0, to: raw.count, by: 8).map { offset in
                Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(raw[offset + $1]) << (8 * $1) })
            }
        }
        #expect(doubles(6) == [-0.5, 0, 0.5, 1])
        #expect(doubles(7) == [1, 0, 1, 3])
    }
}
