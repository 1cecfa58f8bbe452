/// A netpbm greyscale image: binary `P5` (1 byte per sample when maxval < 256, else 2 bytes
/// big-endian) or plain `P2` (decimal samples). Samples are kept raw, not scaled by maxval.
struct PGMImage: Equatable {
    let width: Int
    let height: Int
    let maxValue: Int
    /// Row-major samples, `width * height` of them.
    let pixels: [Float]

    /// Whether `bytes` start with `P5` or `P2` and a blank (or `#` comment).
    static func looksLikePGM(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 3 && bytes[0] == UInt8(ascii: "P") && (bytes[1] == UInt8(ascii: "5") || bytes[1] == UInt8(ascii: "2"))
            && (isSpace(bytes[2]) || bytes[2] == UInt8(ascii: "#"))
    }

    /// Parses a whole file holding one image. Throws `.badHeader` for a malformed header, zero
    /// or huge dimensions, or maxval outside 1...65535; `.truncated` for missing samples;
    /// `.trailingData` for bytes after the image; `.notANumber` for a sample above maxval or
    /// not a number (P2). O(file size).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RecordError) -> PGMImage {
        guard looksLikePGM(bytes) else {
            throw RecordError(.badHeader, "not a PGM image: it does not start with P5 or P2", byteOffset: 0)
        }
        let plain = bytes[1] == UInt8(ascii: "2")
        var i = 2
        func number(_ what: String, limit: Int) throws(RecordError) -> Int {
            skipSpaceAndComments(bytes, &i)
            let start = i
            var value = 0
            while i < bytes.count, bytes[i] &- 0x30 <= 9 {
                value = value * 10 + Int(bytes[i] - 0x30)
                if value > limit {
                    throw RecordError(.badHeader, "the PGM \(what) at byte \(start) is larger than \(limit)", byteOffset: start)
                }
                i += 1
            }
            if i == start {
                throw RecordError(i == bytes.count ? .truncated : .badHeader,
                                  "the PGM header has no \(what) at byte \(start)", byteOffset: start)
            }
            return value
        }
        let width = try number("width", limit: 1 << 20)
        let height = try number("height", limit: 1 << 20)
        let maxValue = try number("maxval", limit: 65535)
        if width == 0 || height == 0 {
            throw RecordError(.badHeader, "the PGM image is \(width)x\(height): it has no pixels")
        }
        if maxValue == 0 { throw RecordError(.badHeader, "the PGM maxval is 0; it must be 1...65535") }
        let count = width * height
        if count > IDXHeader.maxRecordWidth {
            throw RecordError(.badHeader, "the PGM image is \(width)x\(height): more than \(IDXHeader.maxRecordWidth) pixels")
        }
        var pixels = [Float](repeating: 0, count: count)
        if plain {
            for k in 0..<count {
                skipSpaceAndComments(bytes, &i)
                let start = i
                if i == bytes.count {
                    throw RecordError(.truncated, "the PGM image ends after \(k) of its \(count) samples", byteOffset: i)
                }
                var value = 0
                while i < bytes.count, bytes[i] &- 0x30 <= 9 {
                    value = min(value * 10 + Int(bytes[i] - 0x30), 1 << 20)
                    i += 1
                }
                if i == start || (i < bytes.count && !isSpace(bytes[i]) && bytes[i] != UInt8(ascii: "#")) {
                    throw RecordError(.notANumber, "PGM sample \(k + 1) at byte \(start) is not a decimal integer",
                                      column: k + 1, byteOffset: start)
                }
                try check(value, k, start, maxValue)
                pixels[k] = Float(value)
            }
            skipSpaceAndComments(bytes, &i)
        } else {
            // Exactly one blank byte separates maxval from the raster.
            guard i < bytes.count, isSpace(bytes[i]) else {
                throw RecordError(.badHeader, "the PGM header does not end with a blank after maxval", byteOffset: i)
            }
            i += 1
            let sampleBytes = maxValue < 256 ? 1 : 2
            let need = count * sampleBytes
            if bytes.count - i < need {
                throw RecordError(.truncated, "the PGM raster is truncated: \(bytes.count - i) of \(need) bytes", byteOffset: i)
            }
            for k in 0..<count {
                let at = i + k * sampleBytes
                let value = sampleBytes == 1 ? Int(bytes[at]) : Int(bytes[at]) << 8 | Int(bytes[at + 1])
                try check(value, k, at, maxValue)
                pixels[k] = Float(value)
            }
            i += need
        }
        if i != bytes.count {
            throw RecordError(.trailingData, "the PGM file continues after its \(width)x\(height) image at byte \(i)",
                              byteOffset: i)
        }
        return PGMImage(width: width, height: height, maxValue: maxValue, pixels: pixels)
    }

    private static func check(_ value: Int, _ k: Int, _ at: Int, _ maxValue: Int) throws(RecordError) {
        if value > maxValue {
            throw RecordError(.notANumber, "PGM sample \(k + 1) is \(value), above the maxval \(maxValue)",
                              column: k + 1, byteOffset: at)
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }

    private static func skipSpaceAndComments(_ bytes: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < bytes.count {
            if isSpace(bytes[i]) {
                i += 1
            } else if bytes[i] == UInt8(ascii: "#") {
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            } else {
                return
            }
        }
    }
}
