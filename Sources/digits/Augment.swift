// `digits augment`: a picture of an augmentation recipe applied to real digits.
import ArgumentParser
import DigitsKit
import DigitsPresentation
import Foundation

extension DigitsCommand {
    struct Augment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw digits next to augmented versions of themselves.",
            discussion: """
                Each row of the picture is an original digit (framed in yellow, with its label) \
                followed by --variants augmented versions, so you can see whether a recipe still \
                gives plausible handwriting.

                The recipe grammar (--augment), comma-separated, or none:
                  shift=K       random shift of up to ±K whole pixels (zero fill)
                  rotate=D      random rotation of up to ±D degrees
                  scale=S       random scale in [1 − S, 1 + S]
                  shear=H       random horizontal shear in [−H, H]
                  elastic=A:S   elastic distortion (Simard et al. 2003): a random displacement \
                field smoothed by a Gaussian of σ = S pixels, scaled by α = A
                  noise=N       near-Gaussian pixel noise, σ = N in 0–1 units, clipped
                  salt=P        salt-and-pepper noise with probability P per pixel
                  fill=P        with probability P, a box-normalized 1-bit scan: the ink
                                stretched to fill the 20×20 box, sampled at 12–20 pixels,
                                thresholded (as Semeion and form readers store digits)
                Geometry uses bilinear interpolation; pixels from outside the image are background.

                Examples:
                  digits augment --output augment.png
                  digits augment --augment shift=2,noise=0.1,rotate=10,scale=0.1,elastic=34:4 --count 6 --output a.png
                  digits augment --augment shift=1 --measure

                --measure times the recipe instead: every image of the split augmented once on \
                one thread, the way training's background thread does it (median of 3 passes).
                """
        )

        @Option(help: "Directory holding the MNIST files.", completion: .directory)
        var data: String = MNIST.defaultDirectory

        @Option(help: "Which split to draw from: train or test.")
        var split: MNISTSplit = .train

        @Option(help: "The augmentation recipe (see above).")
        var augment: String = "shift=2,rotate=12,scale=0.1,shear=0.15,elastic=34:4"

        @Option(help: "Number of digits (rows).")
        var count: Int = 8

        @Option(help: "Augmented versions per digit.")
        var variants: Int = 8

        @Option(help: "Seed for the random draws.")
        var seed: UInt64 = 1

        @Option(help: "The PNG to write.", completion: .file(extensions: ["png"]))
        var output: String?

        @Flag(help: "Time the recipe over the whole split instead of (or as well as) drawing it.")
        var measure = false

        func validate() throws {
            guard output != nil || measure else {
                throw ValidationError("give --output FILE.png for the picture, or --measure to time the recipe")
            }
            guard (1...100).contains(count) else { throw ValidationError("--count must be in 1...100, got \(count)") }
            guard (1...20).contains(variants) else { throw ValidationError("--variants must be in 1...20, got \(variants)") }
        }

        func run() throws {
            let spec = try AugmentationSpec.parse(augment)
            let dataset = try MNIST.load(from: data, split: split)
            if let output {
                let indices = Array(0..<min(count, dataset.count))
                try AugmentationPreview.render(dataset, indices: indices, spec: spec, variants: variants, seed: seed, path: output)
                    .write(to: output)
                print("wrote \(output): \(indices.count) digits × \(variants) variants of \(spec)")
            }
            if measure {
                let times = AugmentationCost.secondsPerPass(dataset, spec: spec)
                let median = times[times.count / 2]
                print(String(format: "%@: %.3f s per pass over %@ images on one thread (min %.3f, max %.3f); %@ images/s",
                             spec.description, median, formatCount(dataset.count), times.first!, times.last!,
                             formatCount(Int(Double(dataset.count) / median))))
            }
        }
    }
}
