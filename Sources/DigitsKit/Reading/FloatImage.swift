// The preprocessor's working picture: 0–1 floats, with the resampling (area averaging when
// shrinking), cropping, stroke measurement and morphology that preparing a digit needs.

/// A grayscale picture as 0–1 floats, row-major: the preprocessor's working form.
struct FloatImage: Sendable {
    var width: Int
    var height: Int
    /// (height, width)
    var values: [Float]

    init(width: Int, height: Int, values: [Float]) {
        self.width = width; self.height = height; self.values = values
    }

    init(_ image: GrayImage) {
        self.init(width: image.width, height: image.height, values: image.pixels.map { Float($0) / 255 })
    }

    func cropped(x: Int, y: Int, width w: Int, height h: Int) -> FloatImage {
        var values = [Float](repeating: 0, count: w * h)
        for row in 0..<h {
            for column in 0..<w { values[row * w + column] = self.values[(y + row) * width + x + column] }
        }
        return FloatImage(width: w, height: h, values: values)
    }

    /// Resampled to `w`×`h`, one axis at a time. Shrinking averages each output pixel's
    /// footprint exactly (area averaging: fractional overlaps weighted by their length), which
    /// is the anti-aliasing MNIST used; enlarging interpolates linearly.
    func resized(width w: Int, height h: Int) -> FloatImage {
        if w == width && h == height { return self }
        return values.withUnsafeBufferPointer { values in
            Self.resample(width: width, height: height, to: w, h) { values[$0] }
        }
    }

    /// A picture reduced by `factor` as it is converted: the same values as
    /// `FloatImage(image).scaled(by: factor)`, without the full-size float copy (4 bytes a
    /// pixel: 92 MB for a 23-megapixel photo).
    init(_ image: GrayImage, scaledBy factor: Double) {
        let w = max(1, Int((Double(image.width) * factor).rounded())), h = max(1, Int((Double(image.height) * factor).rounded()))
        self = image.pixels.withUnsafeBufferPointer { pixels in
            Self.resample(width: image.width, height: image.height, to: w, h) { Float(pixels[$0]) / 255 }
        }
    }

    /// The two passes of `resized`, reading the source through `value` (its row-major index).
    private static func resample(width: Int, height: Int, to w: Int, _ h: Int, value: (Int) -> Float) -> FloatImage {
        let horizontal = weights(from: width, to: w)
        var across = [Float](repeating: 0, count: w * height)
        for row in 0..<height {
            for (column, taps) in horizontal.enumerated() {
                var sum: Float = 0
                for tap in taps { sum += value(row * width + tap.index) * tap.weight }
                across[row * w + column] = sum
            }
        }
        let vertical = weights(from: height, to: h)
        var result = [Float](repeating: 0, count: w * h)
        for (row, taps) in vertical.enumerated() {
            for tap in taps {
                for column in 0..<w { result[row * w + column] += across[tap.index * w + column] * tap.weight }
            }
        }
        return FloatImage(width: w, height: h, values: result)
    }

    /// Resampled by `factor` on both sides (as `resized`), each side rounded and at least 1.
    func scaled(by factor: Double) -> FloatImage {
        resized(width: max(1, Int((Double(width) * factor).rounded())), height: max(1, Int((Double(height) * factor).rounded())))
    }

    /// For each output pixel along an axis, the input pixels it reads and their weights
    /// (summing to 1).
    static func weights(from input: Int, to output: Int) -> [[(index: Int, weight: Float)]] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            if scale >= 1 {
                let start = Double(o) * scale, end = start + scale
                var taps: [(index: Int, weight: Float)] = []
                var i = Int(start)
                while Double(i) < end && i < input {
                    let overlap = min(end, Double(i + 1)) - max(start, Double(i))
                    if overlap > 1e-9 { taps.append((i, Float(overlap / scale))) }
                    i += 1
                }
                return taps
            }
            let position = min(max((Double(o) + 0.5) * scale - 0.5, 0), Double(input - 1))
            let low = Int(position), high = min(low + 1, input - 1)
            let t = Float(position - Double(low))
            return high == low ? [(index: low, weight: Float(1))] : [(index: low, weight: 1 - t), (index: high, weight: t)]
        }
    }

    /// Divides by the median of the inked values (clamping at 1), so that the cores
    /// of strokes are full strength however faint they were.
    mutating func stretch() {
        let inked = values.filter { $0 > 0.05 }
        guard !inked.isEmpty else { return }
        let strength = DigitPreprocessor.percentile(inked, 0.5)
        for index in values.indices { values[index] = min(1, values[index] / strength) }
    }

    /// Stroke width: 2·mass / perimeter, which is exact for a long stroke of constant width.
    /// The mass is the sum of the values (anti-aliased edges count by their strength); the
    /// perimeter is that of the pixels with any ink. nil when there is no ink.
    func strokeWidth() -> Float? {
        var area: Float = 0, perimeter = 0
        func inked(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < width && y < height && values[y * width + x] > 0.05
        }
        for y in 0..<height {
            for x in 0..<width where inked(x, y) {
                area += values[y * width + x]
                if !inked(x - 1, y) { perimeter += 1 }
                if !inked(x + 1, y) { perimeter += 1 }
                if !inked(x, y - 1) { perimeter += 1 }
                if !inked(x, y + 1) { perimeter += 1 }
            }
        }
        return perimeter == 0 ? nil : 2 * area / Float(perimeter)
    }

    /// 1 where the value is over ½, 0 elsewhere: the firm ink, whose pieces faint strokes and
    /// an unevenly lit background do not join.
    var solid: FloatImage {
        FloatImage(width: width, height: height, values: values.map { $0 > 0.5 ? 1 : 0 })
    }

    /// The mean over each pixel's 3×3 neighbourhood (within the picture): pixel noise a third
    /// as strong, strokes and the light's changes kept.
    func boxSmoothed() -> FloatImage {
        var result = self
        for y in 0..<height {
            for x in 0..<width {
                var sum: Float = 0, count: Float = 0
                for ny in max(0, y - 1)...min(height - 1, y + 1) {
                    for nx in max(0, x - 1)...min(width - 1, x + 1) { sum += values[ny * width + nx]; count += 1 }
                }
                result.values[y * width + x] = sum / count
            }
        }
        return result
    }

    /// Minimum over a (2r+1)² square, separably (rows, then columns); outside counts as 0.
    func eroded(square r: Int) -> FloatImage {
        guard r > 0, width > 0, height > 0 else { return self }
        let across = Self.minimumAlongRows(values, width: width, height: height, reach: r)
        return FloatImage(width: width, height: height, values: Self.minimumAlongColumns(across, width: width, height: height, reach: r))
    }

    /// Maximum over a (2r+1)² square (outside counting as 0): the erosion of the inverse,
    /// framed so that the outside does not grow in from the edges; as cheap as `eroded`.
    func dilated(square r: Int) -> FloatImage {
        guard r > 0 else { return self }
        let framedWidth = width + 2 * r, framedHeight = height + 2 * r
        var inverse = FloatImage(width: framedWidth, height: framedHeight, values: [Float](repeating: 1, count: framedWidth * framedHeight))
        for y in 0..<height {
            for x in 0..<width { inverse.values[(y + r) * framedWidth + x + r] = 1 - values[y * width + x] }
        }
        let eroded = inverse.eroded(square: r)
        var result = self
        for y in 0..<height {
            for x in 0..<width { result.values[y * width + x] = 1 - eroded.values[(y + r) * framedWidth + x + r] }
        }
        return result
    }

    /// Minimum over a (2r+1)² square with the outside left out (not counted as 0): the
    /// inverse of the dilation of the inverse, which `dilated` frames so the outside never wins.
    func erodedWithin(square r: Int) -> FloatImage {
        var inverse = self
        for index in inverse.values.indices { inverse.values[index] = 1 - inverse.values[index] }
        var result = inverse.dilated(square: r)
        for index in result.values.indices { result.values[index] = 1 - result.values[index] }
        return result
    }

    // Van Herk and Gil and Werman's running minimum: a line, padded with `reach` zeros at each
    // end, is cut into blocks of one window (2·reach + 1); every window spans the end of one
    // block and the start of the next, so its minimum is that of a running minimum from the
    // right within the first and one from the left within the second: three comparisons a
    // sample, whatever the reach (the direct loop took 2·reach + 1, a fifth of a number's
    // classify time on a photo). Output i's window is padded samples i...i + 2·reach.

    /// The minimum within `reach` along each row; samples past the ends count as 0.
    static func minimumAlongRows(_ values: [Float], width: Int, height: Int, reach: Int) -> [Float] {
        let window = 2 * reach + 1, padded = width + 2 * reach
        var result = values
        var line = [Float](repeating: 0, count: padded), fromLeft = line, fromRight = line
        line.withUnsafeMutableBufferPointer { line in
            fromLeft.withUnsafeMutableBufferPointer { fromLeft in
                fromRight.withUnsafeMutableBufferPointer { fromRight in
                    values.withUnsafeBufferPointer { values in
                        result.withUnsafeMutableBufferPointer { result in
                            for row in 0..<height {
                                for x in 0..<width { line[reach + x] = values[row * width + x] }
                                for start in stride(from: 0, to: padded, by: window) {
                                    let end = min(start + window, padded)
                                    // The running value kept in a register, not read back from the store.
                                    var low = line[start]
                                    fromLeft[start] = low
                                    for i in (start + 1)..<end { low = min(low, line[i]); fromLeft[i] = low }
                                    low = line[end - 1]
                                    fromRight[end - 1] = low
                                    for i in stride(from: end - 2, through: start, by: -1) { low = min(low, line[i]); fromRight[i] = low }
                                }
                                for x in 0..<width { result[row * width + x] = min(fromRight[x], fromLeft[x + 2 * reach]) }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// The minimum within `reach` along each column; samples past the ends count as 0. The
    /// same running minima as `minimumAlongRows`, taken a whole row at a time, so that memory
    /// is read in order rather than a row's length apart.
    static func minimumAlongColumns(_ values: [Float], width: Int, height: Int, reach: Int) -> [Float] {
        let window = 2 * reach + 1, padded = height + 2 * reach
        var result = values
        var fromLeft = [Float](repeating: 0, count: padded * width), fromRight = fromLeft
        let zeros = [Float](repeating: 0, count: width)
        fromLeft.withUnsafeMutableBufferPointer { fromLeft in
            fromRight.withUnsafeMutableBufferPointer { fromRight in
                values.withUnsafeBufferPointer { values in
                    zeros.withUnsafeBufferPointer { zeros in
                        result.withUnsafeMutableBufferPointer { result in
                            let left = fromLeft.baseAddress!, right = fromRight.baseAddress!
                            /// Padded row p: the picture's row p - reach, 0 beyond it.
                            func row(_ p: Int) -> UnsafePointer<Float> {
                                p < reach || p >= reach + height ? zeros.baseAddress! : values.baseAddress! + (p - reach) * width
                            }
                            for start in stride(from: 0, to: padded, by: window) {
                                let end = min(start + window, padded)
                                (left + start * width).update(from: row(start), count: width)
                                for p in (start + 1)..<end {
                                    let previous = left + (p - 1) * width, current = left + p * width, sample = row(p)
                                    for x in 0..<width { current[x] = min(previous[x], sample[x]) }
                                }
                                (right + (end - 1) * width).update(from: row(end - 1), count: width)
                                for p in stride(from: end - 2, through: start, by: -1) {
                                    let next = right + (p + 1) * width, current = right + p * width, sample = row(p)
                                    for x in 0..<width { current[x] = min(next[x], sample[x]) }
                                }
                            }
                            for row in 0..<height {
                                let fromRight = right + row * width, fromLeft = left + (row + 2 * reach) * width
                                for x in 0..<width { result[row * width + x] = min(fromRight[x], fromLeft[x]) }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Grayscale dilation (maximum) or erosion (minimum) over a disc of `radius` pixels. The
    /// image is padded with background, so erosion eats strokes at the border too.
    func filtered(radius: Float, keepMaximum: Bool) -> FloatImage {
        let reach = Int(radius.rounded(.up))
        var offsets: [(Int, Int)] = []
        for dy in -reach...reach {
            for dx in -reach...reach where Float(dx * dx + dy * dy) <= radius * radius + 0.5 { offsets.append((dx, dy)) }
        }
        var result = values
        for y in 0..<height {
            for x in 0..<width {
                var value: Float = keepMaximum ? 0 : 1
                for (dx, dy) in offsets {
                    let nx = x + dx, ny = y + dy
                    let sample: Float = nx >= 0 && ny >= 0 && nx < width && ny < height ? values[ny * width + nx] : 0
                    value = keepMaximum ? max(value, sample) : min(value, sample)
                }
                result[y * width + x] = value
            }
        }
        return FloatImage(width: width, height: height, values: result)
    }
}
