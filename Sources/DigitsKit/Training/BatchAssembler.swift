// Mini-batches gathered from a dataset into buffers allocated once: pixels are normalized
// through a 256-entry table, (x/255 − mean)/std, so a batch costs one lookup per pixel.

public final class BatchAssembler {
    public let dataset: DigitDataset
    /// (B, H·W), reused for every batch.
    public let inputs: Tensor
    /// (B), reused.
    public private(set) var labels: [Int32]
    private let table: [Float]  // (256)

    public init(dataset: DigitDataset, normalization: Normalization?, batchSize: Int) {
        self.dataset = dataset
        inputs = Tensor(shape: [batchSize, dataset.pixelsPerImage])
        labels = [Int32](repeating: 0, count: batchSize)
        let (mean, std) = normalization.map { ($0.mean, $0.std) } ?? (0, 1)
        table = (0..<256).map { (Float($0) / 255 - mean) / std }
    }

    /// Fills the buffers with the images at `indices` (at most the batch size).
    public func assemble(_ indices: ArraySlice<Int>) {
        let size = dataset.pixelsPerImage
        if indices.count > labels.count { labels = [Int32](repeating: 0, count: indices.count) }
        inputs.setRows(indices.count)
        dataset.pixels.withUnsafeBufferPointer { pixels in
            table.withUnsafeBufferPointer { table in
                var destination = inputs.data
                for (row, index) in indices.enumerated() {
                    let source = pixels.baseAddress! + index * size
                    for pixel in 0..<size { destination[pixel] = table[Int(source[pixel])] }
                    destination += size
                    labels[row] = Int32(dataset.labels[index])
                }
            }
        }
    }
}
