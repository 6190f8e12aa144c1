// Contiguous Float storage with a shape, row-major. Letters used in shape comments across
// the project: B = batch, I = input features, O = output features, C = classes.

/// A reference type on purpose: layers own their buffers and overwrite them in place at every
/// step, so the hot loops see a raw pointer, never a copy-on-write check or an allocation.
/// The first dimension (the batch) can shrink and grow within the allocated capacity.
public final class Tensor {
    /// Dimensions, row-major.
    public private(set) var shape: [Int]
    /// Elements allocated; `count` never exceeds it.
    @_spi(Tools) public private(set) var capacity: Int
    /// The storage, for the kernels (and benchmarks): valid until the next `setRows` that grows.
    @_spi(Tools) public private(set) var data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor of `shape`. Traps on a negative dimension. At least one element is
    /// allocated, even for an empty shape or a zero dimension.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape \(shape) has a negative dimension")
        self.shape = shape
        capacity = max(shape.reduce(1, *), 1)
        data = .allocate(capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    /// A tensor of `shape` holding `values` in row-major order. Traps unless `values.count` is the
    /// product of the dimensions.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "tensor shape \(shape) holds \(count) values, got \(values.count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { data.deallocate() }

    /// Number of elements: the product of the dimensions (1 for the empty shape `[]`).
    public var count: Int { shape.reduce(1, *) }
    /// Elements per item of the first dimension.
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }
    /// The first dimension (the batch size for a `[B, …]` tensor); 1 for the empty shape.
    public var rows: Int { shape.first ?? 1 }

    @_spi(Tools) public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    /// A copy of the `count` elements, row-major.
    public var array: [Float] { Array(buffer) }

    /// The element at flat row-major position `index`, 0..<count. Not bounds-checked: the storage
    /// is read and written directly.
    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// Sets the first dimension. Reallocates only when it needs more room than ever before,
    /// so alternating batch sizes (the last partial batch, evaluation) cost nothing.
    @_spi(Tools) public func setRows(_ rows: Int) {
        guard rows != shape[0] else { return }
        let needed = rows * rowSize
        if needed > capacity {
            data.deallocate()
            capacity = needed
            data = .allocate(capacity: capacity)
            data.initialize(repeating: 0, count: capacity)
        }
        shape[0] = rows
    }

    /// Sets the `count` current elements to 0 (the rest of the capacity is left as it is).
    public func zero() { data.update(repeating: 0, count: count) }

    /// Sum of squares, accumulated in Double.
    public var squaredNorm: Double {
        var sum = 0.0
        for index in 0..<count { sum += Double(data[index]) * Double(data[index]) }
        return sum
    }
}
