import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// StyleGAN2 training (Karras et al. 2020) at small scale: the non-saturating logistic loss; the
/// R1 penalty gamma/2 |grad_x D(x)|^2 on real images, taken lazily every `r1Interval` steps
/// and weighted by the interval; style-mixing regularisation (with probability 0.9 two latents
/// and a random crossover layer); Adam with betas 0 and 0.99; a moving average of w for
/// truncation; and an exponential moving average of the generator's weights, `averaged`, which
/// samples and evaluations use. Each `trainStep` updates D once, then G once.
public final class StyleGAN: Module, TrainableModel {
    public struct Options: Codable, Equatable, Sendable {
        public var generator = StyleGenerator.Options()
        public var r1Gamma: Float = 1
        public var r1Interval = 16
        public var mixingProbability: Float = 0.9
        public var learningRate: Float = 2e-3
        /// Images over which the weight average halves its memory (StyleGAN2: 10k).
        public var averageHalfLife: Float = 10_000
        /// psi of the samples drawn while training and by `deepgen sample` unless it says otherwise.
        public var truncation: Float = 1
        public init() {}
    }

    public let options: Options
    public let imageShape: [Int]
    let generator: StyleGenerator
    /// The moving average of the generator's weights, never trained directly.
    let averaged: StyleGenerator
    let discriminator: StyleDiscriminator
    var generatorOptimizer: Adam!
    var discriminatorOptimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] {
        ["generator": generatorOptimizer, "discriminator": discriminatorOptimizer]
    }

    public init(_ options: Options, imageShape: [Int], generator rng: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        generator = StyleGenerator(options.generator, imageShape: imageShape, generator: &rng)
        var copy = rng
        averaged = StyleGenerator(options.generator, imageShape: imageShape, generator: &copy)
        discriminator = StyleDiscriminator(
            imageShape: imageShape, features: options.generator.features,
            minimumFeatures: options.generator.minimumFeatures, generator: &rng)
        super.init()
        withoutGradients { for (a, g) in zip(averaged.parameters(), generator.parameters()) { a.assign(g.value) } }
        generatorOptimizer = Adam(generator.parameters(), learningRate: options.learningRate, beta1: 0, beta2: 0.99)
        discriminatorOptimizer = Adam(
            discriminator.parameters(), learningRate: options.learningRate, beta1: 0, beta2: 0.99)
    }

    /// Styles for `n` images: one w per image, or (with the mixing probability) two with a random
    /// crossover layer. Returns the styles and the first w's (for the average of w).
    func styles(_ n: Int, generator rng: inout RandomGenerator) -> (styles: Tensor, w: Tensor) {
        let z = Tensor.normal([n, options.generator.latentDimension], exampleAxis: 0, generator: &rng)
        let w = generator.map(z)
        guard rng.nextUniform() < options.mixingProbability else { return (generator.broadcast(w), w) }
        let other = generator.map(
            Tensor.normal([n, options.generator.latentDimension], exampleAxis: 0, generator: &rng))
        return (generator.mixed(w, other, crossover: 1 + rng.nextInt(below: generator.styleCount - 1)), w)
    }

    /// gamma/2 * mean |grad_x D(x)|^2 over real images x, with the gradient's own graph.
    public func r1Penalty(_ real: Tensor) -> Tensor {
        let x = real.detached().requiringGradient()
        let g = gradients(of: discriminator(x).sum(), wrt: [x], createGraph: true)[0]
        return options.r1Gamma / 2 * g.squared().flattened().sum(alongAxis: 1).mean()
    }

    /// The non-saturating logistic loss of D: softplus(D(fake)) + softplus(-D(real)), batch means.
    func discriminatorLoss(real: Tensor, fake: Tensor) -> Tensor {
        discriminator(fake).softplus().mean() + (-discriminator(real)).softplus().mean()
    }

    /// G's non-saturating loss: softplus(-D(fake)), the batch mean.
    func generatorLoss(fake: Tensor) -> Tensor { (-discriminator(fake)).softplus().mean() }

    /// D's objective at its optimizer's `step`: the logistic loss, plus the R1 penalty every
    /// `r1Interval` steps, weighted by the interval so that its average pull is that of R1 at
    /// every step (Karras et al. 2020, lazy regularisation).
    func discriminatorObjective(real: Tensor, fake: Tensor, step: Int) -> (loss: Tensor, figures: [String: Float]) {
        let loss = discriminatorLoss(real: real, fake: fake)
        guard step % options.r1Interval == 0 else { return (loss, ["loss_d": loss.scalar]) }
        let penalty = r1Penalty(real)
        return (loss + Float(options.r1Interval) * penalty, ["loss_d": loss.scalar, "r1": penalty.scalar])
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        let real = batch.images * 2 - 1, n = real.shape[0]
        var noise: RandomGenerator? = context.generator.split()
        let fake = generator.synthesize(styles(n, generator: &context.generator).styles, noise: &noise).detached()
        let (lossD, discriminatorFigures) = discriminatorObjective(
            real: real, fake: fake, step: discriminatorOptimizer.step)
        var figures = discriminatorFigures
        context.minimize(discriminatorOptimizer, lossD)

        let (s, w) = styles(n, generator: &context.generator)
        noise = context.generator.split()
        let lossG = generatorLoss(fake: generator.synthesize(s, noise: &noise))
        context.minimize(generatorOptimizer, lossG)
        figures["loss_g"] = lossG.scalar
        figures["loss"] = figures["loss_d"]
        updateAverages(w: w, batchSize: n, imagesSeen: generatorOptimizer.step * n)
        return figures
    }

    /// The averaged generator's half-life ramps up with training: at most this share of the
    /// images seen (StyleGAN2-ADA's ema_rampup). Without it a short run's average still holds
    /// much of the random start (a third after 16k images at a 10k half-life), and its samples
    /// all look alike.
    static let averageRampUp = 0.05

    /// w_avg <- the batch's mean w, at 0.995 (StyleGAN2's w_avg_beta); the averaged generator's
    /// weights move towards the trained ones at the rate a half-life in images gives:
    /// `averageHalfLife`, or `averageRampUp` of `imagesSeen` if that is shorter.
    func updateAverages(w: Tensor, batchSize: Int, imagesSeen: Int) {
        withoutGradients {
            let wAverage = generator.averageStyle.value * 0.995 + w.detached().mean(alongAxis: 0) * 0.005
            generator.averageStyle.value = wAverage
            averaged.averageStyle.value = wAverage
            let halfLife = min(Double(options.averageHalfLife), Self.averageRampUp * Double(imagesSeen))
            let beta = Float(Foundation.pow(0.5, Double(batchSize) / max(halfLife, 1e-8)))
            for (a, g) in zip(averaged.parameters(), generator.parameters()) {
                a.assign(a.value * beta + g.value.detached() * (1 - beta))
            }
        }
    }

    /// Images in [0, 1] from the averaged generator, truncated by `psi`, with drawn noise.
    public func sample(count: Int, psi: Float, generator rng: inout RandomGenerator) -> Tensor {
        let w = averaged.truncated(
            averaged.map(Tensor.normal([count, options.generator.latentDimension], generator: &rng)), psi: psi)
        var noise: RandomGenerator? = rng.split()
        return ((averaged.synthesize(averaged.broadcast(w), noise: &noise) + 1) * 0.5).clamped(min: 0, max: 1)
    }

    public func sample(count: Int, generator rng: inout RandomGenerator) -> Tensor {
        sample(count: count, psi: options.truncation, generator: &rng)
    }

    /// The truncation figure: each of `rows` latents (one per row) at every psi of `psis`, with
    /// the layers' fixed noise, so only the truncation changes along a row. [rows * psis, C, H, W].
    public func truncationStrip(rows: Int, psis: [Float], generator rng: inout RandomGenerator) -> Tensor {
        let w = averaged.map(Tensor.normal([rows, options.generator.latentDimension], generator: &rng))
        let styles = (0..<rows).flatMap { r in psis.map { averaged.truncated(w.sliced(axis: 0, r..<r + 1), psi: $0) } }
        var fixed: RandomGenerator? = nil
        return ((averaged.synthesize(averaged.broadcast(Tensor.concatenate(styles, axis: 0)), noise: &fixed) + 1) * 0.5)
            .clamped(min: 0, max: 1)
    }

    /// The layers whose styles set coarse (4-8 px), middle (16 px) or fine (32 px and up) features.
    public func layers(_ name: String) -> Range<Int>? {
        let count = averaged.styleCount
        switch name {
        case "coarse": return 0..<min(3, count)
        case "middle": return min(3, count)..<min(5, count)
        case "fine": return min(5, count)..<count
        default: return nil
        }
    }

    /// The StyleGAN paper's mixing figure: sources along the top, destinations down the side, and
    /// in each cell the destination with the source's styles at `layers`. [(1 + D) * (1 + S), C, H, W]
    /// in [0, 1], row by row, the corner blank.
    public func mixingGrid(
        sources: Int, destinations: Int, layers: Range<Int>, psi: Float, generator rng: inout RandomGenerator
    ) -> Tensor {
        let latent = options.generator.latentDimension
        let a = averaged.truncated(averaged.map(Tensor.normal([sources, latent], generator: &rng)), psi: psi)
        let b = averaged.truncated(averaged.map(Tensor.normal([destinations, latent], generator: &rng)), psi: psi)
        let noiseSeed = rng.split()
        func draw(_ styles: Tensor) -> Tensor {
            var noise: RandomGenerator? = noiseSeed // the same noise in every cell: only the styles differ
            return ((averaged.synthesize(styles, noise: &noise) + 1) * 0.5).clamped(min: 0, max: 1)
        }
        var rows = [Tensor.concatenate([Tensor.ones([1] + imageShape), draw(averaged.broadcast(a))], axis: 0)]
        for d in 0..<destinations {
            let destination = averaged.broadcast(b.sliced(axis: 0, d..<d + 1))
            let cells = (0..<sources).map { s -> Tensor in
                let source = averaged.broadcast(a.sliced(axis: 0, s..<s + 1))
                let perLayer = (0..<averaged.styleCount).map { layer in
                    (layers.contains(layer) ? source : destination).sliced(axis: 1, layer..<layer + 1)
                }
                return Tensor.concatenate(perLayer, axis: 1)
            }
            rows.append(Tensor.concatenate([draw(destination), draw(Tensor.concatenate(cells, axis: 0))], axis: 0))
        }
        return Tensor.concatenate(rows, axis: 0)
    }
}
