extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for a body that throws `FFFError` (the standard one is untyped `rethrows`).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(FFFError) -> R) throws(FFFError) -> R {
        let result: Result<R, FFFError> = withUnsafeBytes { buffer in
            Result { () throws(FFFError) in try body(buffer) }
        }
        return try result.get()
    }
}
