import NeuralNetwork
import TensorEngine

/// Linear layers through `widths` (the first is the input size), each followed by `activation`
/// except, unless `activateLast`, the last: the MLP encoders and decoders of the latent models.
func multilayerPerceptron(
    _ widths: [Int], activateLast: Bool, activation: () -> any Layer = { Function.relu() },
    generator: inout RandomGenerator
) -> [any Layer] {
    var layers: [any Layer] = []
    for (i, (input, output)) in zip(widths, widths.dropFirst()).enumerated() {
        layers.append(Linear(input, output, generator: &generator))
        if activateLast || i < widths.count - 2 { layers.append(activation()) }
    }
    return layers
}

/// Two 4x4 stride-2 convolutions (32 then 64 channels) and a flatten: images [N, C, H, W] to
/// features [N, 64 * H/4 * W/4] (the second element of the result).
func convolutionalEncoder(
    _ imageShape: [Int], activation: () -> any Layer = { Function.relu() },
    generator: inout RandomGenerator
) -> (layers: [any Layer], features: Int) {
    let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
    precondition(
        h % 4 == 0 && w % 4 == 0, "the convolutional network halves the image twice; \(h)x\(w) is not divisible by 4")
    return (
        [
            Conv2d(c, 32, kernel: 4, stride: 2, padding: 1, generator: &generator), activation(),
            Conv2d(32, 64, kernel: 4, stride: 2, padding: 1, generator: &generator), activation(), Function.flatten()
        ],
        64 * (h / 4) * (w / 4)
    )
}

/// The mirror of `convolutionalEncoder`: codes [N, latent] through a linear layer to 64 maps of
/// H/4 x W/4, then two 4x4 stride-2 transposed convolutions up to [N, C, H, W].
func convolutionalDecoder(
    latent: Int, imageShape: [Int], activation: () -> any Layer = { Function.relu() },
    generator: inout RandomGenerator
) -> [any Layer] {
    let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
    return [
        Linear(latent, 64 * (h / 4) * (w / 4), generator: &generator), activation(),
        Function.unflatten([64, h / 4, w / 4]),
        ConvTranspose2d(64, 32, kernel: 4, stride: 2, padding: 1, generator: &generator), activation(),
        ConvTranspose2d(32, c, kernel: 4, stride: 2, padding: 1, generator: &generator)
    ]
}

/// Points on straight lines between code pairs a[i] -> b[i] ([pairs, d] each), `steps` per line
/// with both ends included: [pairs * steps, d], line by line. What `interpolate` decodes.
func pointsOnLines(from a: Tensor, to b: Tensor, steps: Int) -> Tensor {
    let rows = (0..<steps).map { i -> Tensor in
        let t = Float(i) / Float(max(steps - 1, 1))
        return a * (1 - t) + b * t
    }
    return Tensor.stack(rows, axis: 1).reshaped([-1, a.shape[1]])
}
