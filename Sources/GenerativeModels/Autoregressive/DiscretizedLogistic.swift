import Foundation
import TensorEngine

/// PixelCNN++'s likelihood (Salimans et al. 2017, §2.1): each 8-bit value, scaled to [-1, 1]
/// with bins of width 2/255, is drawn from a mixture of K logistics discretised to the bins:
///   P(x) = sum_k pi_k [sigmoid((x + 1/255 - mu_k) / s_k) - sigmoid((x - 1/255 - mu_k) / s_k)],
/// with the edge bins taking the whole tails: P(0) = sigmoid((-1 + 1/255 - mu) / s) and
/// P(255) = 1 - sigmoid((1 - 1/255 - mu) / s). For colour images the means of green and blue
/// depend linearly on the values of red (and green) at the same pixel (§2.2).
///
/// Parameter layout per pixel, [N, P, H, W]: K mixture logits, then C * K means, C * K log
/// scales, and for C = 3 the 3 * K coefficients (green on red, blue on red, blue on green).
public enum DiscretizedLogisticMixture {
    public static func parameterCount(components k: Int, channels c: Int) -> Int {
        precondition(c == 1 || c == 3, "the logistic mixture models grey or RGB images, not \(c) channels")
        return k + 2 * c * k + (c == 3 ? 3 * k : 0)
    }

    /// The pieces of `parameters` [N, P, H, W]: logits [N, K, H, W], means and log scales
    /// [N, C, K, H, W] (the means not yet conditioned on other colours), coefficients [N, 3, K, H, W].
    static func split(
        _ p: Tensor, components k: Int, channels c: Int
    ) -> (logits: Tensor, means: Tensor, logScales: Tensor, coefficients: Tensor?) {
        let (n, h, w) = (p.shape[0], p.shape[2], p.shape[3])
        precondition(
            p.shape[1] == parameterCount(components: k, channels: c),
            "logistic mixture: \(p.shape[1]) parameters for \(k) components of \(c) channels")
        let logits = p.sliced(axis: 1, 0..<k)
        let means = p.sliced(axis: 1, k..<k + c * k).reshaped([n, c, k, h, w])
        // Scales below e^-7 only make the bins' differences underflow (the paper's floor).
        let logScales = p.sliced(axis: 1, k + c * k..<k + 2 * c * k).reshaped([n, c, k, h, w]).clamped(min: -7)
        let coefficients =
            c == 3 ? p.sliced(axis: 1, k + 2 * c * k..<k + 2 * c * k + 3 * k).reshaped([n, 3, k, h, w]).tanh() : nil
        return (logits, means, logScales, coefficients)
    }

    /// The means [N, C, K, H, W] of each colour's logistics given the colours before it at the
    /// same pixel: green's moves with red's value, blue's with red's and green's (images in [-1, 1]).
    static func conditionedMeans(_ rawMeans: Tensor, coefficients: Tensor?, scaledImages x: Tensor) -> Tensor {
        guard let coefficients else { return rawMeans }
        // [N, 1, H, W] -> broadcast over K
        let value = { (channel: Int) in x.sliced(axis: 1, channel..<channel + 1) }
        let coefficient = { (i: Int) in coefficients.sliced(axis: 1, i..<i + 1).squeezed(1) }
        let mean = { (channel: Int) in rawMeans.sliced(axis: 1, channel..<channel + 1).squeezed(1) }
        let green = mean(1) + coefficient(0) * value(0)
        let blue = mean(2) + coefficient(1) * value(0) + coefficient(2) * value(1)
        return Tensor.stack([mean(0), green, blue], axis: 1)
    }

    /// log P(images) per image, [N], in nats, for 8-bit images [N, C, H, W] with values k / 255.
    /// Grey images take the engine's fused op (one pass each way, first derivatives); colour
    /// images, and grey ones when `fused` is false (second derivatives, the op's tests), this
    /// composition of engine ops.
    public static func logLikelihood(
        _ parameters: Tensor, images: Tensor, components k: Int, fused: Bool = true
    ) -> Tensor {
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        if c == 1 && fused { return discretizedLogisticMixtureLogLikelihood(parameters, images: images, components: k) }
        let x = images * 2 - 1 // [-1, 1]
        let (logits, rawMeans, logScales, coefficients) = split(parameters, components: k, channels: c)
        let means = conditionedMeans(rawMeans, coefficients: coefficients, scaledImages: x)
        let perChannel = binLogProbabilities(x.unsqueezed(2), means: means, logScales: logScales) // [N, C, K, H, W]
        let perComponent = perChannel.sum(alongAxis: 1) + logSoftmax(logits, axis: 1) // [N, K, H, W]
        return perComponent.logSumExp(alongAxis: 1).reshaped([n, h * w]).sum(alongAxis: 1)
    }

    /// log P(x) of the discretised logistic with the given means and log scales at values x in
    /// [-1, 1] (any broadcastable shapes). Where a bin's mass is below 1e-5, the density at its
    /// centre times the bin width stands in for the difference of two nearly equal sigmoids.
    public static func binLogProbabilities(_ x: Tensor, means: Tensor, logScales: Tensor) -> Tensor {
        let centred = x - means
        let inverseScale = (-logScales).exp()
        let plus = inverseScale * (centred + 1 / 255), minus = inverseScale * (centred - 1 / 255)
        let logCDFPlus = plus - plus.softplus() // log sigmoid(plus): the bottom edge bin
        let logOneMinusCDFMinus = -minus.softplus() // log(1 - sigmoid(minus)): the top edge bin
        let delta = plus.sigmoid() - minus.sigmoid()
        let middle = inverseScale * centred
        let logDensityTimesWidth = middle - logScales - 2 * middle.softplus() - Float(Foundation.log(127.5))
        // Which case applies is decided by the values (comparisons are constants to the gradient),
        // and the cases not taken pass no gradient back.
        let inner = Tensor.where(delta .> 1e-5, delta.clamped(min: 1e-12).log(), logDensityTimesWidth)
        return Tensor.where(x .< -0.999, logCDFPlus, Tensor.where(x .> 0.999, logOneMinusCDFMinus, inner))
    }

    /// One 8-bit value per channel at every position: a component from the mixture weights, then
    /// a logistic draw around its (colour-conditioned) mean, clipped to [-1, 1] and rounded to
    /// the nearest bin. Returns values k / 255 as [N, C, H, W] (zero outside `positions`, the
    /// raster indices drawn; all by default).
    public static func sample(
        _ parameters: Tensor, channels c: Int, components k: Int, positions: Range<Int>? = nil,
        generator: inout RandomGenerator
    ) -> Tensor {
        let (n, h, w) = (parameters.shape[0], parameters.shape[2], parameters.shape[3])
        let p = parameters.scalars, plane = h * w, stride = parameters.shape[1] * plane
        var out = [Float](repeating: 0, count: n * c * plane)
        for image in 0..<n {
            for position in positions ?? 0..<plane {
                let at = { (channel: Int) in image * stride + channel * plane + position }
                let logits = (0..<k).map { p[at($0)] }
                let component = AutoregressiveModel.draw(logits, generator: &generator)
                var values: [Float] = []
                for channel in 0..<c {
                    var mean = p[at(k + channel * k + component)]
                    let logScale = max(p[at(k + c * k + channel * k + component)], -7)
                    if c == 3 && channel > 0 {
                        let coefficient = { (i: Int) in Foundation.tanh(p[at(k + 2 * c * k + i * k + component)]) }
                        mean +=
                            channel == 1
                            ? coefficient(0) * values[0] : coefficient(1) * values[0] + coefficient(2) * values[1]
                    }
                    let u = min(max(generator.nextUniform(), 1e-5), 1 - 1e-5)
                    let draw = mean + Foundation.exp(logScale) * (Foundation.log(u) - Foundation.log(1 - u))
                    let value = ((min(max(draw, -1), 1) + 1) * 127.5).rounded() / 127.5 - 1
                    values.append(value)
                    out[(image * c + channel) * plane + position] = (value + 1) / 2
                }
            }
        }
        return Tensor(shape: [n, c, h, w], scalars: out)
    }
}
