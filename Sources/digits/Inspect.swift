// `digits inspect`: what is in a dataset (counts, shape, label histogram, pixel statistics),
// optionally a labelled picture of the first digits; or what one file holds.
import ArgumentParser
@_spi(Tools) import DigitsKit
import DigitsPresentation
import Foundation

extension DigitsCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a dataset or a file holds, and draw its first digits.",
            discussion: """
                Loads the IDX image and label files of one split (raw or gzip, detected by \
                content), validates them, and prints the image count and shape, the label \
                histogram, and the pixel mean and standard deviation (in 0–255 units and \
                scaled to 0–1, the normalization the models use).

                Given FILE arguments instead, it describes each one: an IDX file (any element \
                type, raw or gzip), a PNG or JPEG picture (size, layout, EXIF orientation), or \
                a digits checkpoint (its model, parameters, \
                classes and how it was trained), recognized by content.

                Examples:
                  digits inspect
                  digits inspect datasets/mnist/t10k-labels-idx1-ubyte.gz drawing.png
                  digits inspect checkpoints/cnn.safetensors
                  digits inspect --split test --count 16 --grid grid.png
                  digits inspect --images my-images.idx --labels my-labels.idx --json
                  digits inspect --split test --export out/mnist-test-png
                """
        )

        @Argument(help: "IDX, PNG, JPEG or checkpoint files to describe, instead of a dataset.", completion: .file())
        var files: [String] = []

        @OptionGroup var source: DatasetOptions

        @Option(help: "Number of digits drawn in the --grid picture (default 64), or exported with --export (default all).")
        var count: Int?

        @Option(help: "Write a PNG of the first --count digits, each labelled.", completion: .file(extensions: ["png"]))
        var grid: String?

        @Option(help: "Write every image (up to --count when given) as a PNG file, INDEX-LABEL.png, into this directory.", completion: .directory)
        var export: String?

        @Flag(help: "Print the summary as JSON on stdout.")
        var json = false

        func validate() throws {
            guard files.isEmpty || (source.isMNIST && grid == nil && export == nil && !json) else {
                throw ValidationError("FILE arguments are described one by one; --images, --grid and --json apply to datasets")
            }
            if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        }

        func run() throws {
            if !files.isEmpty {
                for file in files { try DataFile.describe(file).forEach { print($0) } }
                return
            }
            let start = DispatchTime.now()
            let (dataset, name, _) = try source.load(defaultSplit: .train)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9

            let histogram = dataset.labelHistogram()
            let (mean, deviation) = dataset.pixelStatistics()

            var gridPath: String?
            if let grid {
                let shown = Array(0..<min(count ?? 64, dataset.count))
                let title = "\(name): \(shown.count == dataset.count ? "all" : "first \(shown.count)")"
                try DigitGrid.render(dataset, indices: shown, title: title, path: grid).write(to: grid)
                gridPath = grid
            }

            var exported = 0
            if let export {
                exported = min(count ?? dataset.count, dataset.count)
                try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
                let width = max(5, String(dataset.count - 1).count)
                for index in 0..<exported {
                    let name = "\(String(index).leftPadded(to: width))-\(dataset.labels[index]).png"
                    try PNG.write(dataset.image(at: index), to: (export as NSString).appendingPathComponent(name))
                }
            }

            if json {
                let summary: [String: Any] = [
                    "images_path": dataset.imagesPath,
                    "labels_path": dataset.labelsPath,
                    "count": dataset.count,
                    "shape": [dataset.rows, dataset.columns],
                    "label_histogram": histogram,
                    "pixel_mean": mean,
                    "pixel_std": deviation,
                    "load_seconds": seconds,
                ].merging(gridPath.map { ["grid": $0] } ?? [:]) { first, _ in first }
                let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }

            print("\(name): \(dataset.count) images of \(dataset.rows)×\(dataset.columns), loaded in \(String(format: "%.3f", seconds)) s")
            print("  images: \(dataset.imagesPath)")
            print("  labels: \(dataset.labelsPath)")
            print("label histogram:")
            let largest = max(histogram.max() ?? 1, 1)
            for (label, frequency) in histogram.enumerated() {
                let bar = String(repeating: "█", count: Int((Double(frequency) / Double(largest) * 40).rounded()))
                let share = String(format: "%5.2f%%", 100 * Double(frequency) / Double(max(dataset.count, 1)))
                print("  \(label)  \(String(frequency).leftPadded(to: 6, with: " "))  \(share)  \(bar)")
            }
            print(String(format: "pixels: mean %.2f, std %.2f (0–255); mean %.4f, std %.4f (0–1)",
                         mean, deviation, mean / 255, deviation / 255))
            if let gridPath { print("wrote \(gridPath)") }
            if let export { print("wrote \(formatCount(exported)) PNG files to \(export) (INDEX-LABEL.png)") }
        }
    }
}
