// The brightness of the paper under a digit, as a smooth surface fitted to the picture, and the
// pixel noise on it: what the preprocessor subtracts to find the ink.
import Foundation

/// The paper's brightness as a smooth surface b(x, y) = c0 + c1·x + c2·y + c3·x² + c4·xy + c5·y²
/// (x, y in −1…1), which follows uneven lighting and vignetting. It is fitted to the medians
/// of a grid of blocks (a median ignores strokes thinner than half a block). The fit starts
/// from the median of the outermost ring of blocks, which is paper around almost any digit,
/// and keeps only the blocks within 2.5 robust deviations of the surface (sigma clipping), so
/// blocks full of ink never pull the surface towards the ink, however many of them there are.
/// The ring of blocks, not of pixels: squared paper cut along two of its lines has a ring of
/// pixels half line, and the fit then started, and stayed, at the lines' gray.
struct Background {
    var coefficients: [Double]
    /// Pixel noise on the paper: 1.4826 × the median absolute residual of the paper's pixels.
    var noise: Float

    func value(atX x: Int, y: Int, width: Int, height: Int) -> Float {
        Float(surface(Self.coordinate(Double(x), size: width), Self.coordinate(Double(y), size: height)))
    }

    /// A pixel position along a side of `size` pixels, mapped to −1…1.
    static func coordinate(_ position: Double, size: Int) -> Double {
        size > 1 ? 2 * position / Double(size - 1) - 1 : 0
    }

    func surface(_ x: Double, _ y: Double) -> Double {
        let c = coefficients
        return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
    }

    static func fit(_ image: FloatImage) -> Background {
        let grid = max(2, min(32, min(image.width, image.height) / 4))
        var blocks: [(x0: Int, x1: Int, y0: Int, y1: Int)] = []
        var points: [(x: Double, y: Double, value: Double)] = []
        var histogram = [Int](repeating: 0, count: 256)
        for gy in 0..<grid {
            let y0 = gy * image.height / grid, y1 = (gy + 1) * image.height / grid
            for gx in 0..<grid {
                let x0 = gx * image.width / grid, x1 = (gx + 1) * image.width / grid
                guard x1 > x0, y1 > y0 else { continue }
                for bin in histogram.indices { histogram[bin] = 0 }
                for y in y0..<y1 {
                    for x in x0..<x1 { histogram[min(255, Int(image.values[y * image.width + x] * 255 + 0.5))] += 1 }
                }
                let half = (x1 - x0) * (y1 - y0) / 2
                var seen = 0, median = 0
                for (bin, count) in histogram.enumerated() {
                    seen += count
                    if seen > half { median = bin; break }
                }
                let cx = Double(x0 + x1 - 1) / 2, cy = Double(y0 + y1 - 1) / 2
                blocks.append((x0, x1, y0, y1))
                points.append((coordinate(cx, size: image.width), coordinate(cy, size: image.height), Double(median) / 255))
            }
        }
        var ring: [Double] = []
        for (block, point) in zip(blocks, points)
        where block.x0 == 0 || block.y0 == 0 || block.x1 == image.width || block.y1 == image.height {
            ring.append(point.value)
        }
        let level = median(ring)
        var background = Background(coefficients: [level, 0, 0, 0, 0, 0], noise: 0)
        var limit = 2.5 * 1.4826 * median(ring.map { abs($0 - level) }) + 6.0 / 255
        var inliers = [Bool](repeating: true, count: points.count)
        for _ in 0..<5 {
            inliers = points.map { abs($0.value - background.surface($0.x, $0.y)) <= limit }
            guard inliers.filter({ $0 }).count >= 12,
                  let solved = solve(points, inliers.map { $0 ? 1 : 0 }) else { break }
            background.coefficients = solved
            let residuals = zip(points, inliers).filter(\.1).map { abs($0.0.value - background.surface($0.0.x, $0.0.y)) }
            limit = 2.5 * 1.4826 * median(residuals) + 6.0 / 255
        }
        inliers = points.map { abs($0.value - background.surface($0.x, $0.y)) <= limit }
        var residuals: [Float] = []
        for (block, inlier) in zip(blocks, inliers) where inlier {
            for y in block.y0..<block.y1 {
                for x in block.x0..<block.x1 {
                    residuals.append(image.values[y * image.width + x] - background.value(atX: x, y: y, width: image.width, height: image.height))
                }
            }
        }
        background.noise = residuals.isEmpty ? 0 : DigitPreprocessor.noiseLevel(residuals)
        return background
    }

    static func median(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.sorted()[values.count / 2]
    }

    /// Weighted least squares for the six coefficients (normal equations, Gaussian elimination
    /// with partial pivoting). nil when the system is singular.
    static func solve(_ points: [(x: Double, y: Double, value: Double)], _ weights: [Double]) -> [Double]? {
        var matrix = [[Double]](repeating: [Double](repeating: 0, count: 7), count: 6)
        for (point, weight) in zip(points, weights) where weight > 0 {
            let basis = [1, point.x, point.y, point.x * point.x, point.x * point.y, point.y * point.y]
            for i in 0..<6 {
                for j in 0..<6 { matrix[i][j] += weight * basis[i] * basis[j] }
                matrix[i][6] += weight * basis[i] * point.value
            }
        }
        for column in 0..<6 {
            guard let pivot = (column..<6).max(by: { abs(matrix[$0][column]) < abs(matrix[$1][column]) }),
                  abs(matrix[pivot][column]) > 1e-9 else { return nil }
            matrix.swapAt(column, pivot)
            for row in 0..<6 where row != column {
                let factor = matrix[row][column] / matrix[column][column]
                for k in column..<7 { matrix[row][k] -= factor * matrix[column][k] }
            }
        }
        return (0..<6).map { matrix[$0][6] / matrix[$0][$0] }
    }
}
