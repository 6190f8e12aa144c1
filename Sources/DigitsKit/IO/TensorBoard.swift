// TensorBoard event files, written as TensorFlow writes them, so TensorBoard (and its
// EventAccumulator) reads a training run: a TFRecord file of `Event` protos, each record framed
// as [length: u64][masked CRC-32C of the length: u32][event][masked CRC-32C of the event: u32],
// little-endian. The first event names the file version; then scalars (`Summary.Value.
// simple_value`), histograms (`HistogramProto`), PNG images (`Summary.Image`) and text (a
// string tensor tagged for the text plugin), each with the wall time and the step.
import Foundation

/// Writes one TensorBoard event file for a training run, as TensorFlow does: scalars,
/// histograms, PNG images and Markdown text, each at a step with the wall time. Records are
/// written straight to the file, unbuffered, so TensorBoard shows a run while it is going on.
/// Methods throw `FileError.unwritable` when a record cannot be written.
public final class TensorBoardWriter {
    /// The event file, events.out.tfevents.TIME.HOST.digits as TensorBoard globs it.
    public let path: String
    private let handle: FileHandle

    /// Creates `directory` if needed and opens a new event file in it.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError.unwritable(path: directory, reason: "cannot create the log directory (\(error.localizedDescription))")
        }
        let host = ProcessInfo.processInfo.hostName.isEmpty ? "localhost" : ProcessInfo.processInfo.hostName
        path = "\(directory)/events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid()).digits"
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw FileError.unwritable(path: path, reason: "cannot create the event file")
        }
        self.handle = handle
        var event = Self.event(step: 0)
        event.string(3, "brain.Event:2")  // file_version
        try write(event)
    }

    deinit { try? handle.close() }

    /// Scalars at `step`, one Summary.Value each.
    public func scalars(_ values: [(tag: String, value: Double)], step: Int) throws {
        guard !values.isEmpty else { return }
        var summary = ProtobufMessage()
        for (tag, value) in values {
            var entry = ProtobufMessage()
            entry.string(1, tag)
            entry.float(2, Float(value))  // simple_value
            summary.message(1, entry)
        }
        try write(summary: summary, step: step)
    }

    /// A histogram of `values` at `step`: `buckets` equal-width buckets between their minimum and
    /// maximum (bucket_limit holds each right edge; the last is the maximum).
    public func histogram(_ tag: String, values: UnsafeBufferPointer<Float>, step: Int, buckets: Int = 30) throws {
        // A NaN anywhere (not only at the ends, which min and max would skip) has no bucket.
        guard buckets > 0, values.allSatisfy(\.isFinite), let low = values.min(), let high = values.max() else { return }
        var counts = [Double](repeating: 0, count: buckets)
        var sum = 0.0, squares = 0.0
        let width = Double(high - low) / Double(buckets)
        for value in values {
            let v = Double(value)
            sum += v
            squares += v * v
            let index = width > 0 ? min(Int((v - Double(low)) / width), buckets - 1) : buckets - 1
            counts[index] += 1
        }
        let limits = (1...buckets).map { $0 == buckets ? Double(high) : Double(low) + width * Double($0) }
        var histogram = ProtobufMessage()
        histogram.double(1, Double(low))
        histogram.double(2, Double(high))
        histogram.double(3, Double(values.count))
        histogram.double(4, sum)
        histogram.double(5, squares)
        histogram.packedDoubles(6, limits)
        histogram.packedDoubles(7, counts)
        var entry = ProtobufMessage()
        entry.string(1, tag)
        entry.message(5, histogram)  // histo
        var summary = ProtobufMessage()
        summary.message(1, entry)
        try write(summary: summary, step: step)
    }

    /// A PNG picture (its encoded bytes) at `step`.
    public func image(_ tag: String, png: [UInt8], width: Int, height: Int, channels: Int, step: Int) throws {
        var image = ProtobufMessage()
        image.integer(1, height)
        image.integer(2, width)
        image.integer(3, channels)  // colorspace: 1 gray, 3 RGB, 4 RGBA
        image.bytes(4, png)
        var entry = ProtobufMessage()
        entry.string(1, tag)
        entry.message(4, image)
        var summary = ProtobufMessage()
        summary.message(1, entry)
        try write(summary: summary, step: step)
    }

    /// Text (Markdown) at `step`, for TensorBoard's text plugin: a scalar string tensor whose
    /// metadata names the plugin.
    public func text(_ tag: String, _ text: String, step: Int) throws {
        var plugin = ProtobufMessage()
        plugin.string(1, "text")
        var metadata = ProtobufMessage()
        metadata.message(1, plugin)  // plugin_data
        var tensor = ProtobufMessage()
        tensor.integer(1, 7)  // dtype DT_STRING
        tensor.message(2, ProtobufMessage())  // tensor_shape: a scalar
        tensor.string(8, text)  // string_val
        var entry = ProtobufMessage()
        entry.string(1, tag)
        entry.message(9, metadata)
        entry.message(8, tensor)
        var summary = ProtobufMessage()
        summary.message(1, entry)
        try write(summary: summary, step: step)
    }

    private static func event(step: Int) -> ProtobufMessage {
        var event = ProtobufMessage()
        event.double(1, Date().timeIntervalSince1970)  // wall_time
        event.integer(2, step)
        return event
    }

    private func write(summary: ProtobufMessage, step: Int) throws {
        var event = Self.event(step: step)
        event.message(5, summary)
        try write(event)
    }

    /// One TFRecord: the length, its checksum, the event, its checksum.
    private func write(_ event: ProtobufMessage) throws {
        var length = [UInt8](repeating: 0, count: 8)
        withUnsafeBytes(of: UInt64(event.bytes.count).littleEndian) { length = Array($0) }
        var record = length
        Self.append(CRC32C.masked(length), to: &record)
        record += event.bytes
        Self.append(CRC32C.masked(event.bytes), to: &record)
        do {
            try handle.write(contentsOf: record)
        } catch {
            throw FileError.unwritable(path: path, reason: error.localizedDescription)
        }
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames records, and its
/// "masked" form, rotated and offset so a CRC stored in data does not checksum itself.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    static func masked(_ bytes: [UInt8]) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
