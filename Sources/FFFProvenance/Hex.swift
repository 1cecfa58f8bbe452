/// Lowercase hexadecimal, the form identities and key ids are shown in.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// `bytes` as 2 lowercase hex digits each.
    static func string(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of an even-length string of hex digits (either case), or `nil`.
    static func bytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count / 2)
        var k = 0
        while k < utf8.count {
            guard let high = value(utf8[k]), let low = value(utf8[k + 1]) else { return nil }
            result.append(high << 4 | low)
            k += 2
        }
        return result
    }
}
