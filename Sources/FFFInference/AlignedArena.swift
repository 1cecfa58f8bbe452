import CFFFKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One 64-byte-aligned, zero-filled allocation carved into float and int32 regions, each region
/// starting on a 64-byte boundary. Plan first (``reserve(floats:)``), then ``allocate()``.
/// Internal; the owner frees the memory with ``deallocate(_:)``.
struct AlignedArena {
    static let alignment = 64
    private(set) var byteCount = 0

    /// Reserves room for `count` 4-byte elements and returns the region's byte offset.
    /// - Complexity: O(1).
    mutating func reserve(floats count: Int) -> Int {
        reserve(bytes: count * 4)
    }

    /// Reserves `bytes` bytes (rounded up to the alignment) and returns the region's byte offset.
    /// - Complexity: O(1).
    mutating func reserve(bytes: Int) -> Int {
        let offset = byteCount
        byteCount = offset + (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
        return offset
    }

    /// The planned bytes (at least one alignment unit), zeroed, as `base` (64-byte aligned) and
    /// `block` (what ``deallocate(_:)`` takes).
    ///
    /// From `calloc`, which takes a large block from fresh pages that the system zeroes lazily:
    /// a page becomes resident only when the packer writes it, so while a model is packed its
    /// arena grows as the source tensors are released, instead of being touched all at once.
    /// - Complexity: O(1) for large blocks, O(byteCount) at most.
    func allocate() -> (base: UnsafeMutableRawPointer, block: UnsafeMutableRawPointer) {
        let bytes = max(byteCount, Self.alignment) + Self.alignment
        guard let block = calloc(bytes, 1) else {
            fatalError("cannot allocate \(bytes) bytes for a model's weights")
        }
        let misalignment = Int(bitPattern: block) % Self.alignment
        let base = block + (misalignment == 0 ? 0 : Self.alignment - misalignment)
        return (base, block)
    }

    /// Frees a `block` returned by ``allocate()``.
    static func deallocate(_ block: UnsafeMutableRawPointer) {
        free(block)
    }

    /// `count` is the element count the region was reserved with.
    static func floats(_ base: UnsafeMutableRawPointer, _ offset: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
        (base + offset).bindMemory(to: Float.self, capacity: max(count, 1))
    }

    static func ints(_ base: UnsafeMutableRawPointer, _ offset: Int, _ count: Int) -> UnsafeMutablePointer<Int32> {
        (base + offset).bindMemory(to: Int32.self, capacity: max(count, 1))
    }

    /// Rounds `width` up to the kernels' row alignment (16 floats).
    static func stride(_ width: Int) -> Int {
        let unit = Int(FFF_ALIGN_FLOATS)
        return (width + unit - 1) / unit * unit
    }
}
