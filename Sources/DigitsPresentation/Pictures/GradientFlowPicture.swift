// The gradient-flow picture of `digits train --monitor`: one row per layer weight (first layer
// at the top), one column per sample through training, the colour the gradient norm on a log
// scale. Vanishing gradients show as top rows far darker than the bottom ones.
import DigitsKit
import Foundation

package enum GradientFlowPicture {
    /// Viridis, sampled at five points: dark blue for small norms, yellow for large ones.
    static let stops: [RGB] = [RGB(68, 1, 84), RGB(59, 82, 139), RGB(33, 145, 140), RGB(94, 201, 98), RGB(253, 231, 37)]

    static func color(_ t: Double) -> RGB {
        let position = min(max(t, 0), 1) * Double(stops.count - 1)
        let index = min(Int(position), stops.count - 2)
        return blend(stops[index], stops[index + 1], position - Double(index))
    }

    /// The whole decades that hold every finite, positive norm of `flow` (at least one decade).
    package static func decades(_ flow: GradientFlow) -> (low: Int, high: Int) {
        let logs = flow.norms.joined().filter { $0 > 0 && $0.isFinite }.map(log10)
        guard let low = logs.min(), let high = logs.max() else { return (-1, 0) }
        let (floorLow, ceilHigh) = (Int(low.rounded(.down)), Int(high.rounded(.up)))
        return (floorLow, max(ceilHigh, floorLow + 1))
    }

    package static func render(_ flow: GradientFlow, title: String) -> Canvas {
        let ink = RGB(30, 30, 36)
        let labelWidth = max(BitmapFont.width(of: "LAYER", scale: 1), flow.layers.map { BitmapFont.width(of: $0, scale: 1) }.max() ?? 0) + 16
        let columns = max(flow.steps.count, 1), rows = max(flow.layers.count, 1)
        let cellWidth = max(2, min(24, 720 / columns)), cellHeight = rows > 24 ? 12 : 18
        let plotLeft = 12 + labelWidth, plotTop = 60, plotWidth = cellWidth * columns, plotHeight = cellHeight * rows
        let barLeft = plotLeft + plotWidth + 30
        var canvas = Canvas(width: barLeft + 90, height: plotTop + max(plotHeight, 120) + 60, background: RGB(250, 250, 250))
        _ = canvas.drawText(title, x: 12, y: 10, scale: 2, color: ink)
        _ = canvas.drawText("GRADIENT NORM PER LAYER (LOG SCALE), SAMPLED THROUGH TRAINING", x: 12, y: 36, scale: 1, color: ink)
        let (low, high) = decades(flow)
        func shade(_ norm: Double) -> RGB {
            guard norm.isFinite else { return RGB(220, 40, 40) }  // a non-finite gradient shows red
            guard norm > 0 else { return stops[0] }
            return color((log10(norm) - Double(low)) / Double(high - low))
        }
        for (row, name) in flow.layers.enumerated() {
            let y = plotTop + row * cellHeight
            _ = canvas.drawText(name, x: plotLeft - 8 - BitmapFont.width(of: name, scale: 1), y: y + (cellHeight - 7) / 2, scale: 1, color: ink)
            for (column, norms) in flow.norms.enumerated() where row < norms.count {
                canvas.fill(x: plotLeft + column * cellWidth, y: y, width: cellWidth, height: cellHeight, color: shade(norms[row]))
            }
        }
        canvas.strokeRectangle(x: plotLeft - 1, y: plotTop - 1, width: plotWidth + 2, height: plotHeight + 2, color: ink)
        // Steps along the bottom: the first, the last and a few between, none so close to the
        // last that their labels would overlap.
        let between = stride(from: 0, to: columns, by: max(1, columns / 5)).filter { $0 < columns - 1 - columns / 10 }
        let ticks = Set([0, columns - 1] + between)
        for column in ticks.sorted() where column < flow.steps.count {
            let x = plotLeft + column * cellWidth + cellWidth / 2, text = String(flow.steps[column])
            canvas.fill(x: x, y: plotTop + plotHeight + 1, width: 1, height: 5, color: ink)
            _ = canvas.drawText(text, x: x - BitmapFont.width(of: text, scale: 1) / 2, y: plotTop + plotHeight + 9, scale: 1, color: ink)
        }
        let stepLabel = "TRAINING STEP"
        _ = canvas.drawText(stepLabel, x: plotLeft + (plotWidth - BitmapFont.width(of: stepLabel, scale: 1)) / 2,
                            y: plotTop + plotHeight + 24, scale: 1, color: ink)
        // The colour bar: one label per decade.
        let barHeight = max(plotHeight, 120)
        for y in 0..<barHeight {
            canvas.fill(x: barLeft, y: plotTop + y, width: 14, height: 1, color: color(1 - Double(y) / Double(barHeight - 1)))
        }
        canvas.strokeRectangle(x: barLeft - 1, y: plotTop - 1, width: 16, height: barHeight + 2, color: ink)
        let labelStep = max(1, (high - low + 5) / 6)
        for decade in stride(from: low, through: high, by: labelStep) {
            let y = plotTop + Int(Double(barHeight - 1) * Double(high - decade) / Double(high - low))
            canvas.fill(x: barLeft + 15, y: y, width: 4, height: 1, color: ink)
            _ = canvas.drawText("1E\(decade)", x: barLeft + 22, y: y - 3, scale: 1, color: ink)
        }
        return canvas
    }
}
