// Whole-file reads with a size limit checked before allocating, and atomic writes
// (temporary file in the same directory, fsync, rename) so a crash never leaves a torn file.
import Foundation

/// Why a whole-file read or an atomic write failed. Every case names the path.
public enum FileError: DigitsError, Equatable {
    /// Nothing exists at `path`, or one of the directories on the way is missing.
    case notFound(path: String)
    /// `path` exists but is a directory or special file, not a regular file.
    case notAFile(path: String)
    /// The file could not be opened, examined or read; `reason` is the system's error text, such
    /// as `Permission denied`.
    case unreadable(path: String, reason: String)
    /// The file is `size` bytes, more than the caller's `limit`; refused before any buffer is
    /// allocated.
    case tooLarge(path: String, size: Int, limit: Int)
    /// More than `limit` bytes arrived on a stream (a pipe, standard input), whose size is not
    /// known in advance; refused once the limit is passed, before reading on.
    case streamTooLarge(path: String, limit: Int)
    /// The file ended after `found` bytes although its size was `expected` when it was opened:
    /// something truncated it during the read.
    case changedWhileReading(path: String, expected: Int, found: Int)
    /// The file, or a directory for it, could not be created, written, synced or renamed into
    /// place; `reason` says why. After a failed atomic write the old file, if any, is unchanged.
    case unwritable(path: String, reason: String)

    public var message: String {
        switch self {
        case .notFound(let path):
            return "\(path): no such file"
        case .notAFile(let path):
            return "\(path): is a directory or special file, expected a regular file"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .tooLarge(let path, let size, let limit):
            return "\(path): file is \(formatBytes(size)), over the limit of \(formatBytes(limit))"
        case .streamTooLarge(let path, let limit):
            return "\(path): more than \(formatBytes(limit)) arrived, over the limit"
        case .changedWhileReading(let path, let expected, let found):
            return "\(path): file changed while being read (expected \(formatBytes(expected)), read \(formatBytes(found)))"
        case .unwritable(let path, let reason):
            return "\(path): cannot be written: \(reason)"
        }
    }

    public var hint: String? {
        switch self {
        case .notFound(let path):
            // MNIST's files are the ones a fresh clone lacks.
            return path.contains("-ubyte") ? "check the path; for MNIST run scripts/fetch-mnist" : "check the path"
        case .notAFile: return "pass the path of a file"
        case .unreadable: return "check the file's permissions"
        case .tooLarge, .streamTooLarge: return "this is not the kind of file digits expects"
        case .changedWhileReading: return "try again once nothing else writes the file"
        case .unwritable: return "check that the directory exists, is writable and has free space"
        }
    }
}

@_spi(Tools) public enum Files {
    /// Reads a whole regular file. The size comes from fstat and is checked against `limit`
    /// before any buffer is allocated.
    public static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let (descriptor, size) = try openRegularFile(path)
        defer { close(descriptor) }
        guard size <= limit else { throw FileError.tooLarge(path: path, size: size, limit: limit) }

        var readError: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = 0
            while offset < size {
                let result = Glibc.read(descriptor, buffer.baseAddress! + offset, size - offset)
                if result < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    break
                }
                if result == 0 { break }
                offset += result
            }
            initialized = offset
        }
        if readError != 0 {
            throw FileError.unreadable(path: path, reason: String(cString: strerror(readError)))
        }
        guard bytes.count == size else {
            throw FileError.changedWhileReading(path: path, expected: size, found: bytes.count)
        }
        return bytes
    }

    /// Everything a stream (a pipe, standard input) holds until its end, `name` naming it in
    /// errors. A pipe's size is not known in advance, so it is read in blocks and refused as
    /// soon as more than `limit` bytes have arrived; a regular file's size is checked first.
    public static func readStream(_ descriptor: Int32, name: String, limit: Int) throws -> [UInt8] {
        // A file redirected in (`< photo.jpg`) has a size to check before reading.
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) > limit {
            throw FileError.tooLarge(path: name, size: Int(status.st_size), limit: limit)
        }
        var bytes: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let result = block.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileError.unreadable(path: name, reason: String(cString: strerror(errno)))
            }
            if result == 0 { return bytes }
            guard bytes.count + result <= limit else { throw FileError.streamTooLarge(path: name, limit: limit) }
            bytes += block[..<result]
        }
    }

    /// The first `count` bytes of a regular file (fewer when it is shorter): enough to tell its
    /// format before deciding how much of it may be read.
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        let (descriptor, _) = try openRegularFile(path)
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let result = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, count - offset) }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if result == 0 { break }
            offset += result
        }
        return Array(bytes[..<offset])
    }

    /// Opens `path` for reading and returns its descriptor (the caller closes it) and size;
    /// refuses a missing path or anything but a regular file.
    private static func openRegularFile(_ path: String) throws -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw FileError.notFound(path: path) }
            throw FileError.unreadable(path: path, reason: String(cString: strerror(code)))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw FileError.unreadable(path: path, reason: reason)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw FileError.notAFile(path: path)
        }
        return (descriptor, Int(status.st_size))
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it is written and synced,
    /// then renamed over `path`, and the directory synced. Readers see the old file or the new
    /// one, never a partial one, whenever the process is killed (or the disk fills up).
    /// Temporary files left by killed writers (whose process is gone) are removed on the way.
    /// A replaced file keeps its permission bits; a new one gets 0644 less the umask.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let folder = directory.isEmpty ? "." : directory
        let temporary = folder + "/.\(name).tmp-\(getpid())"
        removeAbandonedTemporaries(of: name, in: folder)

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        var failure: Int32 = 0
        // A file that is replaced keeps its permissions (a checkpoint made private stays so).
        var existing = stat()
        if stat(path, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFREG, fchmod(descriptor, existing.st_mode & 0o7777) != 0 {
            failure = errno
        }
        let contiguous = Array(bytes)
        contiguous.withUnsafeBytes { buffer in
            var offset = 0
            while failure == 0 && offset < buffer.count {
                let result = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += result
            }
        }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw FileError.unwritable(path: path, reason: String(cString: strerror(failure)))
        }
        // The rename itself reaches the disk when the directory is synced.
        let directoryDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Deletes `.NAME.tmp-PID` files in `folder` whose process no longer exists.
    private static func removeAbandonedTemporaries(of name: String, in folder: String) {
        let prefix = ".\(name).tmp-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + entry) }
        }
    }
}
