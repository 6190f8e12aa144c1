// IDX, the file format of MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
//   magic   = 0x00 0x00 <element type> <number of dimensions>
//   sizes   = one big-endian UInt32 per dimension
//   data    = the elements, big-endian, row-major (the last dimension changes fastest)
// Files may be gzip-compressed; that is detected from the content, not the name.

/// The element types of the IDX format, keyed by their type byte.
public enum IDXElementType: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    /// Unsigned 8-bit integers (type byte 0x08): MNIST's images and labels.
    case ubyte = 0x08
    /// Signed 8-bit integers (type byte 0x09).
    case byte = 0x09
    /// Signed 16-bit integers, big-endian on disk (type byte 0x0B).
    case short = 0x0B
    /// Signed 32-bit integers, big-endian on disk (type byte 0x0C).
    case int = 0x0C
    /// 32-bit IEEE 754 floats, big-endian on disk (type byte 0x0D).
    case float = 0x0D
    /// 64-bit IEEE 754 floats, big-endian on disk (type byte 0x0E).
    case double = 0x0E

    /// Bytes per element on disk.
    public var width: Int {
        switch self {
        case .ubyte, .byte: return 1
        case .short: return 2
        case .int, .float: return 4
        case .double: return 8
        }
    }

    public var description: String {
        switch self {
        case .ubyte: return "ubyte"
        case .byte: return "byte"
        case .short: return "short"
        case .int: return "int"
        case .float: return "float"
        case .double: return "double"
        }
    }
}

/// The elements of an IDX array, in native byte order.
public enum IDXValues: Equatable, Sendable {
    /// Elements of type `ubyte`, as unsigned bytes: pixels 0–255 or labels.
    case ubyte([UInt8])
    /// Elements of type `byte`, as signed bytes.
    case byte([Int8])
    /// Elements of type `short`, as 16-bit integers.
    case short([Int16])
    /// Elements of type `int`, as 32-bit integers.
    case int([Int32])
    /// Elements of type `float`, as 32-bit floats.
    case float([Float])
    /// Elements of type `double`, as 64-bit floats.
    case double([Double])

    /// The IDX element type that matches this case, written into the file's header.
    public var elementType: IDXElementType {
        switch self {
        case .ubyte: return .ubyte
        case .byte: return .byte
        case .short: return .short
        case .int: return .int
        case .float: return .float
        case .double: return .double
        }
    }

    /// Number of elements (the product of the array's shape), not bytes.
    public var count: Int {
        switch self {
        case .ubyte(let values): return values.count
        case .byte(let values): return values.count
        case .short(let values): return values.count
        case .int(let values): return values.count
        case .float(let values): return values.count
        case .double(let values): return values.count
        }
    }
}

/// Limits a reader enforces, from the header, before it allocates.
public struct IDXLimits: Sendable {
    /// Largest payload accepted, in bytes. Default 4 GiB: every public IDX dataset
    /// (MNIST 47 MB, EMNIST byclass 550 MB) fits many times over.
    public var maxPayloadBytes: Int
    /// Largest file read from disk, compressed or not.
    public var maxFileBytes: Int

    /// Limits in bytes; the defaults, 4 GiB each, are those of `IDXLimits.standard`.
    public init(maxPayloadBytes: Int = 4 << 30, maxFileBytes: Int = 4 << 30) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFileBytes = maxFileBytes
    }

    /// The default limits: 4 GiB of payload and 4 GiB of file.
    public static let standard = IDXLimits()
}

/// Why bytes could not be decoded as an IDX array. Every case names the file. The header is
/// checked in full (magic, type, sizes, limits, what the file can hold) before the payload is
/// allocated.
public enum IDXError: DigitsError, Equatable {
    /// Fewer bytes than the magic number and the dimension sizes need.
    case headerTruncated(path: String, expected: Int, found: Int)
    /// The first two bytes are not zero: not an IDX file.
    case badMagic(path: String, found: [UInt8])
    /// The third magic byte, `typeByte`, is not one of the element types in `IDXElementType`.
    case unsupportedType(path: String, typeByte: UInt8)
    /// The header declares zero dimensions; an IDX array has at least one.
    case noDimensions(path: String)
    /// The product of the dimensions (times the element width) does not fit in 64 bits.
    case dimensionsOverflow(path: String, shape: [Int])
    /// The payload the header declares, `declaredBytes` (element width times the product of
    /// `shape`), is over `IDXLimits.maxPayloadBytes`, given as `limit`.
    case overLimit(path: String, shape: [Int], type: IDXElementType, declaredBytes: Int, limit: Int)
    /// A compressed file too small to possibly hold the declared data.
    case exceedsData(path: String, shape: [Int], type: IDXElementType, declaredBytes: Int, fileBytes: Int, maximumBytes: Int)
    /// The data ends before the payload the header declares: `foundBytes` of `expectedBytes`.
    /// For gzip files, the decompressed bytes are counted.
    case truncatedData(path: String, shape: [Int], type: IDXElementType, expectedBytes: Int, foundBytes: Int)
    /// `extraBytes` bytes follow the `expectedBytes` of payload. They are refused rather than
    /// ignored: they mean a damaged file or a header that declares the wrong shape.
    case trailingBytes(path: String, shape: [Int], type: IDXElementType, expectedBytes: Int, extraBytes: Int)

    public var message: String {
        switch self {
        case .headerTruncated(let path, let expected, let found):
            return "\(path): truncated IDX header: expected at least \(formatBytes(expected)), found \(formatBytes(found))"
        case .badMagic(let path, let found):
            let hex = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            return "\(path): not an IDX file: expected magic 00 00 <type> <dims>, found \(hex)"
        case .unsupportedType(let path, let typeByte):
            let known = IDXElementType.allCases.map { "0x" + String($0.rawValue, radix: 16).leftPadded(to: 2) }
            return "\(path): unsupported IDX element type 0x\(String(typeByte, radix: 16).leftPadded(to: 2)), expected one of \(known.joined(separator: ", "))"
        case .noDimensions(let path):
            return "\(path): IDX header declares 0 dimensions, expected at least 1"
        case .dimensionsOverflow(let path, let shape):
            return "\(path): IDX dimensions \(formatShape(shape)) overflow: their product does not fit in 64 bits"
        case .overLimit(let path, let shape, let type, let declared, let limit):
            return "\(path): IDX header declares \(formatShape(shape)) \(type) = \(formatBytes(declared)), over the limit of \(formatBytes(limit))"
        case .exceedsData(let path, let shape, let type, let declared, let fileBytes, let maximum):
            return "\(path): IDX header declares \(formatShape(shape)) \(type) = \(formatBytes(declared)), but a gzip file of \(formatBytes(fileBytes)) can hold at most \(formatBytes(maximum))"
        case .truncatedData(let path, let shape, let type, let expected, let found):
            return "\(path): truncated IDX data: \(formatShape(shape)) \(type) needs \(formatBytes(expected)), found \(formatBytes(found))"
        case .trailingBytes(let path, let shape, let type, let expected, let extra):
            return "\(path): \(formatBytes(extra)) of trailing data after the \(formatBytes(expected)) that \(formatShape(shape)) \(type) needs"
        }
    }

    public var hint: String? {
        switch self {
        case .badMagic, .unsupportedType, .noDimensions:
            return "pass an IDX file such as train-images-idx3-ubyte.gz (scripts/fetch-mnist downloads MNIST)"
        case .headerTruncated, .truncatedData, .trailingBytes:
            return "the file is damaged or incomplete; fetch it again (scripts/fetch-mnist)"
        case .dimensionsOverflow, .overLimit, .exceedsData:
            return "the header is corrupt; fetch the file again (scripts/fetch-mnist)"
        }
    }
}

/// An n-dimensional array read from or written to an IDX file.
public struct IDXArray: Equatable, Sendable {
    /// The size of each dimension, outermost first, such as `[60000, 28, 28]` for MNIST's
    /// training images or `[60000]` for its labels; 1 to 255 dimensions.
    public let shape: [Int]
    /// The elements, row-major (the last dimension changes fastest), in native byte order; their
    /// count is the product of `shape`.
    public let values: IDXValues

    /// - Precondition: the product of `shape` equals the number of values.
    public init(shape: [Int], values: IDXValues) {
        precondition(!shape.isEmpty && shape.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) },
                     "IDX shape \(shape) needs 1 to 255 dimensions, each 0...\(UInt32.max)")
        precondition(shape.count <= 255, "IDX allows at most 255 dimensions, got \(shape.count)")
        precondition(shape.reduce(1, *) == values.count,
                     "IDX shape \(formatShape(shape)) holds \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        self.values = values
    }

    /// The element type of `values`, written into the header's magic number.
    public var elementType: IDXElementType { values.elementType }

    // MARK: Reading

    /// Reads an IDX file, raw or gzip-compressed.
    public static func read(contentsOf path: String, limits: IDXLimits = .standard) throws -> IDXArray {
        let bytes = try Files.read(path, limit: limits.maxFileBytes)
        return try decode(bytes, path: path, limits: limits)
    }

    /// Decodes IDX bytes, raw or gzip-compressed. `path` names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String, limits: IDXLimits = .standard) throws -> IDXArray {
        try bytes.withUnsafeBytes { buffer in
            if Gzip.isGzip(buffer) {
                let inflater = try GzipInflater(input: buffer, path: path)
                var source = InflatingSource(inflater: inflater, fileBytes: buffer.count)
                return try decode(from: &source, path: path, limits: limits)
            } else {
                var source = MemorySource(bytes: buffer)
                return try decode(from: &source, path: path, limits: limits)
            }
        }
    }

    private static func decode(from source: inout some IDXByteSource, path: String, limits: IDXLimits) throws -> IDXArray {
        // Magic: 00 00 type ndims.
        var magic = [UInt8](repeating: 0, count: 4)
        let magicRead = try source.read(into: &magic)
        guard magicRead == 4 else {
            throw IDXError.headerTruncated(path: path, expected: 4, found: magicRead)
        }
        guard magic[0] == 0, magic[1] == 0 else { throw IDXError.badMagic(path: path, found: magic) }
        guard let type = IDXElementType(rawValue: magic[2]) else {
            throw IDXError.unsupportedType(path: path, typeByte: magic[2])
        }
        let rank = Int(magic[3])
        guard rank > 0 else { throw IDXError.noDimensions(path: path) }

        // Sizes: rank big-endian UInt32s.
        var sizeBytes = [UInt8](repeating: 0, count: 4 * rank)
        let sizesRead = try source.read(into: &sizeBytes)
        guard sizesRead == sizeBytes.count else {
            throw IDXError.headerTruncated(path: path, expected: 4 + 4 * rank, found: 4 + sizesRead)
        }
        let shape = (0..<rank).map { index in
            sizeBytes[4 * index..<4 * index + 4].reduce(0) { ($0 << 8) | Int($1) }
        }

        // Declared size, checked for overflow, against the limit and against what the
        // source can hold, all before the payload is allocated.
        var declared = type.width
        for size in shape {
            let (product, overflow) = declared.multipliedReportingOverflow(by: size)
            guard !overflow else { throw IDXError.dimensionsOverflow(path: path, shape: shape) }
            declared = product
        }
        try source.checkCanHold(declared, shape: shape, type: type, path: path)
        guard declared <= limits.maxPayloadBytes else {
            throw IDXError.overLimit(path: path, shape: shape, type: type, declaredBytes: declared, limit: limits.maxPayloadBytes)
        }

        // Payload.
        // Left uninitialized: the read below overwrites every byte, or the decode throws.
        var payload = [UInt8](unsafeUninitializedCapacity: declared) { _, initialized in initialized = declared }
        let payloadRead: Int
        do {
            payloadRead = try source.read(into: &payload)
        } catch let GzipError.truncated(_, produced) {
            let found = produced - 4 - 4 * rank
            throw IDXError.truncatedData(path: path, shape: shape, type: type, expectedBytes: declared, foundBytes: found)
        }
        guard payloadRead == declared else {
            throw IDXError.truncatedData(path: path, shape: shape, type: type, expectedBytes: declared, foundBytes: payloadRead)
        }
        let extra = try source.remainingBytes()
        guard extra == 0 else {
            throw IDXError.trailingBytes(path: path, shape: shape, type: type, expectedBytes: declared, extraBytes: extra)
        }
        return IDXArray(shape: shape, values: convert(payload, to: type))
    }

    /// Big-endian bytes to native values. ubyte is the payload itself, without a copy.
    private static func convert(_ payload: [UInt8], to type: IDXElementType) -> IDXValues {
        switch type {
        case .ubyte: return .ubyte(payload)
        case .byte: return .byte(payload.map { Int8(bitPattern: $0) })
        case .short: return .short(bigEndian(payload, as: UInt16.self).map { Int16(bitPattern: $0) })
        case .int: return .int(bigEndian(payload, as: UInt32.self).map { Int32(bitPattern: $0) })
        case .float: return .float(bigEndian(payload, as: UInt32.self).map { Float(bitPattern: $0) })
        case .double: return .double(bigEndian(payload, as: UInt64.self).map { Double(bitPattern: $0) })
        }
    }

    private static func bigEndian<T: FixedWidthInteger>(_ payload: [UInt8], as: T.Type) -> [T] {
        let count = payload.count / MemoryLayout<T>.size
        return payload.withUnsafeBytes { raw in
            (0..<count).map { T(bigEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
    }

    // MARK: Writing

    /// The IDX encoding: header, then big-endian elements.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [0, 0, elementType.rawValue, UInt8(shape.count)]
        bytes.reserveCapacity(4 + 4 * shape.count + values.count * elementType.width)
        for size in shape { appendBigEndian(UInt32(size), to: &bytes) }
        switch values {
        case .ubyte(let values): bytes.append(contentsOf: values)
        case .byte(let values): bytes.append(contentsOf: values.map { UInt8(bitPattern: $0) })
        case .short(let values): values.forEach { appendBigEndian(UInt16(bitPattern: $0), to: &bytes) }
        case .int(let values): values.forEach { appendBigEndian(UInt32(bitPattern: $0), to: &bytes) }
        case .float(let values): values.forEach { appendBigEndian($0.bitPattern, to: &bytes) }
        case .double(let values): values.forEach { appendBigEndian($0.bitPattern, to: &bytes) }
        }
        return bytes
    }

    /// Writes the array atomically, gzip-compressed when `compressed` is true.
    public func write(to path: String, compressed: Bool) throws {
        let bytes = encoded()
        try Files.writeAtomically(compressed ? Gzip.compress(bytes) : bytes, to: path)
    }
}

private func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
}

extension String {
    /// At least `width` characters, `pad` added on the left: "7" → "07".
    package func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

// MARK: Byte sources

/// Where the IDX bytes come from: memory, or a gzip stream decompressed as it is read.
private protocol IDXByteSource {
    /// Fills `buffer` unless the data ends first; returns the bytes written.
    mutating func read(into buffer: inout [UInt8]) throws -> Int
    /// Throws when the source cannot possibly hold `bytes` more bytes.
    func checkCanHold(_ bytes: Int, shape: [Int], type: IDXElementType, path: String) throws
    /// Bytes left after the payload (0 for a well-formed file).
    mutating func remainingBytes() throws -> Int
}

private struct MemorySource: IDXByteSource {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    mutating func read(into buffer: inout [UInt8]) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        buffer.withUnsafeMutableBytes { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
        }
        offset += count
        return count
    }

    func checkCanHold(_ declared: Int, shape: [Int], type: IDXElementType, path: String) throws {
        let available = bytes.count - offset
        guard declared <= available else {
            throw IDXError.truncatedData(path: path, shape: shape, type: type, expectedBytes: declared, foundBytes: available)
        }
    }

    mutating func remainingBytes() throws -> Int { bytes.count - offset }
}

private struct InflatingSource: IDXByteSource {
    let inflater: GzipInflater
    let fileBytes: Int

    mutating func read(into buffer: inout [UInt8]) throws -> Int {
        try buffer.withUnsafeMutableBytes { try inflater.read(into: $0) }
    }

    func checkCanHold(_ declared: Int, shape: [Int], type: IDXElementType, path: String) throws {
        let maximum = Gzip.maximumDecompressedSize(compressedBytes: fileBytes)
        guard declared <= maximum - inflater.produced else {
            throw IDXError.exceedsData(path: path, shape: shape, type: type, declaredBytes: declared,
                                       fileBytes: fileBytes, maximumBytes: maximum - inflater.produced)
        }
    }

    mutating func remainingBytes() throws -> Int {
        try inflater.drain(limit: 1 << 30)
    }
}
