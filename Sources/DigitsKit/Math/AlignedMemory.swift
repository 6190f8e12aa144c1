// Storage for the register-tiled kernels (CKernels' dk_tile), shared by the inference plan and
// the convolution's training passes.

/// `count` zeros (at least one), 64-byte aligned: a panel or a vector row starts on a cache line.
func alignedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
    return raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
}

/// The one segment of a dense product for dk_tile, at offset 0.
nonisolated(unsafe) let tileZeroOffset: UnsafePointer<Int> = {
    let pointer = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return UnsafePointer(pointer)
}()
