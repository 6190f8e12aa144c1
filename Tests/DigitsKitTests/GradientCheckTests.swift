// Every layer's backward pass and the fused loss, checked against central finite differences,
// plus two networks whose behaviour is known: XOR, and the course notes' hand-worked 2-2-1
// (forward and backward).
import Testing
@_spi(Tools) @testable import DigitsKit

/// Checks a layer's input and parameter gradients numerically. The scalar under test is
/// L = Σ y·r for a fixed random r, so dL/dy = r exercises every output.
///
/// Tolerance: the layers compute in Float32 (ε ≈ 1.2e−7). With step h = 1e−2 the central
/// difference has truncation error O(h²·f‴) ≈ 1e−4 for these smooth, O(1) functions, and
/// rounding error about ε·|L|/h ≈ 1e−5·|L|; so |analytic − numeric| ≤ 2e−3 + 2e−2·|numeric|
/// separates a correct gradient (errors ~1e−4) from a wrong one (errors ~1e−1 or more).
/// Inputs are kept at least 0.1 away from ReLU's kink so the function is smooth there. Layers
/// with ReLUs inside (a residual block) use a smaller step, 1e−3, so that a pre-activation
/// near 0 is less likely to cross the kink within the difference.
func checkGradients(of layer: any Layer, input: Tensor, training: Bool = true, beforeForward: () -> Void = {},
                    step: Float = 1e-2, sourceLocation: SourceLocation = #_sourceLocation) {
    let random = RandomGenerator(seed: 99)
    beforeForward()
    let output = layer.forward(input, training: training)
    let weights = Tensor(shape: output.shape, values: (0..<output.count).map { _ in random.nextUnitFloat() * 2 - 1 })
    for parameter in layer.parameters { parameter.gradient.zero() }
    let analyticInput = layer.backward(weights).array
    let analyticParameters = layer.parameters.map { $0.gradient.array }

    func loss() -> Double {
        beforeForward()
        let y = layer.forward(input, training: training)
        return (0..<y.count).reduce(0.0) { $0 + Double(y[$1]) * Double(weights[$1]) }
    }
    func numeric(_ tensor: Tensor, _ index: Int) -> Double {
        let h = step
        let original = tensor[index]
        tensor[index] = original + h
        let plus = loss()
        tensor[index] = original - h
        let minus = loss()
        tensor[index] = original
        return (plus - minus) / (2 * Double(h))
    }
    func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
        let error = abs(Double(analytic) - numeric)
        #expect(error <= 2e-3 + 2e-2 * abs(numeric), "\(layer) \(what): analytic \(analytic), numeric \(numeric)",
                sourceLocation: sourceLocation)
    }
    if (layer as? any WeightedLayer)?.computesInputGradient ?? true {
        for index in 0..<input.count { compare(analyticInput[index], numeric(input, index), "dInput[\(index)]") }
    }
    for (parameter, analytic) in zip(layer.parameters, analyticParameters) {
        for index in 0..<parameter.value.count {
            compare(analytic[index], numeric(parameter.value, index), "d\(parameter.name)[\(index)]")
        }
    }
}

/// Values in ±[0.1, 1.5]: away from ReLU's kink at 0.
func smoothInput(rows: Int, features: Int, seed: UInt64) -> Tensor {
    let random = RandomGenerator(seed: seed)
    return Tensor(shape: [rows, features], values: (0..<rows * features).map { _ in
        let magnitude = 0.1 + 1.4 * random.nextUnitFloat()
        return random.nextUnitFloat() < 0.5 ? -magnitude : magnitude
    })
}

@Suite struct GradientCheckTests {
    @Test func linear() {
        let layer = Linear(name: "fc", inputSize: 5, outputSize: 3)
        layer.initialize(.he, using: RandomGenerator(seed: 1))
        for index in 0..<3 { layer.bias.value[index] = Float(index) * 0.1 - 0.1 }
        checkGradients(of: layer, input: smoothInput(rows: 4, features: 5, seed: 2))
    }

    @Test func linearAccumulatesGradients() {
        let layer = Linear(name: "fc", inputSize: 2, outputSize: 2)
        let x = Tensor(shape: [1, 2], values: [1, 2])
        let dy = Tensor(shape: [1, 2], values: [1, 1])
        _ = layer.forward(x, training: true)
        _ = layer.backward(dy)
        _ = layer.backward(dy)
        // Each backward adds x to every weight row and 1 to each bias.
        #expect(layer.weight.gradient.array == [2, 4, 2, 4])
        #expect(layer.bias.gradient.array == [2, 2])
    }

    @Test(arguments: ActivationFunction.allCases)
    func activation(function: ActivationFunction) {
        checkGradients(of: Activation(function), input: smoothInput(rows: 3, features: 6, seed: 3))
    }

    @Test func dropoutWithFixedMask() {
        let dropout = Dropout(probability: 0.4, random: RandomGenerator(seed: 5))
        // The same mask for every forward of the check: reseed before each.
        checkGradients(of: dropout, input: smoothInput(rows: 4, features: 8, seed: 4)) {
            dropout.random = RandomGenerator(seed: 5)
        }
    }

    @Test func dropoutScalesSurvivorsAndIsIdentityAtInference() {
        let dropout = Dropout(probability: 0.25, random: RandomGenerator(seed: 8))
        let x = Tensor(shape: [100, 100], values: Array(repeating: 1, count: 10_000))
        let y = dropout.forward(x, training: true).array
        #expect(Set(y) == [0, Float(1) / 0.75])
        let dropped = Double(y.filter { $0 == 0 }.count) / 10_000
        #expect(abs(dropped - 0.25) < 0.02)  // 10,000 Bernoulli(0.25): σ ≈ 0.0043
        #expect(dropout.forward(x, training: false) === x)
    }

    @Test func softmaxCrossEntropy() {
        let logits = smoothInput(rows: 4, features: 5, seed: 6)
        var labels: [Int32] = [0, 3, 4, 1]
        let gradient = Tensor(shape: [4, 5])
        SoftmaxCrossEntropy.evaluate(logits: logits, labels: &labels, gradient: gradient)
        let h: Float = 1e-2
        for index in 0..<logits.count {
            let original = logits[index]
            logits[index] = original + h
            let plus = SoftmaxCrossEntropy.evaluate(logits: logits, labels: &labels).loss
            logits[index] = original - h
            let minus = SoftmaxCrossEntropy.evaluate(logits: logits, labels: &labels).loss
            logits[index] = original
            let numeric = (plus - minus) / (2 * Double(h))
            #expect(abs(Double(gradient[index]) - numeric) <= 2e-3 + 2e-2 * abs(numeric))
        }
    }

    @Test func softmaxCrossEntropyIsStableForHugeLogits() {
        let logits = Tensor(shape: [2, 3], values: [1000, 0, -1000, -5000, 5000, 4990])
        var labels: [Int32] = [0, 2]
        let gradient = Tensor(shape: [2, 3])
        let (loss, correct) = SoftmaxCrossEntropy.evaluate(logits: logits, labels: &labels, gradient: gradient)
        #expect(loss.isFinite && abs(loss - 5.0000227) < 1e-4)  // rows: ≈0 and 10 + log(1 + e^−10); mean 5.0000227
        #expect(correct == 1)
        #expect(gradient.array.allSatisfy { $0.isFinite })
    }

    @Test func wholeMLP() throws {
        let architecture = Architecture.mlp(hidden: [6, 5], activation: .tanh, dropout: 0, input: [4], classes: 3, normalization: nil)
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 2))
        let x = smoothInput(rows: 3, features: 4, seed: 7)
        var labels: [Int32] = [2, 0, 1]
        let dLogits = Tensor(shape: [3, 3])
        model.zeroGradients()
        SoftmaxCrossEntropy.evaluate(logits: model.forward(x, training: true), labels: &labels, gradient: dLogits)
        model.backward(dLogits)
        for parameter in model.parameters {
            for index in 0..<parameter.value.count {
                let h: Float = 1e-2, original = parameter.value[index]
                parameter.value[index] = original + h
                let plus = SoftmaxCrossEntropy.evaluate(logits: model.forward(x, training: true), labels: &labels).loss
                parameter.value[index] = original - h
                let minus = SoftmaxCrossEntropy.evaluate(logits: model.forward(x, training: true), labels: &labels).loss
                parameter.value[index] = original
                let numeric = (plus - minus) / (2 * Double(h))
                #expect(abs(Double(parameter.gradient[index]) - numeric) <= 2e-3 + 2e-2 * abs(numeric), "\(parameter.name)[\(index)]")
            }
        }
    }

    /// The course notes' network: 2-2-1, sigmoid everywhere, worked by hand.
    @Test func handWorkedNetwork() throws {
        let architecture = Architecture(model: "notes", input: [2], classes: 1, activation: "sigmoid", dropout: 0, normalization: nil,
                                        layers: [.linear("fc1", 2, 2), .activation(.sigmoid), .linear("fc2", 2, 1), .activation(.sigmoid)])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 1), dropoutRandom: RandomGenerator(seed: 1))
        let values: [String: [Float]] = ["fc1.weight": [0.2, 0.4, 0.3, 0.1], "fc1.bias": [0.1, 0.2], "fc2.weight": [0.6, 0.5], "fc2.bias": [0.3]]
        for (name, numbers) in values {
            for (index, value) in numbers.enumerated() { model.parameter(named: name)!.value[index] = value }
        }
        let output = model.forward(Tensor(shape: [1, 2], values: [0.5, 0.8]), training: false)
        let hidden = model.layers[1].forward(model.layers[0].forward(Tensor(shape: [1, 2], values: [0.5, 0.8]), training: false), training: false)
        #expect(abs(hidden[0] - 0.627) < 5e-4 && abs(hidden[1] - 0.606) < 5e-4)
        #expect(abs(output[0] - 0.727) < 5e-4)

        // Backward, for E = ½(1 − y)², worked by hand with the chain rule: δ = (y − 1)·y(1 − y)
        // at the output = −0.054197; dE/dW2 = δ·h; each hidden unit's δᵢ = δ·W2ᵢ·hᵢ(1 − hᵢ);
        // dE/dW1 = δᵢ·x.
        let y = model.forward(Tensor(shape: [1, 2], values: [0.5, 0.8]), training: true)
        model.zeroGradients()
        model.backward(Tensor(shape: [1, 1], values: [y[0] - 1]))
        let expected: [String: [Float]] = [
            "fc2.weight": [-0.033990, -0.032837], "fc2.bias": [-0.054197],
            "fc1.weight": [-0.0038019, -0.0060831, -0.0032355, -0.0051767], "fc1.bias": [-0.0076039, -0.0064709],
        ]
        for (name, numbers) in expected {
            let gradient = model.parameter(named: name)!.gradient.array
            #expect(zip(gradient, numbers).allSatisfy { abs($0 - $1) < 2e-6 }, "\(name): \(gradient), by hand \(numbers)")
        }
    }

    /// XOR is the case no linear model can solve; a 2-4-1 network must.
    @Test func xorIsLearned() throws {
        let architecture = Architecture(model: "xor", input: [2], classes: 1, activation: "tanh", dropout: 0, normalization: nil,
                                        layers: [.linear("fc1", 2, 4), .activation(.tanh), .linear("fc2", 4, 1), .activation(.sigmoid)])
        let model = try Sequential(architecture, random: RandomGenerator(seed: 3), dropoutRandom: RandomGenerator(seed: 3))
        let x = Tensor(shape: [4, 2], values: [0, 0, 0, 1, 1, 0, 1, 1])
        let targets: [Float] = [0, 1, 1, 0]
        let optimizer = Adam()
        let dy = Tensor(shape: [4, 1])
        for _ in 0..<2000 {
            model.zeroGradients()
            let y = model.forward(x, training: true)
            for i in 0..<4 { dy[i] = 2 * (y[i] - targets[i]) / 4 }  // mean squared error
            model.backward(dy)
            optimizer.step(model.parameters, learningRate: 0.05)
        }
        let y = model.forward(x, training: false)
        for i in 0..<4 { #expect(abs(y[i] - targets[i]) < 0.1, "XOR\(i): \(y[i])") }
    }
}
