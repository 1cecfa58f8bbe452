import CFFFKernels

/// One 64-byte-aligned, zero-filled allocation carved into float and int32 regions, each region
/// starting on a 64-byte boundary. Plan first (``reserve(floats:)``), then ``allocate()``.
/// Internal; the owner frees the memory with ``deallocate(_:)``.
struct AlignedArena {
    static let alignment = 64
    private(set) var byteCount = 0

    /// Reserves room for `count` 4-byte elements and returns the region's byte offset.
    /// - Complexity: O(1).
    mutating func reserve(floats count: Int) -> Int {
        let offset = byteCount
        let bytes = count * 4
        byteCount = offset + (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
        return offset
    }

    /// Allocates and zero-fills the planned bytes (at least one alignment unit).
    /// - Complexity: O(byteCount).
    func allocate() -> UnsafeMutableRawPointer {
        let bytes = max(byteCount, Self.alignment)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.alignment)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return memory
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
