// A picture of what an augmentation recipe does: each row is an original digit (framed)
// followed by augmented versions of it, so a person can judge whether they still look like
// plausible handwriting.
@_spi(Tools) import DigitsKit

package enum AugmentationPreview {
    /// Renders `indices` of `dataset`, each followed by `variants` augmented copies. Variant v
    /// of image i is drawn from stream i·1024 + v of `seed`, so a picture is reproducible.
    package static func render(_ dataset: DigitDataset, indices: [Int], spec: AugmentationSpec, variants: Int,
                              seed: UInt64, scale: Int = 3, path: String) throws -> Canvas {
        guard !indices.isEmpty else { throw PictureError.nothingToDraw(path: dataset.imagesPath) }
        let gap = 4, border = 10
        let cellWidth = dataset.columns * scale, cellHeight = dataset.rows * scale
        let titleHeight = BitmapFont.glyphHeight * 2 + 14
        let width = border * 2 + (variants + 1) * (cellWidth + gap) + gap * 2
        let height = titleHeight + border + indices.count * (cellHeight + gap)
        guard width.multipliedReportingOverflow(by: height).partialValue <= PNG.maxPixels, width * height <= PNG.maxPixels else {
            throw PictureError.tooLarge(path: path, width: width, height: height, limit: PNG.maxPixels)
        }
        var canvas = Canvas(width: width, height: height, background: RGB(38, 38, 46))
        canvas.drawText("AUGMENT: \(spec)", x: border, y: 6, scale: 2, color: RGB(230, 230, 230))

        let augmenter = Augmenter(spec: spec, rows: dataset.rows, columns: dataset.columns)
        let random = RandomGenerator(seed: seed)
        var values = [Float](repeating: 0, count: dataset.pixelsPerImage)
        for (row, index) in indices.enumerated() {
            let y = titleHeight + row * (cellHeight + gap)
            let original = dataset.image(at: index)
            canvas.fill(x: border - 2, y: y - 2, width: cellWidth + 4, height: cellHeight + 4, color: RGB(255, 214, 10))
            canvas.draw(original, x: border, y: y, scale: scale)
            canvas.drawText(String(dataset.labels[index]), x: border + 2, y: y + 2, scale: 1, color: RGB(255, 214, 10))
            for variant in 0..<variants {
                random.reseed(seed: seed, stream: UInt64(index) &* 1024 &+ UInt64(variant))
                original.pixels.withUnsafeBufferPointer { pixels in
                    values.withUnsafeMutableBufferPointer { output in
                        augmenter.augment(pixels.baseAddress!, into: output.baseAddress!, random: random)
                    }
                }
                let image = GrayImage(width: dataset.columns, height: dataset.rows,
                                      pixels: values.map { UInt8(min(max($0.rounded(), 0), 255)) })
                canvas.draw(image, x: border + (variant + 1) * (cellWidth + gap) + gap * 2, y: y, scale: scale)
            }
        }
        return canvas
    }
}
