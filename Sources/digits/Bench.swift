// `digits bench`: the speed figures in one run: training and inference throughput of each
// model, GEMM speed at the models' shapes, IDX loading and one `classify` as a whole process.
import ArgumentParser
@_spi(Tools) import DigitsKit
import DigitsPresentation
import Foundation

extension DigitsCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure training and inference speed, GEMM GFLOP/s, IDX loading and classify latency.",
            discussion: """
                Every figure is the median of --repetitions timed runs after a warm-up, with the \
                slowest and fastest run beside it. Throughput is measured on real MNIST images:
                  training: full steps (forward, loss, backward, Adam) on batches of 128, no augmentation;
                  inference: the compiled inference path evaluate and classify use, from raw
                             pixels (normalization included), one image at a time (batch 1)
                             and 1000 at a time (batch 1000);
                  GEMM: BLAS sgemm at the models' layer shapes, as the machine's reference;
                  IDX load: reading and decompressing the 60,000 training images and labels;
                  classify: `digits classify` of one 28×28 PNG as a separate process (start,
                            model load, preprocessing, prediction).
                Compare figures from the same run only: this kind of machine wanders by ±20%.

                Examples:
                  digits bench
                  digits bench --threads 1 --json
                """
        )

        @Option(help: "Directory holding the MNIST files.", completion: .directory)
        var data: String = MNIST.defaultDirectory

        @Option(help: "Threads (default: one per core).")
        var threads: Int?

        @Option(help: "Timed repetitions per figure.")
        var repetitions: Int = 5

        @Option(help: "Models to measure, comma-separated.", completion: .list(Recipe.modelNames))
        var models: String = "mlp,cnn-basic,cnn"

        @Flag(help: "Print the figures as JSON on stdout, and nothing else there.")
        var json = false

        var modelList: [String] { models.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

        func validate() throws {
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
            guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
            if let unknown = modelList.first(where: { Recipe.named($0) == nil }) {
                throw ValidationError("--models: \(unknown) is not a model; the models are \(Recipe.modelNames.joined(separator: ", "))")
            }
        }

        func run() throws {
            try BLAS.load()
            let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
            let say: (String) -> Void = json ? { _ in } : { print($0); fflush(nil) }
            let environment = ProcessInfo.processInfo.environment
            let compute = ComputeContext(threads: threadCount)
            let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
                .split(separator: "\n").first { $0.hasPrefix("model name") }?
                .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown"
            say("BLAS: \(BLASCore.summary(environment: environment, threads: threadCount))")
            say("CPU: \(cpu); inference kernels: \(InferencePlan.kernels)")
            say("each figure: median of \(repetitions) runs after a warm-up [slowest … fastest]")
            say("")

            let dataset = try MNIST.load(from: data, split: .train)  // also the warm-up
            let load = Timing.measure(repetitions: repetitions, warmup: 0) { _ = try? MNIST.load(from: data, split: .train) }
            say(String(format: "IDX load (60,000 training images and labels, gzip): %.3f s [%.3f … %.3f]",
                       load.median, load.maximum, load.minimum))

            var results: [String: Any] = [
                "blas": BLAS.configuration, "blas_core": BLAS.coreName, "threads": threadCount, "cpu": cpu,
                "inference_kernels": InferencePlan.kernels,
                "repetitions": repetitions, "idx_load_seconds": load.median,
                "idx_load_seconds_range": [load.minimum, load.maximum],
            ]

            say("")
            say("model        train img/s                   infer batch 1 img/s          infer batch 1000 img/s")
            for name in modelList {
                let recipe = Recipe.named(name)!
                let architecture = recipe.architecture()
                let convolutional = architecture.isConvolutional
                let train = try SpeedBench.training(architecture, dataset: dataset, steps: convolutional ? (name == "cnn" ? 6 : 12) : 100,
                                                    repetitions: repetitions, compute: compute)
                let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2),
                                           compute: compute)
                let single = SpeedBench.inference(model, dataset: dataset, batchSize: 1, images: convolutional ? 500 : 5000,
                                                  repetitions: repetitions)
                let large = SpeedBench.inference(model, dataset: dataset, batchSize: 1000, images: convolutional ? 2000 : 10000,
                                                 repetitions: repetitions)
                say(name.rightPadded(to: 13) + cell(train) + cell(single) + cell(large))
                var figures: [String: Any] = [:]
                for (key, throughput) in [("train", train), ("infer_batch1", single), ("infer_batch1000", large)] {
                    figures["\(key)_images_per_second"] = throughput.median
                    figures["\(key)_images_per_second_range"] = [throughput.minimum, throughput.maximum]
                }
                results[name.replacingOccurrences(of: "-", with: "_")] = figures
            }

            say("")
            say("GEMM (sgemm, GFLOP/s)")
            var gemmResults: [[String: Any]] = []
            for speed in SpeedBench.gemm(repetitions: repetitions, compute: compute) {
                say("  " + speed.name.rightPadded(to: 46) + String(format: "%7.1f [%.1f … %.1f]", speed.gflops.median,
                                                                    speed.gflops.minimum, speed.gflops.maximum))
                gemmResults.append(["shape": speed.name, "m": speed.m, "n": speed.n, "k": speed.k,
                                    "gflops": speed.gflops.median, "gflops_range": [speed.gflops.minimum, speed.gflops.maximum]])
            }
            results["gemm"] = gemmResults

            say("")
            if let latency = try classifyLatency(dataset: dataset) {
                say(String(format: "classify one 28×28 PNG, whole process: %.1f ms [%.1f … %.1f]",
                           latency.median * 1000, latency.maximum * 1000, latency.minimum * 1000))
                results["classify_ms"] = latency.median * 1000
                results["classify_ms_range"] = [latency.minimum * 1000, latency.maximum * 1000]
            } else {
                say("classify: skipped (no checkpoints/cnn.safetensors)")
            }

            if json {
                let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            }
        }

        func cell(_ throughput: Throughput) -> String {
            let text = "\(formatCount(Int(throughput.median.rounded()))) [\(formatCount(Int(throughput.minimum.rounded())))…\(formatCount(Int(throughput.maximum.rounded())))]"
            return text.rightPadded(to: 30)
        }

        /// `digits classify` of the first test digit, run as its own process with the shipped CNN.
        func classifyLatency(dataset: DigitDataset) throws -> Timing? {
            let model = ModelFile.resolve(nil)
            guard FileManager.default.fileExists(atPath: model) else { return nil }
            let directory = NSTemporaryDirectory() + "digits-bench-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let picture = directory + "/digit.png"
            try PNG.write(dataset.image(at: 0), to: picture)
            // posix_spawn and waitpid: Foundation's Process polls for the child's exit, which
            // would add its polling interval to every measurement.
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let arguments = [executable, "classify", picture, "--model", model]
            var failed = false
            let timing = Timing.measure(repetitions: max(repetitions, 7), warmup: 2) {
                var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                var argv = arguments.map { strdup($0) } + [nil]
                defer { argv.forEach { free($0) } }
                var pid: pid_t = 0
                guard posix_spawn(&pid, executable, &actions, nil, &argv, environ) == 0 else { failed = true; return }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                if status != 0 { failed = true }
            }
            return failed ? nil : timing
        }
    }
}
