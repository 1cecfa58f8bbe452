#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `shuffle` filter of spec/FORMAT.md §4.2: a payload of `n` elements of `unit` bytes is
/// stored as byte 0 of every element, then byte 1 of every element, and so on (byte `j` of
/// element `i` goes to `j * n + i`). Float exponents end up side by side, which zstd compresses
/// better.
enum ByteShuffle {
    /// The units the format allows.
    static let units: Set<Int> = [2, 4, 8]

    /// Writes the shuffled `source` into `destination`.
    /// - Precondition: `unit` is 2, 4 or 8; both buffers have the same count, a multiple of `unit`,
    ///   and do not overlap. The reader proves these before calling.
    /// - Complexity: O(`source.count`).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, unit: Int) {
        precondition(units.contains(unit) && source.count == destination.count && source.count % unit == 0)
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = source.count / unit
        for j in 0..<unit {
            let plane = dst + j * n
            var i = 0
            while i < n {
                plane.storeBytes(of: src.load(fromByteOffset: i * unit + j, as: UInt8.self), toByteOffset: i, as: UInt8.self)
                i += 1
            }
        }
    }

    /// Undoes `shuffle`: writes the original payload of the shuffled `source` into `destination`.
    /// - Precondition: as for `shuffle`.
    /// - Complexity: O(`source.count`).
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, unit: Int) {
        precondition(units.contains(unit) && source.count == destination.count && source.count % unit == 0)
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = source.count / unit
        switch unit {
        case 4:
            // The common case (float32 tensors): gather four planes into one 32-bit store.
            let p0 = src, p1 = src + n, p2 = src + 2 * n, p3 = src + 3 * n
            for i in 0..<n {
                let word = UInt32(p0.load(fromByteOffset: i, as: UInt8.self))
                    | UInt32(p1.load(fromByteOffset: i, as: UInt8.self)) << 8
                    | UInt32(p2.load(fromByteOffset: i, as: UInt8.self)) << 16
                    | UInt32(p3.load(fromByteOffset: i, as: UInt8.self)) << 24
                dst.storeBytes(of: word.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        default:
            for j in 0..<unit {
                let plane = src + j * n
                for i in 0..<n {
                    dst.storeBytes(of: plane.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i * unit + j, as: UInt8.self)
                }
            }
        }
    }

    /// Undoes `shuffle` in place, using `scratch` as the only extra memory, so a reader can
    /// decode a shuffled section straight into its final buffer and never hold a second copy.
    ///
    /// The shuffled payload is a `unit` × `n` byte matrix stored by rows (one plane per byte of
    /// the element); the result is the same matrix stored by columns. Halving `n`: gathering the
    /// left halves of all planes before the right halves (block rotations) leaves two independent
    /// problems of half the size; one that fits `scratch` is unshuffled out of place through it.
    /// - Precondition: as for `shuffle`; `scratch` is not empty and does not overlap `buffer`.
    /// - Complexity: O(`count` × log(`count` / `scratch.count`)) bytes moved, with memcpy-sized
    ///   moves; no allocation.
    static func unshuffleInPlace(_ buffer: UnsafeMutableRawBufferPointer, unit: Int, scratch: UnsafeMutableRawBufferPointer) {
        precondition(units.contains(unit) && buffer.count % unit == 0 && !scratch.isEmpty)
        guard let base = buffer.baseAddress, let scratchBase = scratch.baseAddress else { return }
        unshufflePlanes(base, planeLength: buffer.count / unit, unit: unit, scratch: scratchBase, scratchCount: scratch.count)
    }

    /// `base` holds `unit` planes of `planeLength` bytes each.
    private static func unshufflePlanes(_ base: UnsafeMutableRawPointer, planeLength n: Int, unit: Int,
                                        scratch: UnsafeMutableRawPointer, scratchCount: Int) {
        let total = n * unit
        if n <= 1 { return }  // one element (or none): its planes are already its bytes in order
        if total <= scratchCount {
            scratch.copyMemory(from: base, byteCount: total)
            unshuffle(UnsafeRawBufferPointer(start: scratch, count: total),
                      into: UnsafeMutableRawBufferPointer(start: base, count: total), unit: unit)
            return
        }
        let left = n / 2, right = n - left
        // Planes are [a0 b0][a1 b1]...; make them [a0 a1 ...][b0 b1 ...].
        gatherHalves(base, pairs: unit, left: left, right: right, scratch: scratch, scratchCount: scratchCount)
        unshufflePlanes(base, planeLength: left, unit: unit, scratch: scratch, scratchCount: scratchCount)
        unshufflePlanes(base + left * unit, planeLength: right, unit: unit, scratch: scratch, scratchCount: scratchCount)
    }

    /// Rearranges `pairs` (a power of two) consecutive blocks `a_k b_k` (`left` and `right`
    /// bytes) into all `a` blocks followed by all `b` blocks, keeping each group's order.
    private static func gatherHalves(_ base: UnsafeMutableRawPointer, pairs: Int, left: Int, right: Int,
                                     scratch: UnsafeMutableRawPointer, scratchCount: Int) {
        guard pairs > 1 else { return }
        let half = pairs / 2
        let halfBytes = half * (left + right)
        gatherHalves(base, pairs: half, left: left, right: right, scratch: scratch, scratchCount: scratchCount)
        gatherHalves(base + halfBytes, pairs: half, left: left, right: right, scratch: scratch, scratchCount: scratchCount)
        // [A1 B1][A2 B2] -> [A1 A2][B1 B2]: swap the adjacent blocks B1 and A2.
        rotate(base + half * left, leftCount: half * right, rightCount: half * left, scratch: scratch, scratchCount: scratchCount)
    }

    /// Exchanges the adjacent blocks `[L][R]` (`leftCount`, `rightCount` bytes) into `[R][L]`.
    /// When the smaller block fits `scratch` it is parked there while the other moves; otherwise
    /// equal-sized block swaps (Gries and Mills) shrink the problem until it does.
    static func rotate(_ base: UnsafeMutableRawPointer, leftCount: Int, rightCount: Int,
                       scratch: UnsafeMutableRawPointer, scratchCount: Int) {
        var start = base, l = leftCount, r = rightCount
        while l > 0, r > 0 {
            if l <= r, l <= scratchCount {
                scratch.copyMemory(from: start, byteCount: l)
                memmoveBytes(start, start + l, r)
                (start + r).copyMemory(from: scratch, byteCount: l)
                return
            }
            if r < l, r <= scratchCount {
                scratch.copyMemory(from: start + l, byteCount: r)
                memmoveBytes(start + r, start, l)
                start.copyMemory(from: scratch, byteCount: r)
                return
            }
            if l <= r {
                // [L][R1 R2] with |R2| = |L|: swap L and R2 -> [R2][R1][L]; L is final.
                swapBlocks(start, start + r, count: l, scratch: scratch, scratchCount: scratchCount)
                r -= l
            } else {
                // [L1 L2][R] with |L1| = |R|: swap L1 and R -> [R][L2][L1]; R is final.
                swapBlocks(start, start + l, count: r, scratch: scratch, scratchCount: scratchCount)
                start += r
                l -= r
            }
        }
    }

    /// Swaps two non-overlapping blocks of `count` bytes through `scratch`, a piece at a time.
    private static func swapBlocks(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, count: Int,
                                   scratch: UnsafeMutableRawPointer, scratchCount: Int) {
        var done = 0
        while done < count {
            let piece = min(scratchCount, count - done)
            scratch.copyMemory(from: a + done, byteCount: piece)
            (a + done).copyMemory(from: b + done, byteCount: piece)
            (b + done).copyMemory(from: scratch, byteCount: piece)
            done += piece
        }
    }

    /// `memmove`: `copyMemory` requires disjoint ranges, these overlap.
    private static func memmoveBytes(_ destination: UnsafeMutableRawPointer, _ source: UnsafeMutableRawPointer, _ count: Int) {
        _ = memmove(destination, source, count)
    }

    /// `shuffle` into a new array.
    static func shuffled(_ bytes: [UInt8], unit: Int) -> [UInt8] {
        [UInt8](filling: bytes.count) { buffer in bytes.withUnsafeBytes { shuffle($0, into: buffer, unit: unit) } }
    }

    /// `unshuffle` into a new array.
    static func unshuffled(_ bytes: [UInt8], unit: Int) -> [UInt8] {
        [UInt8](filling: bytes.count) { buffer in bytes.withUnsafeBytes { unshuffle($0, into: buffer, unit: unit) } }
    }
}
