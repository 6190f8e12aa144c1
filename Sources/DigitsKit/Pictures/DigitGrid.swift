// A labelled grid of digits: each cell shows the digit magnified, with its label and index
// underneath, so a person can check at a glance that images and labels belong together.

public enum PictureError: DigitsError, Equatable {
    case nothingToDraw(path: String)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)

    public var message: String {
        switch self {
        case .nothingToDraw(let path):
            return "\(path): no images to draw: the dataset is empty"
        case .tooLarge(let path, let width, let height, let limit):
            return "\(path): the picture would be \(width)×\(height) pixels, over the limit of \(formatCount(limit))"
        }
    }

    public var hint: String? {
        switch self {
        case .nothingToDraw: return "check the dataset with digits inspect first"
        case .tooLarge: return "draw fewer images (--count), or these images are not digits"
        }
    }
}

public enum DigitGrid {
    /// Renders `indices` of `dataset` in rows of `columns` cells. `path` names the picture in
    /// errors. Refuses a picture over PNG.maxPixels before allocating it.
    public static func render(_ dataset: DigitDataset, indices: [Int], columns requested: Int? = nil,
                              scale: Int = 3, title: String? = nil, path: String) throws -> Canvas {
        guard !indices.isEmpty else { throw PictureError.nothingToDraw(path: dataset.imagesPath) }
        let columns = max(1, min(requested ?? Int(Double(indices.count).squareRoot().rounded(.up)), indices.count))
        let rows = (indices.count + columns - 1) / columns
        let gap = 6
        let labelScale = 2
        let labelHeight = BitmapFont.glyphHeight * labelScale + 8
        let cellWidth = max(dataset.columns * scale, BitmapFont.width(of: "#00000 0", scale: 1) + 4)
        let cellHeight = dataset.rows * scale + labelHeight
        let titleHeight = title == nil ? 0 : BitmapFont.glyphHeight * 2 + 12

        // Sizes come from a file, so the products are checked before anything is allocated.
        let (width, wide) = (cellWidth + gap).multipliedReportingOverflow(by: columns)
        let (tall, high) = (cellHeight + gap).multipliedReportingOverflow(by: rows)
        let (pixels, big) = (width + gap).multipliedReportingOverflow(by: tall + gap + titleHeight)
        guard !wide, !high, !big, pixels <= PNG.maxPixels else {
            throw PictureError.tooLarge(path: path, width: wide ? Int.max : width + gap,
                                        height: high ? Int.max : tall + gap + titleHeight, limit: PNG.maxPixels)
        }
        var canvas = Canvas(width: gap + width, height: titleHeight + gap + tall, background: RGB(38, 38, 46))
        if let title {
            canvas.drawText(title, x: gap, y: 6, scale: 2, color: RGB(230, 230, 230))
        }
        for (position, index) in indices.enumerated() {
            let x = gap + (position % columns) * (cellWidth + gap)
            let y = titleHeight + gap + (position / columns) * (cellHeight + gap)
            canvas.fill(x: x, y: y, width: cellWidth, height: cellHeight, color: .black)
            canvas.draw(dataset.image(at: index), x: x + (cellWidth - dataset.columns * scale) / 2, y: y, scale: scale)
            let labelY = y + dataset.rows * scale + 4
            canvas.drawText(String(dataset.labels[index]), x: x + 3, y: labelY, scale: labelScale, color: RGB(255, 214, 10))
            let indexText = "#\(index)"
            canvas.drawText(indexText, x: x + cellWidth - BitmapFont.width(of: indexText, scale: 1) - 3,
                            y: labelY + BitmapFont.glyphHeight * (labelScale - 1), scale: 1, color: RGB(150, 150, 160))
        }
        return canvas
    }
}
