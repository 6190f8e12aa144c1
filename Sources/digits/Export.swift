// `digits export`: a checkpoint as an ONNX file (DigitsKit's ONNXExport), written atomically.
import ArgumentParser
@_spi(Tools) import DigitsKit
import Foundation

extension DigitsCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a checkpoint as an ONNX model, to run it in onnxruntime or any ONNX tool.",
            discussion: """
                Writes an ONNX file (opset 13, IR version 7) holding the whole model, input \
                standardization included:

                  input          float [N, 1, 28, 28], pixels in 0–1 with the ink bright, as \
                MNIST's (N is free: any batch size)
                  logits         float [N, classes], the model's raw outputs
                  probabilities  float [N, classes], their softmax

                For a model with the "not a digit" class (the shipped ones), that class is \
                the last of the classes. The layers are the checkpoint's, in NCHW with its \
                PyTorch-shaped weights; BatchNorm is folded into the convolution or dense layer \
                before it, and dropout (the identity in inference) is left out. The architecture \
                is recorded in the file's metadata_props.

                scripts/check-onnx checks an export with the onnx package's checker and \
                onnxruntime, against `digits evaluate --logits` on the 10,000 test images.

                Examples:
                  digits export checkpoints/cnn.safetensors --output cnn.onnx
                  digits export checkpoints/mlp.safetensors --format onnx --output mlp.onnx
                """
        )

        @Argument(help: ArgumentHelp("The checkpoint to export.", valueName: "model.safetensors"),
                  completion: .file(extensions: ["safetensors"]))
        var model: String

        @Option(help: "The format to write: onnx (the only one).", completion: .list(["onnx"]))
        var format: String = "onnx"

        @Option(help: ArgumentHelp("The file to write (default: the checkpoint's name with .onnx).", valueName: "file.onnx"),
                completion: .file(extensions: ["onnx"]))
        var output: String?

        func validate() throws {
            guard format == "onnx" else { throw ValidationError("--format \(format) is not supported; the formats are: onnx") }
        }

        func run() throws {
            let (network, _) = try Checkpoint.loadModel(from: model)
            let bytes = try ONNXExport.encode(network, path: model, producerVersion: DigitsVersion.string)
            let destination = output ?? ((model as NSString).deletingPathExtension + ".onnx")
            try Files.writeAtomically(bytes, to: destination)
            print("wrote \(destination): \(network.architecture.model), \(formatCount(network.parameterCount)) parameters, opset \(ONNXExport.opset), input [N, \(network.architecture.input.map(String.init).joined(separator: ", "))] in 0–1, outputs logits and probabilities [N, \(network.architecture.classes)] (\(formatCount(bytes.count)) bytes)")
        }
    }
}
