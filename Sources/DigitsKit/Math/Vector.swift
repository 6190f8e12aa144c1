// 16-wide SIMD loads and stores on raw Float pointers, for the elementwise hot loops. The
// compiler cannot prove that the pointers of a loop do not alias, so it rarely vectorizes
// them on its own; these make it explicit (one AVX-512 register per step).

typealias Float16x = SIMD16<Float>

@inline(__always)
func load16(_ pointer: UnsafePointer<Float>) -> Float16x {
    UnsafeRawPointer(pointer).loadUnaligned(as: Float16x.self)
}

@inline(__always)
func load16(_ pointer: UnsafeMutablePointer<Float>) -> Float16x {
    UnsafeRawPointer(pointer).loadUnaligned(as: Float16x.self)
}

@inline(__always)
func store16(_ value: Float16x, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Float16x.self)
}
