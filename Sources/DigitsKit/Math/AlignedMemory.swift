// Storage for the register-tiled kernels (CKernels' dk_tile), shared by the inference plan and
// the convolution's training passes.
import CKernels

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

/// Lays out an (outputs × inputs) weight matrix as dk_tile reads it: panel p holds outputs
/// 32p ..< 32p + 32, input by input, (⌈outputs/32⌉, inputs, 32); `weight(o, k)` gives each
/// value and `bias` receives `biasSource`'s outputs. Lanes past the last output stay as they are
/// (zero in storage from `alignedFloats`).
@inline(__always)
func packPanels(outputs: Int, inputs: Int, into values: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>,
                biasSource: UnsafePointer<Float>, weight: (Int, Int) -> Float) {
    let width = Int(DK_PANEL)
    for o in 0..<outputs {
        let panel = values + (o / width) * inputs * width + o % width
        for k in 0..<inputs { panel[k * width] = weight(o, k) }
        bias[o] = biasSource[o]
    }
}
