/// Where `FileParser` reads a file's bytes: a buffer the caller holds, or an open regular file
/// read piece by piece with `pread`, so that loading a model never holds the whole file — only
/// the header and table, one bounded piece at a time, and the decoded sections.
enum FileSource {
    case memory(UnsafeRawBufferPointer)
    case file(FileIO.InputFile, length: Int)

    /// The file's length in bytes.
    var count: Int {
        switch self {
        case .memory(let bytes): bytes.count
        case .file(_, let length): length
        }
    }

    /// True when reads copy from a file, so what was checksummed may differ from what is read
    /// later if the file changes in between.
    var isFile: Bool {
        if case .file = self { return true }
        return false
    }

    /// Copies the bytes at `offset ..< offset + destination.count` into `destination`.
    /// - Precondition: the range lies inside `0 ..< count`.
    func read(at offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(FFFError) {
        switch self {
        case .memory(let bytes):
            guard destination.count > 0 else { return }
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + destination.count]))
        case .file(let file, _):
            try file.read(at: offset, into: destination)
        }
    }

    /// The bytes at `offset ..< offset + count` as a new array; for the few small fields read
    /// outside the header and table (padding, a frame header).
    func bytes(at offset: Int, count: Int) throws(FFFError) -> [UInt8] {
        try [UInt8](filling: count) { buffer throws(FFFError) in try read(at: offset, into: buffer) }
    }

    /// Calls `body` with the bytes at `offset ..< offset + count` in order, in pieces of at most
    /// `piece.count` bytes read into `piece` (one piece without copying for a buffer in memory).
    /// `body`'s second argument is true for the last piece.
    func forEachPiece(at offset: Int, count: Int, through piece: UnsafeMutableRawBufferPointer,
                      _ body: (UnsafeRawBufferPointer, Bool) throws(FFFError) -> Void) throws(FFFError) {
        switch self {
        case .memory(let bytes):
            try body(UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count]), true)
        case .file(let file, _):
            var done = 0
            repeat {
                let n = min(piece.count, count - done)
                let target = UnsafeMutableRawBufferPointer(rebasing: piece[0 ..< n])
                try file.read(at: offset + done, into: target)
                done += n
                try body(UnsafeRawBufferPointer(target), done == count)
            } while done < count
        }
    }
}
