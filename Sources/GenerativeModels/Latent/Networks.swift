import NeuralNetwork
import TensorEngine

/// Linear layers through `widths` (the first is the input size), each followed by `activation`
/// except, unless `activateLast`, the last: the MLP encoders and decoders of the latent models.
func multilayerPerceptron(_ widths: [Int], activateLast: Bool, activation: () -> any Layer = { Function.relu() },
                          generator: inout RandomGenerator) -> [any Layer] {
    var layers: [any Layer] = []
    for (i, (input, output)) in zip(widths, widths.dropFirst()).enumerated() {
        layers.append(Linear(input, output, generator: &generator))
        if activateLast || i < widths.count - 2 { layers.append(activation()) }
    }
    return layers
}
