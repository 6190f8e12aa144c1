// An RGB drawing surface for the pictures digits writes (digit grids, later reports):
// rectangles, scaled grayscale images and text in a built-in 5×7 pixel font, saved as PNG.
import DigitsKit

package struct RGB: Equatable, Sendable {
    package var red: UInt8, green: UInt8, blue: UInt8
    package init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red; self.green = green; self.blue = blue
    }
    package static let black = RGB(0, 0, 0)
    package static let white = RGB(255, 255, 255)
}

package struct Canvas: Sendable {
    package let width: Int
    package let height: Int
    /// (height, width, 3), row-major RGB.
    package private(set) var samples: [UInt8]

    package init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "canvas size \(width)×\(height) must be positive")
        self.width = width
        self.height = height
        samples = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    package subscript(x: Int, y: Int) -> RGB {
        let offset = (y * width + x) * 3
        return RGB(samples[offset], samples[offset + 1], samples[offset + 2])
    }

    /// Sets one pixel; points outside the canvas are ignored.
    package mutating func set(x: Int, y: Int, _ color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let offset = (y * width + x) * 3
        samples[offset] = color.red
        samples[offset + 1] = color.green
        samples[offset + 2] = color.blue
    }

    package mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGB) {
        for row in max(y, 0)..<max(min(y + h, height), max(y, 0)) {
            for column in max(x, 0)..<max(min(x + w, width), max(x, 0)) { set(x: column, y: row, color) }
        }
    }

    /// Draws a grayscale image magnified `scale` times (nearest neighbour, so pixels stay
    /// visible), mapping 0 to `background` and 255 to `ink`.
    package mutating func draw(_ image: GrayImage, x: Int, y: Int, scale: Int = 1,
                              ink: RGB = .white, background: RGB = .black) {
        for row in 0..<image.height {
            for column in 0..<image.width {
                let t = Int(image[column, row])
                let color = RGB(UInt8((Int(background.red) * (255 - t) + Int(ink.red) * t) / 255),
                                UInt8((Int(background.green) * (255 - t) + Int(ink.green) * t) / 255),
                                UInt8((Int(background.blue) * (255 - t) + Int(ink.blue) * t) / 255))
                fill(x: x + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    /// Characters the font lacks are drawn as a box. Returns the width drawn.
    @discardableResult
    package mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: RGB) -> Int {
        var cursor = x
        for character in text {
            let glyph = BitmapFont.glyph(for: character)
            for (row, bits) in glyph.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    fill(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
                }
            }
            cursor += BitmapFont.advance * scale
        }
        return cursor - x
    }

    /// A straight line `width` pixels thick with round ends, drawn as discs every half pixel
    /// (plots are small, so simplicity beats a scanline algorithm).
    package mutating func drawLine(from start: (x: Double, y: Double), to end: (x: Double, y: Double),
                                  width: Double = 2, color: RGB) {
        let length = ((end.x - start.x) * (end.x - start.x) + (end.y - start.y) * (end.y - start.y)).squareRoot()
        let steps = max(1, Int((length * 2).rounded(.up)))
        let radius = max(width / 2, 0.5)
        let reach = Int(radius.rounded(.up))
        for step in 0...steps {
            let t = Double(step) / Double(steps)
            let x = start.x + (end.x - start.x) * t, y = start.y + (end.y - start.y) * t
            let cx = Int(x.rounded()), cy = Int(y.rounded())
            for dy in -reach...reach {
                for dx in -reach...reach where Double(dx * dx + dy * dy) <= radius * radius + 0.25 {
                    set(x: cx + dx, y: cy + dy, color)
                }
            }
        }
    }

    /// An outline `thickness` pixels wide, inside the rectangle.
    package mutating func strokeRectangle(x: Int, y: Int, width w: Int, height h: Int, thickness: Int = 1, color: RGB) {
        fill(x: x, y: y, width: w, height: thickness, color: color)
        fill(x: x, y: y + h - thickness, width: w, height: thickness, color: color)
        fill(x: x, y: y, width: thickness, height: h, color: color)
        fill(x: x + w - thickness, y: y, width: thickness, height: h, color: color)
    }

    /// The picture as PNG bytes, in memory.
    package func pngBytes() throws -> [UInt8] {
        try PNG.encode(width: width, height: height, layout: .rgb, samples: samples)
    }

    package func write(to path: String) throws {
        try PNG.write(width: width, height: height, layout: .rgb, samples: samples, to: path)
    }
}
