// Labelled grids of digits: each cell shows a digit magnified, with a caption underneath, so a
// person can check at a glance that images and labels belong together (`digits inspect
// --grid`), or see what a model gets wrong (the error gallery of `digits evaluate --report`).
import DigitsKit

package enum PictureError: DigitsError, Equatable {
    case nothingToDraw(path: String)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)

    package var message: String {
        switch self {
        case .nothingToDraw(let path):
            return "\(path): no images to draw: the dataset is empty"
        case .tooLarge(let path, let width, let height, let limit):
            return "\(path): the picture would be \(width)×\(height) pixels, over the limit of \(formatCount(limit))"
        }
    }

    package var hint: String? {
        switch self {
        case .nothingToDraw: return "check the dataset with digits inspect first"
        case .tooLarge: return "draw fewer images (--count), or these images are not digits"
        }
    }
}

/// One cell of a grid: the digit, a caption in large type and a note in small type at its right.
package struct GridCell {
    package var image: GrayImage
    package var caption: String
    package var captionColor: RGB
    package var note: String

    package init(image: GrayImage, caption: String, captionColor: RGB = RGB(255, 214, 10), note: String = "") {
        self.image = image
        self.caption = caption
        self.captionColor = captionColor
        self.note = note
    }
}

package enum DigitGrid {
    /// Renders `indices` of `dataset`, each captioned with its label and index. `path` names
    /// the picture in errors.
    package static func render(_ dataset: DigitDataset, indices: [Int], columns: Int? = nil,
                              scale: Int = 3, title: String? = nil, path: String) throws -> Canvas {
        guard !indices.isEmpty else { throw PictureError.nothingToDraw(path: dataset.imagesPath) }
        let cells = indices.map { GridCell(image: dataset.image(at: $0), caption: String(dataset.labels[$0]), note: "#\($0)") }
        return try render(cells, columns: columns, scale: scale, title: title, path: path)
    }

    /// Renders cells in rows of `columns` (about square by default). Refuses a picture over
    /// PNG.maxPixels before allocating it, since the image sizes come from files.
    package static func render(_ cells: [GridCell], columns requested: Int? = nil, scale: Int = 3,
                              title: String? = nil, path: String) throws -> Canvas {
        guard let first = cells.first else { throw PictureError.nothingToDraw(path: path) }
        let imageWidth = cells.map(\.image.width).max() ?? first.image.width
        let imageHeight = cells.map(\.image.height).max() ?? first.image.height
        let columns = max(1, min(requested ?? Int(Double(cells.count).squareRoot().rounded(.up)), cells.count))
        let rows = (cells.count + columns - 1) / columns
        let gap = 6
        let captionScale = 2
        let captionHeight = BitmapFont.glyphHeight * captionScale + 8
        let widestText = cells.map { BitmapFont.width(of: $0.caption, scale: captionScale) + BitmapFont.width(of: $0.note, scale: 1) + 10 }.max() ?? 0
        let cellWidth = max(imageWidth * scale, BitmapFont.width(of: "#00000 0", scale: 1) + 4, widestText)
        let cellHeight = imageHeight * scale + captionHeight
        let titleHeight = title == nil ? 0 : BitmapFont.glyphHeight * 2 + 12

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
        for (position, cell) in cells.enumerated() {
            let x = gap + (position % columns) * (cellWidth + gap)
            let y = titleHeight + gap + (position / columns) * (cellHeight + gap)
            canvas.fill(x: x, y: y, width: cellWidth, height: cellHeight, color: .black)
            canvas.draw(cell.image, x: x + (cellWidth - cell.image.width * scale) / 2, y: y, scale: scale)
            let captionY = y + imageHeight * scale + 4
            canvas.drawText(cell.caption, x: x + 3, y: captionY, scale: captionScale, color: cell.captionColor)
            canvas.drawText(cell.note, x: x + cellWidth - BitmapFont.width(of: cell.note, scale: 1) - 3,
                            y: captionY + BitmapFont.glyphHeight * (captionScale - 1), scale: 1, color: RGB(150, 150, 160))
        }
        return canvas
    }
}
