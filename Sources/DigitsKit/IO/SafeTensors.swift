// safetensors (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {dtype, shape, data_offsets} plus an optional "__metadata__"
// of string → string, then the tensors' bytes, little-endian, row-major, without holes.
// digits writes and reads F32 tensors; everything declared is checked against the file before
// anything is allocated.
import Foundation

/// Why bytes are not a safetensors file digits can read: F32 tensors that exactly tile the
/// data after a valid JSON header. Every case names the file.
public enum SafeTensorsError: DigitsError, Equatable {
    /// The file has `size` bytes, fewer than the 8 of the header length.
    case tooShort(path: String, size: Int)
    /// The header length in the first 8 bytes, `declared`, is more than the `available` bytes
    /// after them or more than `limit` (`SafeTensorsFile.maxHeaderBytes`).
    case headerLength(path: String, declared: UInt64, available: Int, limit: Int)
    /// The header is not a JSON object, or its `__metadata__` does not map strings to strings;
    /// `reason` says which.
    case badHeader(path: String, reason: String)
    /// Tensor `tensor` has a dtype other than `F32`, such as `F16` or `I64`: digits reads and
    /// writes 32-bit floats only.
    case unsupportedType(path: String, tensor: String, dtype: String)
    /// Tensor `tensor`'s header entry is unusable: fields missing, a negative dimension, or a
    /// shape that does not match its `data_offsets` or fit the data; `reason` says which.
    case badTensor(path: String, tensor: String, reason: String)
    /// The tensors do not tile the data exactly: two overlap, bytes between them are unused, or
    /// bytes follow the last one; `reason` says which.
    case layout(path: String, reason: String)

    public var message: String {
        switch self {
        case .tooShort(let path, let size):
            return "\(path): not a safetensors file: expected at least 8 bytes for the header length, found \(formatBytes(size))"
        case .headerLength(let path, let declared, let available, let limit):
            return "\(path): safetensors header length \(formatCount(declared)) exceeds \(declared > UInt64(limit) ? "the limit of \(formatBytes(limit))" : "the \(formatBytes(available)) after it")"
        case .badHeader(let path, let reason):
            return "\(path): invalid safetensors header: \(reason)"
        case .unsupportedType(let path, let tensor, let dtype):
            return "\(path): tensor \(tensor) has dtype \(dtype), expected F32"
        case .badTensor(let path, let tensor, let reason):
            return "\(path): tensor \(tensor): \(reason)"
        case .layout(let path, let reason):
            return "\(path): invalid safetensors data layout: \(reason)"
        }
    }

    public var hint: String? { "the checkpoint is damaged or not a digits checkpoint; train again or restore a copy" }
}

/// A safetensors file in memory: named F32 tensors plus string metadata, in the format of
/// Hugging Face's `safetensors` library, so PyTorch can load the tensors with it. digits keeps
/// its checkpoints and training states in it.
public struct SafeTensorsFile: Sendable {
    /// One tensor of the file: its name, shape and values.
    public struct Entry: Sendable {
        /// The tensor's key in the header; for model parameters PyTorch's spelling, such as
        /// `fc1.weight`.
        public var name: String
        /// The size of each dimension, outermost first, such as `[32, 1, 3, 3]`; empty for a
        /// scalar. Its product must equal `values.count`.
        public var shape: [Int]
        /// The elements, row-major (the last dimension changes fastest); stored as little-endian F32.
        public var values: [Float]
    }

    /// The header's `__metadata__`, string to string, left out of the file when empty. digits
    /// checkpoints hold `format`, `format_version` and `architecture` (JSON) here, and keys such as
    /// `test_accuracy`.
    public var metadata: [String: String]
    /// In file order.
    public var entries: [Entry]

    /// Headers larger than this are refused before being read: 100 MB.
    public static let maxHeaderBytes = 100_000_000

    /// A file with the given metadata and tensors, written in the order of `entries`. Shapes are
    /// not checked here: `encoded()` traps when one does not match its values.
    public init(metadata: [String: String] = [:], entries: [Entry] = []) {
        self.metadata = metadata
        self.entries = entries
    }

    /// The first entry with the given name, as `file["fc1.weight"]`, or nil when there is none.
    /// A linear search.
    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    // MARK: Writing

    /// The file's bytes. The JSON has sorted keys, so the same tensors and metadata always give
    /// the same bytes (checkpoints are compared bit for bit).
    public func encoded() -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for entry in entries {
            precondition(entry.shape.reduce(1, *) == entry.values.count, "\(entry.name): shape \(entry.shape) for \(entry.values.count) values")
            let size = entry.values.count * 4
            header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        // Strings, integers and arrays of integers only: JSONSerialization cannot refuse them.
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while (json.count % 8) != 0 { json.append(0x20) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json)
        for entry in entries {
            entry.values.withUnsafeBytes { bytes.append(contentsOf: $0) }  // x86 and ARM are little-endian
        }
        return bytes
    }

    /// Writes `encoded()` to `path` atomically: a temporary file, synced, then renamed over it.
    ///
    /// - Throws: `FileError.unwritable` when the file cannot be written; any old file is then left
    ///   as it was.
    public func write(to path: String) throws {
        try Files.writeAtomically(encoded(), to: path)
    }

    // MARK: Reading

    /// The largest safetensors file read by default: 1 GiB, far above any digits checkpoint.
    public static let maxFileBytes = 1 << 30

    /// Reads and decodes the safetensors file at `path`. Files over `maxFileBytes` (default
    /// 1 GiB) are refused before they are read.
    ///
    /// - Throws: `FileError` when the file cannot be read or is too large; `SafeTensorsError` as
    ///   `decode(_:path:)` throws it.
    public static func read(contentsOf path: String, maxFileBytes: Int = SafeTensorsFile.maxFileBytes) throws -> SafeTensorsFile {
        try decode(Files.read(path, limit: maxFileBytes), path: path)
    }

    /// Decodes safetensors bytes. Everything the header declares is checked against the data
    /// before anything is allocated: F32 dtypes only, shapes that match their `data_offsets`, and
    /// tensors that tile the data with no overlap, gap or trailing bytes. `path` only names the
    /// source in errors. Entries come back in the order of their data in the file.
    ///
    /// - Throws: `SafeTensorsError` for the first problem found.
    public static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
        guard bytes.count >= 8 else { throw SafeTensorsError.tooShort(path: path, size: bytes.count) }
        let declared = bytes.prefix(8).reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        let available = bytes.count - 8
        guard declared <= UInt64(available), declared <= UInt64(maxHeaderBytes) else {
            throw SafeTensorsError.headerLength(path: path, declared: declared, available: available, limit: maxHeaderBytes)
        }
        let headerEnd = 8 + Int(declared)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw SafeTensorsError.badHeader(path: path, reason: "not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw SafeTensorsError.badHeader(path: path, reason: "expected a JSON object")
        }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let strings = raw as? [String: String] else {
                throw SafeTensorsError.badHeader(path: path, reason: "__metadata__ must map strings to strings")
            }
            metadata = strings
        }

        let dataSize = bytes.count - headerEnd
        var spans: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw SafeTensorsError.badTensor(path: path, tensor: name, reason: "expected dtype, shape and two data_offsets")
            }
            guard dtype == "F32" else { throw SafeTensorsError.unsupportedType(path: path, tensor: name, dtype: dtype) }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.badTensor(path: path, tensor: name, reason: "negative dimension in shape \(shape)")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= dataSize else {
                    throw SafeTensorsError.badTensor(path: path, tensor: name, reason: "shape \(shape) needs more than the \(formatBytes(dataSize)) of data")
                }
                elements = product
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw SafeTensorsError.badTensor(path: path, tensor: name, reason: "data_offsets [\(begin), \(end)] outside the \(formatBytes(dataSize)) of data")
            }
            guard end - begin == elements * 4 else {
                throw SafeTensorsError.badTensor(path: path, tensor: name, reason: "shape \(shape) needs \(formatBytes(elements * 4)), data_offsets give \(formatBytes(end - begin))")
            }
            spans.append((name, shape, begin, end))
        }

        // The tensors must tile the data exactly: no overlaps, no holes, nothing after.
        spans.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        var cursor = 0
        for span in spans {
            guard span.begin == cursor else {
                throw SafeTensorsError.layout(path: path, reason: span.begin < cursor
                    ? "tensor \(span.name) overlaps the one before it" : "\(formatBytes(span.begin - cursor)) unused before tensor \(span.name)")
            }
            cursor = span.end
        }
        guard cursor == dataSize else {
            throw SafeTensorsError.layout(path: path, reason: "\(formatBytes(dataSize - cursor)) of data after the last tensor")
        }

        let entries = spans.map { span in
            let count = (span.end - span.begin) / 4
            let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    let source = raw.baseAddress! + headerEnd + span.begin
                    for index in 0..<count {
                        buffer[index] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                    }
                }
                initialized = count
            }
            return Entry(name: span.name, shape: span.shape, values: values)
        }
        return SafeTensorsFile(metadata: metadata, entries: entries)
    }
}
