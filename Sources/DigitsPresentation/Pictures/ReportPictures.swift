// The pictures of an evaluation report: the confusion matrix as a heatmap with its counts, and
// the training curves (loss and accuracy per epoch) from a checkpoint's history.
import DigitsKit
import Foundation

package enum ConfusionPicture {
    /// Rows are true classes, columns predictions, with row and column totals. Diagonal cells
    /// are green by the share of their row that is correct; errors are red by their count
    /// relative to the largest error, so a single frequent confusion stands out.
    package static func render(_ report: ClassificationReport, title: String) -> Canvas {
        let classes = report.classes
        let cell = 58, textScale = 2
        let left = 84, top = 84
        let width = left + (classes + 1) * cell + 40
        let height = top + (classes + 1) * cell + 40
        var canvas = Canvas(width: width, height: height, background: RGB(250, 250, 250))
        let ink = RGB(30, 30, 36), muted = RGB(110, 110, 120)
        canvas.drawText(title, x: 12, y: 10, scale: 2, color: ink)
        let heading = "PREDICTED →"
        canvas.drawText(heading, x: left + (classes * cell - BitmapFont.width(of: heading, scale: 2)) / 2, y: 38, scale: 2, color: muted)
        for (offset, character) in "TRUE".enumerated() {
            canvas.drawText(String(character), x: 12, y: top + classes * cell / 2 - 40 + offset * 20, scale: 2, color: muted)
        }
        let largestError = max(report.confusions.first?.count ?? 0, 1)
        func centered(_ text: String, x: Int, y: Int, color: RGB) {
            canvas.drawText(text, x: x + (cell - BitmapFont.width(of: text, scale: textScale)) / 2,
                            y: y + (cell - BitmapFont.glyphHeight * textScale) / 2, scale: textScale, color: color)
        }
        for c in 0..<classes {
            centered(String(c), x: left + c * cell, y: top - cell + 14, color: ink)
            centered(String(c), x: left - cell, y: top + c * cell, color: ink)
        }
        centered("ALL", x: left + classes * cell, y: top - cell + 14, color: muted)
        centered("ALL", x: left - cell, y: top + classes * cell, color: muted)
        for row in 0..<classes {
            let support = max(report.perClass[row].support, 1)
            for column in 0..<classes {
                let count = report.confusion[row][column]
                let x = left + column * cell, y = top + row * cell
                let strength: Double
                let color: RGB
                if row == column {
                    strength = Double(count) / Double(support)
                    color = blend(RGB(255, 255, 255), RGB(27, 122, 61), strength)
                } else {
                    strength = count == 0 ? 0 : 0.15 + 0.85 * (Double(count) / Double(largestError)).squareRoot()
                    color = blend(RGB(255, 255, 255), RGB(200, 40, 40), strength)
                }
                canvas.fill(x: x, y: y, width: cell, height: cell, color: color)
                canvas.strokeRectangle(x: x, y: y, width: cell + 1, height: cell + 1, color: RGB(220, 220, 224))
                if count > 0 { centered(String(count), x: x, y: y, color: strength > 0.55 ? .white : ink) }
            }
        }
        let predicted = report.predictedTotals
        for c in 0..<classes {
            centered(String(report.perClass[c].support), x: left + classes * cell, y: top + c * cell, color: muted)
            centered(String(predicted[c]), x: left + c * cell, y: top + classes * cell, color: muted)
        }
        centered(String(report.count), x: left + classes * cell, y: top + classes * cell, color: ink)
        canvas.strokeRectangle(x: left, y: top, width: classes * cell + 1, height: classes * cell + 1, thickness: 2, color: muted)
        return canvas
    }
}

package enum TrainingCurves {
    /// Two panels, loss and accuracy, each with the training and validation series per epoch.
    package static func render(_ history: [EpochRecord], title: String) -> Canvas {
        let panelWidth = 440, panelHeight = 300
        var canvas = Canvas(width: 2 * panelWidth + 60, height: panelHeight + 110, background: RGB(250, 250, 250))
        canvas.drawText(title, x: 12, y: 10, scale: 2, color: RGB(30, 30, 36))
        let epochs = history.map { Double($0.epoch) }
        let train = RGB(31, 119, 180), validation = RGB(255, 127, 14)
        drawPanel(&canvas, x: 20, y: 44, width: panelWidth, height: panelHeight, label: "LOSS", epochs: epochs,
                  series: [(history.map(\.trainLoss), train), (history.map(\.validationLoss), validation)], percent: false)
        drawPanel(&canvas, x: 40 + panelWidth, y: 44, width: panelWidth, height: panelHeight, label: "ACCURACY %", epochs: epochs,
                  series: [(history.map { $0.trainAccuracy * 100 }, train), (history.map { $0.validationAccuracy * 100 }, validation)],
                  percent: true)
        let legendY = panelHeight + 84
        canvas.fill(x: 80, y: legendY + 4, width: 24, height: 4, color: train)
        canvas.drawText("TRAINING", x: 110, y: legendY, scale: 2, color: RGB(30, 30, 36))
        canvas.fill(x: 260, y: legendY + 4, width: 24, height: 4, color: validation)
        canvas.drawText("VALIDATION", x: 290, y: legendY, scale: 2, color: RGB(30, 30, 36))
        return canvas
    }

    private static func drawPanel(_ canvas: inout Canvas, x: Int, y: Int, width: Int, height: Int, label: String,
                                  epochs: [Double], series: [(values: [Double], color: RGB)], percent: Bool) {
        let plotLeft = x + 56, plotTop = y + 22, plotWidth = width - 70, plotHeight = height - 56
        let ink = RGB(30, 30, 36), grid = RGB(225, 225, 230)
        canvas.drawText(label, x: x + (width - BitmapFont.width(of: label, scale: 2)) / 2, y: y, scale: 2, color: ink)
        let values = series.flatMap(\.values).filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if percent { high = min(100, high + (high - low) * 0.05) } else { low = 0 }
        if high - low < 1e-9 { high = low + 1 }
        let (first, last) = (epochs.first ?? 1, max(epochs.last ?? 1, (epochs.first ?? 1) + 1))
        func point(_ epoch: Double, _ value: Double) -> (x: Double, y: Double) {
            (Double(plotLeft) + (epoch - first) / (last - first) * Double(plotWidth),
             Double(plotTop + plotHeight) - (value - low) / (high - low) * Double(plotHeight))
        }
        for tick in 0...4 {
            let value = low + (high - low) * Double(tick) / 4
            let ty = Int(point(first, value).y.rounded())
            canvas.fill(x: plotLeft, y: ty, width: plotWidth, height: 1, color: grid)
            let text = percent ? String(format: "%.1f", value) : String(format: value < 0.1 ? "%.3f" : "%.2f", value)
            canvas.drawText(text, x: plotLeft - BitmapFont.width(of: text, scale: 1) - 6, y: ty - 3, scale: 1, color: ink)
        }
        let step = max(1, Int((last - first) / 8))
        for epoch in stride(from: Int(first), through: Int(last), by: step) {
            let tx = Int(point(Double(epoch), low).x.rounded())
            canvas.fill(x: tx, y: plotTop + plotHeight, width: 1, height: 5, color: ink)
            canvas.drawText(String(epoch), x: tx - BitmapFont.width(of: String(epoch), scale: 1) / 2, y: plotTop + plotHeight + 8,
                            scale: 1, color: ink)
        }
        canvas.drawText("EPOCH", x: plotLeft + (plotWidth - BitmapFont.width(of: "EPOCH", scale: 1)) / 2,
                        y: plotTop + plotHeight + 20, scale: 1, color: ink)
        canvas.strokeRectangle(x: plotLeft, y: plotTop, width: plotWidth + 1, height: plotHeight + 1, color: ink)
        for (values, color) in series {
            let points = zip(epochs, values).filter { $0.1.isFinite }.map { point($0.0, $0.1) }
            for (a, b) in zip(points, points.dropFirst()) { canvas.drawLine(from: a, to: b, width: 2.5, color: color) }
            for p in points { canvas.drawLine(from: p, to: p, width: 6, color: color) }
        }
    }
}

/// `a` mixed with `b`: t = 0 gives a, t = 1 gives b.
func blend(_ a: RGB, _ b: RGB, _ t: Double) -> RGB {
    let t = min(max(t, 0), 1)
    func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) * (1 - t) + Double(y) * t).rounded()) }
    return RGB(mix(a.red, b.red), mix(a.green, b.green), mix(a.blue, b.blue))
}
