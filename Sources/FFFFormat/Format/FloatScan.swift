/// Fast scans over float arrays, shared by the reader and `FFFModel`'s validation.
enum FloatScan {
    /// Index of the first NaN or infinity, or `nil`.
    ///
    /// Branch-free over blocks of 1024 values so the compiler vectorizes it: an all-ones exponent
    /// plus one exponent step carries into bit 31, which no finite value does. Only a block that
    /// contains a non-finite value is searched element by element.
    /// - Complexity: O(`values.count`).
    static func firstNonFinite(_ values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { buffer in
            let block = 1024
            var start = 0
            while start < buffer.count {
                let end = min(start + block, buffer.count)
                var flags: UInt32 = 0
                for i in start..<end {
                    flags |= (buffer[i].bitPattern & 0x7F80_0000) &+ 0x0080_0000
                }
                if flags & 0x8000_0000 != 0 {
                    return (start..<end).first(where: { !buffer[$0].isFinite })
                }
                start = end
            }
            return nil
        }
    }
}
