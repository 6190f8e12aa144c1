// Mini-batches gathered from a dataset into buffers allocated once, each pixel normalized as
// (x/255 − mean)/std, 16 pixels per vector step.

package final class BatchAssembler {
    package let dataset: DigitDataset
    /// (B, H·W), reused for every batch.
    package let inputs: Tensor
    /// (B), reused; raw storage so the trainer can hold a stable pointer to it.
    package private(set) var labels: UnsafeMutablePointer<Int32>
    private var labelCapacity: Int
    private let mean: Float
    private let std: Float

    package init(dataset: DigitDataset, normalization: Normalization?, batchSize: Int) {
        self.dataset = dataset
        inputs = Tensor(shape: [batchSize, dataset.pixelsPerImage])
        labelCapacity = max(batchSize, 1)
        labels = .allocate(capacity: labelCapacity)
        labels.initialize(repeating: 0, count: labelCapacity)
        (mean, std) = normalization.map { ($0.mean, $0.std) } ?? (0, 1)
    }

    deinit { labels.deallocate() }

    /// (x/255 − mean)/std for one pixel; the vector loop below computes exactly this.
    @inline(__always)
    func normalize(_ pixel: UInt8) -> Float { (Float(pixel) / 255 - mean) / std }

    /// Fills the buffers with the images at `indices` (at most the batch size).
    package func assemble(_ indices: ArraySlice<Int>) {
        let size = dataset.pixelsPerImage
        if indices.count > labelCapacity {
            labels.deallocate()
            labelCapacity = indices.count
            labels = .allocate(capacity: labelCapacity)
        }
        inputs.setRows(indices.count)
        let meanVector = Float16x(repeating: mean), stdVector = Float16x(repeating: std)
        dataset.pixels.withUnsafeBufferPointer { pixels in
            var destination = inputs.data
            for (row, index) in indices.enumerated() {
                let source = pixels.baseAddress! + index * size
                var pixel = 0
                while pixel + 16 <= size {
                    let bytes = UnsafeRawPointer(source + pixel).loadUnaligned(as: SIMD16<UInt8>.self)
                    store16((Float16x(bytes) / 255 - meanVector) / stdVector, destination + pixel)
                    pixel += 16
                }
                while pixel < size {
                    destination[pixel] = normalize(source[pixel])
                    pixel += 1
                }
                destination += size
                labels[row] = Int32(dataset.labels[index])
            }
        }
    }
}
