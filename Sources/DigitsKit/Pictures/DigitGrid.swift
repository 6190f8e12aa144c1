// A labelled grid of digits: each cell shows the digit magnified, with its label and index
// underneath, so a person can check at a glance that images and labels belong together.

public enum DigitGrid {
    /// Renders `indices` of `dataset` in rows of `columns` cells.
    public static func render(_ dataset: DigitDataset, indices: [Int], columns requested: Int? = nil,
                              scale: Int = 3, title: String? = nil) -> Canvas {
        precondition(!indices.isEmpty, "a digit grid needs at least one image")
        let columns = max(1, min(requested ?? Int(Double(indices.count).squareRoot().rounded(.up)), indices.count))
        let rows = (indices.count + columns - 1) / columns
        let gap = 6
        let labelScale = 2
        let labelHeight = BitmapFont.glyphHeight * labelScale + 8
        let cellWidth = max(dataset.columns * scale, BitmapFont.width(of: "#00000 0", scale: 1) + 4)
        let cellHeight = dataset.rows * scale + labelHeight
        let titleHeight = title == nil ? 0 : BitmapFont.glyphHeight * 2 + 12

        var canvas = Canvas(width: gap + columns * (cellWidth + gap),
                            height: titleHeight + gap + rows * (cellHeight + gap),
                            background: RGB(38, 38, 46))
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
