/// A stream of bytes a `RecordReader` pulls from: a file descriptor, a gzip decoder over another
/// source, or memory.
///
/// Sources are classes because they own resources (a descriptor, a zlib stream) and are shared
/// by reference with the reader that consumes them; one source feeds one reader on one thread.
public protocol ByteSource: AnyObject {
    /// Copies up to `buffer.count` bytes (`buffer.count` >= 1) of the stream into `buffer` and
    /// returns how many. Returns 0 only at the end of the stream; may return fewer bytes than
    /// asked for at any time (a pipe, a slow producer).
    ///
    /// A source that hits an error after producing some bytes returns those bytes first and
    /// throws on the next call, so the records before the error are delivered.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int
}
