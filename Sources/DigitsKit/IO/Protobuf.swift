// The few pieces of the protobuf wire format that ONNX files and TensorBoard event files need,
// written by hand: varints, length-delimited fields (strings, bytes, nested messages), 32- and
// 64-bit floats, packed repeated int64 and double. A writer only: nothing here parses untrusted
// bytes. (swift-protobuf would generate a 9,000-line onnx.pb.swift and a plugin build of
// minutes for the dozen messages used.)

/// A message being encoded: append fields in any order, then take `bytes`.
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private enum WireType: UInt64 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    private mutating func key(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | type.rawValue)
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// An int32, int64 or enum field. Negative values take ten bytes, as protobuf's int64 does.
    mutating func integer(_ field: Int, _ value: Int) {
        key(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A repeated double field, packed.
    mutating func packedDoubles(_ field: Int, _ values: [Double]) {
        var run: [UInt8] = []
        run.reserveCapacity(values.count * 8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { run.append(contentsOf: $0) } }
        bytes(field, run)
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtobufMessage) { bytes(field, value.bytes) }

    /// A repeated int64 field, packed (one length-delimited run of varints).
    mutating func packedIntegers(_ field: Int, _ values: [Int]) {
        var run = ProtobufMessage()
        for value in values { run.varint(UInt64(bitPattern: Int64(value))) }
        bytes(field, run.bytes)
    }
}
