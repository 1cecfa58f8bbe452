/// The signatures ("magic numbers") of file kinds that are not records but are often handed to
/// `fffrun` by mistake: archives and compressors other than gzip, images, pickles, and FFF
/// model files. Recognising them turns "holds a NUL byte" into advice that works.
///
/// Only inputs whose format is detected (`.auto`) are checked; a format named explicitly is
/// taken at its word.
public struct FileSignature: Sendable, Equatable {
    /// What the input is ("a zstd-compressed stream").
    public let what: String
    /// What to do instead, as a complete sentence.
    public let advice: String
    let magic: [UInt8]

    /// The outcome of looking at the first bytes of an input.
    public enum Match: Sendable, Equatable {
        /// The bytes begin with this signature.
        case found(FileSignature)
        /// No signature can match, whatever bytes follow.
        case none
        /// The bytes at hand are a proper prefix of some signature: read more to decide.
        case undecided
    }

    /// Looks at `head`, the first bytes of an input. Needs no more bytes than it takes to rule
    /// every signature out, so a producer writing one short record is never kept waiting past
    /// its first differing byte.
    public static func match(_ head: UnsafeRawBufferPointer) -> Match {
        var undecided = false
        for signature in all {
            let n = min(head.count, signature.magic.count)
            guard zip(head.prefix(n), signature.magic.prefix(n)).allSatisfy({ $0 == $1 }) else { continue }
            if n == signature.magic.count { return .found(signature) }
            // The input ended (or has not yet arrived) inside the magic.
            undecided = true
        }
        return undecided ? .undecided : .none
    }

    /// The longest magic, in bytes: reading this many bytes always decides.
    public static var longestMagic: Int { all.map(\.magic.count).max()! }

    private static let decompress = "; decompress it into fffrun, e.g."

    static let all: [FileSignature] = [
        FileSignature(what: "a zip archive (a NumPy .npz or a PyTorch .pt checkpoint?)",
                      advice: "fffrun reads NumPy .npy arrays: save one with numpy.save, or take it out of the .npz with `unzip -p data.npz x.npy`. A PyTorch checkpoint is a model to convert with tools/fff-convert, not records.",
                      magic: Array("PK\u{03}\u{04}".utf8)),
        FileSignature(what: "an empty zip archive", advice: "fffrun reads .npy, IDX, CSV/TSV/text or raw records.",
                      magic: Array("PK\u{05}\u{06}".utf8)),
        FileSignature(what: "a zstd-compressed stream",
                      advice: "fffrun reads gzip itself but not zstd\(decompress) `zstd -dc FILE.zst | fffrun classify MODEL`.",
                      magic: [0x28, 0xB5, 0x2F, 0xFD]),
        FileSignature(what: "an xz-compressed stream",
                      advice: "fffrun reads gzip itself but not xz\(decompress) `xz -dc FILE.xz | fffrun classify MODEL`.",
                      magic: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]),
        FileSignature(what: "a bzip2-compressed stream",
                      advice: "fffrun reads gzip itself but not bzip2\(decompress) `bzip2 -dc FILE.bz2 | fffrun classify MODEL`.",
                      magic: Array("BZh".utf8)),
        FileSignature(what: "an lz4-compressed stream",
                      advice: "fffrun reads gzip itself but not lz4\(decompress) `lz4 -dc FILE.lz4 | fffrun classify MODEL`.",
                      magic: [0x04, 0x22, 0x4D, 0x18]),
        FileSignature(what: "a 7z archive", advice: "Extract the records from it first (`7z x`).",
                      magic: [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]),
        FileSignature(what: "a PNG image", advice: imageAdvice, magic: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        FileSignature(what: "a JPEG image", advice: imageAdvice, magic: [0xFF, 0xD8, 0xFF]),
        FileSignature(what: "a GIF image", advice: imageAdvice, magic: Array("GIF8".utf8)),
        FileSignature(what: "an FFF model file, not records",
                      advice: "The model is the first argument and the records follow it: fffrun classify MODEL.fff RECORDS.",
                      magic: [0x89, 0x46, 0x46, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]),
    ] + (2...5).map { protocolVersion in
        FileSignature(what: "a Python pickle (protocol \(protocolVersion))",
                      advice: "fffrun does not read pickles (they can run code): save arrays with numpy.save (.npy). A PyTorch checkpoint is a model to convert with tools/fff-convert, not records.",
                      magic: [0x80, UInt8(protocolVersion)])
    }

    private static let imageAdvice = "fffrun reads images as binary PGM (P5) with --files, or as raw pixels: convert it, e.g. `convert IMAGE -colorspace gray -depth 8 gray:- | fffrun classify MODEL --input-format u8` (ImageMagick), or to .pgm for --files."
}
