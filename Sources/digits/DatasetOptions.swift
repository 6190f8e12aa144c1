// The options that name a labelled dataset, shared by `inspect` and `evaluate`: an MNIST split
// in a directory, or any IDX image/label pair.
import ArgumentParser
import DigitsKit
import Foundation

struct DatasetOptions: ParsableArguments {
    @Option(help: "Directory holding the MNIST files (train-images-idx3-ubyte.gz, ...).", completion: .directory)
    var data: String = MNIST.defaultDirectory

    @Option(help: "Which MNIST split: train or test (default: train for inspect, test for evaluate).")
    var split: MNISTSplit?

    @Option(help: "IDX image file to use instead of an MNIST split (needs --labels).", completion: .file())
    var images: String?

    @Option(help: "IDX label file that goes with --images.", completion: .file())
    var labels: String?

    func validate() throws {
        guard (images == nil) == (labels == nil) else {
            throw ValidationError("--images and --labels go together: pass both, or neither to use --data and --split")
        }
    }

    /// True when the data is an MNIST split rather than a user's IDX pair.
    var isMNIST: Bool { images == nil }

    /// The dataset and what to call it in titles: "MNIST test", or the image file.
    func load(defaultSplit: MNISTSplit) throws -> (dataset: DigitDataset, name: String, split: MNISTSplit?) {
        if let images, let labels {
            return (try DigitDataset.load(images: images, labels: labels), images, nil)
        }
        let chosen = split ?? defaultSplit
        return (try MNIST.load(from: data, split: chosen), "MNIST \(chosen.rawValue)", chosen)
    }
}
