import Foundation
import NeuralNetwork
import TensorEngine

/// Images found in the generator's space: one w per layer (W+) and the noise maps, per image.
public struct Projection {
    public let styles: Tensor // [N, styleCount, D]
    public let noise: [Tensor] // one [N, 1, r, r] per convolution
    public let image: Tensor // [N, C, H, W] in [0, 1]

    /// Image `i`'s projection, repeated `count` times (to take `count` other styles).
    public func repeating(_ i: Int, count: Int) -> Projection {
        func pick(_ t: Tensor) -> Tensor { t.sliced(axis: 0, i..<i + 1).expanded(to: [count] + t.shape.dropFirst()) }
        return Projection(styles: pick(styles), noise: noise.map(pick), image: pick(image))
    }
}

extension StyleGAN {
    /// Projects each of `target` [N, C, H, W] (values in [0, 1]) into W+ as StyleGAN2's appendix D does,
    /// on the averaged generator: w starts at w_avg (every layer), the noise maps at N(0, 1);
    /// Adam minimises the pixel MSE plus `featureWeight` times the MSE of `features` (a network
    /// of our own, in place of VGG) plus `noiseWeight` times the noise maps' autocorrelation
    /// at every scale, with w jittered by a shrinking noise and the learning rate ramped up over
    /// the first 5% and down, as a cosine, over the last 25%. The maps are renormalised after
    /// every step so they cannot carry the image. Each image's loss is its own and Adam's steps are
    /// per parameter, so a batch holds N independent projections sharing only the schedule.
    public func project(
        _ target: Tensor, steps: Int = 300, learningRate: Float = 0.1, features: ((Tensor) -> Tensor)? = nil,
        featureWeight: Float = 1, noiseWeight: Float = 1e3, generator rng: inout RandomGenerator,
        progress: ((Int, Float) -> Void)? = nil
    ) -> Projection {
        let g = averaged
        let samples = withoutGradients {
            g.map(Tensor.normal([1000, options.generator.latentDimension], generator: &rng))
        }
        let spread = withoutGradients {
            ((samples - g.averageStyle.value.unsqueezed(0)).squared().sum(alongAxis: 1).mean()).sqrt().scalar
        }
        let n = target.shape[0]
        let styles = Parameter(
            g.broadcast(g.averageStyle.value.unsqueezed(0).expanded(to: [n, g.options.styleDimension])))
        let maps = g.convolutions.map { c in
            Parameter(Tensor.normal([n] + c.fixedNoise.value.shape.dropFirst(), generator: &rng))
        }
        func perImage(_ x: Tensor) -> Tensor { x.flattened().mean(alongAxis: 1).sum() }
        let optimizer = Adam([styles] + maps, learningRate: learningRate, beta1: 0.9, beta2: 0.999)
        let wanted = features.map { f in withoutGradients { f(target) } }
        var none: RandomGenerator? = nil
        for step in 0..<steps {
            let t = Float(step) / Float(max(steps, 1))
            let ramp = (0.5 - 0.5 * Foundation.cos(Float.pi * min(1, (1 - t) / 0.25))) * min(1, t / 0.05)
            optimizer.learningRate = learningRate * ramp
            let jitter = spread * 0.05 * pow(max(0, 1 - t / 0.75), 2)
            let w = styles.value + jitter * Tensor.normal(styles.value.shape, generator: &rng)
            let image = (g.synthesize(w, noise: &none, maps: maps.map(\.value)) + 1) * 0.5
            var loss = perImage((image - target).squared())
            if let features, let wanted { loss = loss + featureWeight * perImage((features(image) - wanted).squared()) }
            loss = loss + noiseWeight * Self.noiseRegularization(maps.map(\.value))
            optimizer.minimize(loss)
            withoutGradients {
                for m in maps {
                    let centred = m.value - m.value.mean(alongAxes: [1, 2, 3], keepDims: true)
                    m.assign(centred * (centred.squared().mean(alongAxes: [1, 2, 3], keepDims: true) + 1e-8).rsqrt())
                }
            }
            progress?(step + 1, loss.scalar)
        }
        let image = withoutGradients {
            ((g.synthesize(styles.value, noise: &none, maps: maps.map(\.value)) + 1) * 0.5).clamped(min: 0, max: 1)
        }
        return Projection(styles: styles.value, noise: maps.map(\.value), image: image)
    }

    /// The projections' styles at `layers` replaced by `style`'s ([N, styleCount, D] each, or [1, ...] for all N).
    public func stylize(_ content: Projection, with style: Tensor, layers: Range<Int>) -> Tensor {
        let style = style.expanded(to: content.styles.shape)
        let perLayer = (0..<averaged.styleCount).map { layer in
            (layers.contains(layer) ? style : content.styles).sliced(axis: 1, layer..<layer + 1)
        }
        var none: RandomGenerator? = nil
        return withoutGradients {
            ((averaged.synthesize(Tensor.concatenate(perLayer, axis: 1), noise: &none, maps: content.noise) + 1) * 0.5)
                .clamped(min: 0, max: 1)
        }
    }

    /// StyleGAN2's noise regularisation: the squared mean products of each map with itself shifted
    /// by one pixel across and down (its autocorrelation), at every scale down to 8 x 8, summed
    /// over the images of the batch.
    static func noiseRegularization(_ maps: [Tensor]) -> Tensor {
        var total = Tensor(0)
        for map in maps {
            var v = map
            while true {
                let (h, w) = (v.shape[2], v.shape[3])
                let across = Tensor.concatenate([v.sliced(axis: 3, 1..<w), v.sliced(axis: 3, 0..<1)], axis: 3)
                let down = Tensor.concatenate([v.sliced(axis: 2, 1..<h), v.sliced(axis: 2, 0..<1)], axis: 2)
                total =
                    total + (v * across).flattened().mean(alongAxis: 1).squared().sum()
                    + (v * down).flattened().mean(alongAxis: 1).squared().sum()
                guard h > 8 else { break }
                v = downsampled(v)
            }
        }
        return total
    }
}
