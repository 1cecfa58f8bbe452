extension Array where Element: BitwiseCopyable {
    /// A new array of `count` elements that `body` fills completely through raw memory, or the
    /// error `body` throws.
    ///
    /// `body` runs even for `count == 0` (with an empty buffer), and an empty result is built as
    /// `[]`: `init(unsafeUninitializedCapacity: 0)` writes the count into the shared empty-array
    /// storage, a benign race that ThreadSanitizer reports when threads load models at once.
    init<E: Error>(filling count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) {
        if count == 0 {
            try body(UnsafeMutableRawBufferPointer(start: nil, count: 0))
            self = []
            return
        }
        var failure: E?
        self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(E) {
                try body(UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
    }
}
