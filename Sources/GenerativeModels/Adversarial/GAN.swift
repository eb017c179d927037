import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// The adversarial models of the catalogue on one base: a generator G(z) with tanh output (data
/// scaled to [-1, 1]) and a discriminator or critic D(x) giving one logit or score per image,
/// with the objective chosen by `loss`:
/// - `minimax` (Goodfellow et al. 2014): D minimises BCE(D(x), 1) + BCE(D(G(z)), 0); G
///   minimises log(1 - sigmoid(D(G(z)))), which saturates when D wins;
/// - `nonSaturating`: the same D, and G minimises -log sigmoid(D(G(z))) instead;
/// - `wasserstein` (Arjovsky et al. 2017): the critic maximises mean D(x) - mean D(G(z)), its
///   weights clipped to [-c, c] after every update; G minimises -mean D(G(z));
/// - `wassersteinGP` (Gulrajani et al. 2017): the same objective with lambda * mean((|grad_x̂
///   D(x̂)| - 1)^2) on random interpolates x̂ instead of clipping.
/// Each `trainStep` is one discriminator update; the generator is updated every
/// `criticSteps`-th step (1 for the classic GAN, 5 for the Wasserstein ones).
public final class GAN: Module, TrainableModel {
    public enum Loss: String, Codable, Sendable {
        case minimax, nonSaturating = "non-saturating", wasserstein, wassersteinGP = "wasserstein-gp"
    }
    public enum Architecture: String, Codable, CaseIterable, Sendable { case mlp, dcgan }

    public struct Options: Codable, Equatable, Sendable {
        public var architecture = Architecture.mlp
        public var loss = Loss.nonSaturating
        public var latentDimension = 100
        public var criticSteps = 1
        public var learningRate: Float = 2e-4
        public var clip: Float = 0.01
        public var penaltyWeight: Float = 10
        /// The DCGAN's width: the generator's last hidden layer and the discriminator's first
        /// have this many maps, the next layer inward twice as many (64 in Radford et al.).
        public var features = 64
        /// Stride-1 3x3 convolutions (normalised, activated) added at each of the DCGAN's two inner
        /// resolutions, in G and in D. With none, G's global structure comes from its one linear
        /// layer alone, as the convolutions after it are local.
        public var refiningLayers = 0
        /// Halvings of the image in D, doublings in G: 2 at 28 px (7 -> 14 -> 28), 4 for the
        /// 64-pixel generator of Radford et al. (4 -> 8 -> 16 -> 32 -> 64).
        public var depth = 2
        /// The decay of a moving average of G's weights that samples and the FID use (0: none,
        /// G as trained): Polyak averaging, which smooths out the game's oscillation.
        public var generatorAverage: Float = 0
        /// One-sided label smoothing (Salimans et al. 2016): the classic discriminator's target for
        /// real images is 1 - this, so it never grows certain of them (0: none).
        public var labelSmoothing: Float = 0
        /// Dropout after each hidden layer of the MLP discriminator, as Goodfellow et al.'s had
        /// (0: none).
        public var discriminatorDropout: Float = 0
        public init() {}

        public init(from decoder: Decoder) throws { // runs saved before `features` or `refiningLayers` existed: 64, 0
            let c = try decoder.container(keyedBy: CodingKeys.self)
            architecture = try c.decode(Architecture.self, forKey: .architecture)
            loss = try c.decode(Loss.self, forKey: .loss)
            latentDimension = try c.decode(Int.self, forKey: .latentDimension)
            criticSteps = try c.decode(Int.self, forKey: .criticSteps)
            learningRate = try c.decode(Float.self, forKey: .learningRate)
            clip = try c.decode(Float.self, forKey: .clip)
            penaltyWeight = try c.decode(Float.self, forKey: .penaltyWeight)
            features = try c.decodeIfPresent(Int.self, forKey: .features) ?? 64
            refiningLayers = try c.decodeIfPresent(Int.self, forKey: .refiningLayers) ?? 0
            depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? 2
            generatorAverage = try c.decodeIfPresent(Float.self, forKey: .generatorAverage) ?? 0
            labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing) ?? 0
            discriminatorDropout = try c.decodeIfPresent(Float.self, forKey: .discriminatorDropout) ?? 0
        }

        /// The settings of each catalogue entry, from the papers.
        public static func preset(_ model: String) -> Options {
            var o = Options()
            switch model {
            case "gan":
                // Goodfellow et al.'s D had dropout; without it and the smoothing, D wins and the
                // FID rises after its best at ~15 minutes (issue 38: 104.8 best, 232.9 at 45 min;
                // with them 43.2 at 45 min, falling at every snapshot).
                o.discriminatorDropout = 0.3; o.labelSmoothing = 0.1; o.generatorAverage = 0.999
            case "dcgan": o.architecture = .dcgan
            case "wgan":
                o.architecture = .dcgan; o.loss = .wasserstein; o.criticSteps = 5; o.learningRate = 5e-5
            case "wgan-gp":
                o.architecture = .dcgan; o.loss = .wassersteinGP; o.criticSteps = 5; o.learningRate = 1e-4
            default: break
            }
            return o
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let generator: Sequential
    let discriminator: Sequential
    /// G's weights averaged over the steps (`generatorAverage` > 0), frozen: what samples.
    let averagedGenerator: Sequential?
    var generatorOptimizer: Optimizer!
    var discriminatorOptimizer: Optimizer!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] {
        ["generator": generatorOptimizer, "discriminator": discriminatorOptimizer]
    }

    public convenience init(_ options: Options, imageShape: [Int], generator rng: inout RandomGenerator) {
        self.init(options, imageShape: imageShape, perceptronWidths: GAN.perceptronWidths, generator: &rng)
    }

    /// Goodfellow et al.'s hidden widths for the MLP architecture (G, then D).
    static let perceptronWidths = (generator: [256, 512, 1024], discriminator: [512, 256])

    /// As `init(_:imageShape:generator:)` with other hidden widths for the MLP architecture
    /// (tests build narrow ones to compare with PyTorch).
    init(
        _ options: Options, imageShape: [Int], perceptronWidths: (generator: [Int], discriminator: [Int]),
        generator rng: inout RandomGenerator
    ) {
        self.options = options
        self.imageShape = imageShape
        switch options.architecture {
        case .mlp:
            (generator, discriminator) = GAN.perceptrons(
                options, imageShape: imageShape, widths: perceptronWidths, generator: &rng)
        case .dcgan:
            // A critic trained with a gradient penalty must not normalise over the batch: the
            // penalty is taken per example (Gulrajani et al. §4).
            (generator, discriminator) = GAN.convolutional(
                options, imageShape: imageShape, batchNormInCritic: options.loss != .wassersteinGP,
                generator: &rng)
        }
        averagedGenerator =
            options.generatorAverage > 0
            ? GAN.copy(of: generator, options, imageShape, widths: perceptronWidths.generator) : nil
        super.init()
        let g = generator.trainableParameters(), d = discriminator.trainableParameters()
        switch options.loss {
        case .minimax, .nonSaturating:
            generatorOptimizer = Adam(g, learningRate: options.learningRate, beta1: 0.5, beta2: 0.999)
            discriminatorOptimizer = Adam(d, learningRate: options.learningRate, beta1: 0.5, beta2: 0.999)
        case .wasserstein:
            generatorOptimizer = RMSProp(g, learningRate: options.learningRate)
            discriminatorOptimizer = RMSProp(d, learningRate: options.learningRate)
        case .wassersteinGP:
            generatorOptimizer = Adam(g, learningRate: options.learningRate, beta1: 0, beta2: 0.9)
            discriminatorOptimizer = Adam(d, learningRate: options.learningRate, beta1: 0, beta2: 0.9)
        }
    }

    /// Goodfellow et al.'s MLPs with LeakyReLU(0.2): G z -> 256 -> 512 -> 1024 -> pixels (tanh),
    /// D pixels -> 512 -> 256 -> 1 (with dropout after its hidden layers, if asked).
    static func perceptrons(
        _ options: Options, imageShape: [Int], widths: (generator: [Int], discriminator: [Int]),
        generator rng: inout RandomGenerator
    ) -> (Sequential, Sequential) {
        let pixels = Shape.count(imageShape)
        let g = Sequential(
            multilayerPerceptron(
                [options.latentDimension] + widths.generator + [pixels], activateLast: false,
                activation: { Function.leakyReLU(0.2) }, generator: &rng)
                + [Function.tanh(), Function.unflatten(imageShape)])
        let hidden = multilayerPerceptron(
            [pixels] + widths.discriminator + [1], activateLast: false, activation: { Function.leakyReLU(0.2) },
            generator: &rng)
        var d: [any Layer] = [Function.flatten()]
        for (i, layer) in hidden.enumerated() {
            d.append(layer)
            // Layers alternate Linear, activation; the last Linear gives the logit.
            if options.discriminatorDropout > 0 && i % 2 == 1 {
                d.append(Dropout(options.discriminatorDropout, generator: &rng))
            }
        }
        return (g, Sequential(d))
    }

    /// Radford et al.'s DCGAN for H x W images (H, W divisible by 4): G projects z to 2F maps of
    /// H/4 x W/4 (F = `features`), then two 4x4 stride-2 transposed convolutions (BatchNorm and ReLU between, tanh
    /// out); D mirrors it with strided convolutions and LeakyReLU(0.2). Weights N(0, 0.02),
    /// BatchNorm scales N(1, 0.02), biases 0.
    static func convolutional(
        _ options: Options, imageShape: [Int], batchNormInCritic: Bool,
        generator rng: inout RandomGenerator
    ) -> (Sequential, Sequential) {
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        let depth = options.depth, scale = 1 << options.depth
        precondition(
            h % scale == 0 && w % scale == 0,
            "DCGAN halves the image \(depth) times; \(h)x\(w) is not divisible by \(scale)")
        func batchNorm(_ channels: Int) -> BatchNorm {
            let norm = BatchNorm(channels)
            norm.weight?.assign(Tensor.normal([channels], mean: 1, standardDeviation: 0.02, generator: &rng))
            return norm
        }
        // Maps at each halving: f at the finest (after the first), doubling inward.
        let maps = (0..<depth).map { options.features << $0 }, inner = maps[depth - 1]
        let (innerHeight, innerWidth) = (h / scale, w / scale)
        // `refiningLayers` 3x3 convolutions keeping `maps` maps, each normalised (or biased) and activated.
        func refining(_ maps: Int, normalised: Bool, _ activation: () -> any Layer) -> [any Layer] {
            (0..<options.refiningLayers).flatMap { _ -> [any Layer] in
                let conv = Conv2d(
                    maps, maps, kernel: 3, padding: 1, bias: !normalised, initializer: .dcgan, generator: &rng)
                return (normalised ? [conv, batchNorm(maps)] : [conv]) + [activation()]
            }
        }
        var g: [any Layer] = [
            Linear(
                options.latentDimension, inner * innerHeight * innerWidth, bias: false, initializer: .dcgan,
                generator: &rng),
            batchNorm(inner * innerHeight * innerWidth), Function.relu(),
            Function.unflatten([inner, innerHeight, innerWidth])
        ]
        for level in stride(from: depth - 1, through: 1, by: -1) {
            g += refining(maps[level], normalised: true, Function.relu)
            g += [
                ConvTranspose2d(
                    maps[level], maps[level - 1], kernel: 4, stride: 2, padding: 1, bias: false, initializer: .dcgan,
                    generator: &rng),
                batchNorm(maps[level - 1]), Function.relu()
            ]
        }
        g += refining(maps[0], normalised: true, Function.relu)
        g += [
            ConvTranspose2d(maps[0], c, kernel: 4, stride: 2, padding: 1, initializer: .dcgan, generator: &rng),
            Function.tanh()
        ]
        let leaky = { Function.leakyReLU(0.2) }
        var d: [any Layer] = [
            Conv2d(c, maps[0], kernel: 4, stride: 2, padding: 1, initializer: .dcgan, generator: &rng), leaky()
        ]
        d += refining(maps[0], normalised: batchNormInCritic, leaky)
        for level in 1..<depth {
            d.append(
                Conv2d(
                    maps[level - 1], maps[level], kernel: 4, stride: 2, padding: 1, bias: !batchNormInCritic,
                    initializer: .dcgan, generator: &rng))
            if batchNormInCritic { d.append(batchNorm(maps[level])) }
            d.append(leaky())
            d += refining(maps[level], normalised: batchNormInCritic, leaky)
        }
        d += [Function.flatten(), Linear(inner * innerHeight * innerWidth, 1, initializer: .dcgan, generator: &rng)]
        return (Sequential(g), Sequential(d))
    }

    /// Images in [-1, 1] for codes z [N, latent].
    public func generate(_ z: Tensor) -> Tensor { generator(z) }

    /// What samples: the averaged generator if there is one, else G as trained.
    func draw(_ z: Tensor) -> Tensor {
        guard let averagedGenerator else { return generator(z) }
        measureAverageStatistics()
        return averagedGenerator(z)
    }

    /// Whether the averaged generator's weights moved since its BatchNorm statistics were measured.
    var averageStatisticsStale = true

    /// The averaged generator's BatchNorm statistics measured on its own activations ("standing
    /// statistics"): G's running statistics belong to G's weights, not to their average. Each
    /// layer's statistics follow 64 batches of 128 codes of a fixed seed, so the same weights
    /// always get the same statistics (a reloaded checkpoint samples the same).
    func measureAverageStatistics() {
        guard let averagedGenerator, averageStatisticsStale else { return }
        averageStatisticsStale = false
        let norms = averagedGenerator.namedModules().compactMap { $0.module as? BatchNorm }
        guard !norms.isEmpty else { return }
        var rng = RandomGenerator(seed: 0)
        withoutGradients {
            // From zero, the 64 updates at momentum 0.1 weigh the batches 1 - 0.9^64 (99.9%) in all.
            for norm in norms {
                norm.runningMean.value = Tensor.zeros(norm.runningMean.value.shape)
                norm.runningVar.value = Tensor.zeros(norm.runningVar.value.shape)
            }
            averagedGenerator.train()
            for _ in 0..<64 { _ = averagedGenerator(noise(128, generator: &rng)) }
            averagedGenerator.eval()
        }
    }

    /// A frozen generator of the same architecture holding `live`'s values (built from a stream
    /// of its own, so that G and D start where they would without it).
    static func copy(of live: Sequential, _ options: Options, _ imageShape: [Int], widths: [Int]) -> Sequential {
        var rng = RandomGenerator(seed: 0)
        let copy =
            options.architecture == .mlp
            ? perceptrons(options, imageShape: imageShape, widths: (widths, []), generator: &rng).0
            : convolutional(options, imageShape: imageShape, batchNormInCritic: false, generator: &rng).0
        try! copy.load(stateDict: Dictionary(uniqueKeysWithValues: live.stateDict().map { ($0.name, $0.tensor) }))
        copy.freeze()
        copy.eval()
        return copy
    }

    /// average = decay * average + (1 - decay) * G, after each update of G (its BatchNorm
    /// statistics measured when it next samples). The decay ramps up as (1 + t) / (10 + t) over
    /// G's updates t until it reaches `generatorAverage`: a fixed 0.999 still holds a third of
    /// the random start after 1,100 updates (a DCGAN's FID 1,346 at its 5-minute snapshot).
    func updateAverage() {
        guard let averagedGenerator else { return }
        let t = Float(generatorOptimizer.step)
        let decay = min(options.generatorAverage, (1 + t) / (10 + t))
        withoutGradients {
            for (average, live) in zip(averagedGenerator.parameters(), generator.parameters()) {
                average.assign(average.value * decay + live.value * (1 - decay))
            }
        }
        averageStatisticsStale = true
    }

    /// D(x) [N]: logits (classic GAN) or critic scores (Wasserstein).
    public func discriminate(_ x: Tensor) -> Tensor { discriminator(x).reshaped([-1]) }

    public func noise(_ count: Int, generator rng: inout RandomGenerator) -> Tensor {
        Tensor.normal([count, options.latentDimension], exampleAxis: 0, generator: &rng)
    }

    // MARK: The losses, each a function of the discriminator's outputs so tests can check them.

    /// The discriminator's (critic's) loss for its outputs on real and generated images.
    public func discriminatorLoss(real: Tensor, fake: Tensor) -> Tensor {
        switch options.loss {
        case .minimax, .nonSaturating:
            // BCE(D(x), 1) + BCE(D(G(z)), 0) = softplus(-D(x)) + softplus(D(G(z))).
            if options.labelSmoothing > 0 { return realTerm(real) + fake.softplus().mean() }
            return (-real).softplus().mean() + fake.softplus().mean()
        case .wasserstein, .wassersteinGP:
            return fake.mean() - real.mean()
        }
    }

    /// The two terms whose sum is `discriminatorLoss`: the real images' and the fakes'. (The loss
    /// keeps its own expression: built as the sum of these, wgan-gp's trained weights differed in
    /// their last bits, the critic's gradients adding up in another order.)
    public func discriminatorTerms(real: Tensor, fake: Tensor) -> (real: Tensor, fake: Tensor) {
        switch options.loss {
        case .minimax, .nonSaturating:
            // BCE(D(x), 1) + BCE(D(G(z)), 0) = softplus(-D(x)) + softplus(D(G(z))).
            return (realTerm(real), fake.softplus().mean())
        case .wasserstein, .wassersteinGP:
            // -(mean D(x) - mean D(G(z))): the critic maximises the difference.
            return (-real.mean(), fake.mean())
        }
    }

    /// BCE(D(x), t) for the real images' target t = 1 - labelSmoothing:
    /// t softplus(-D(x)) + (1 - t) softplus(D(x)).
    func realTerm(_ real: Tensor) -> Tensor {
        let smoothing = options.labelSmoothing
        guard smoothing > 0 else { return (-real).softplus().mean() }
        return ((1 - smoothing) * (-real).softplus() + smoothing * real.softplus()).mean()
    }

    /// The generator's loss for the discriminator's outputs on generated images.
    public func generatorLoss(fake: Tensor) -> Tensor {
        switch options.loss {
        case .minimax: return -fake.softplus().mean() // log(1 - sigmoid(l)) = -softplus(l)
        case .nonSaturating: return (-fake).softplus().mean() // -log sigmoid(l) = softplus(-l)
        case .wasserstein, .wassersteinGP: return -fake.mean()
        }
    }

    /// mean((|grad_x̂ D(x̂)|_2 - 1)^2) over x̂ = e x + (1 - e) x~, e ~ U[0, 1] per example; built with
    /// the gradient's own graph so the critic's update differentiates through it.
    public func gradientPenalty(real: Tensor, fake: Tensor, generator rng: inout RandomGenerator) -> Tensor {
        gradientPenalty(real: real, fake: fake, mix: penaltyMix(real.shape[0], generator: &rng))
    }

    /// The interpolation coefficients e [N, 1, 1, 1] of the gradient penalty, U[0, 1].
    public func penaltyMix(_ count: Int, generator rng: inout RandomGenerator) -> Tensor {
        Tensor.uniform([count] + [Int](repeating: 1, count: imageShape.count), exampleAxis: 0, generator: &rng)
    }

    /// The gradient penalty at the interpolates x̂ = e x + (1 - e) x~ of the given coefficients e.
    public func gradientPenalty(real: Tensor, fake: Tensor, mix e: Tensor) -> Tensor {
        let interpolates = (e * real + (1 - e) * fake).detached().requiringGradient()
        let g = gradients(of: discriminate(interpolates).sum(), wrt: [interpolates], createGraph: true)[0]
        let norms = (g.squared().flattened().sum(alongAxis: 1) + 1e-12).sqrt()
        return (norms - 1).squared().mean()
    }

    /// The discriminator's (critic's) loss for one update and its parts: `loss` = `realTerm` +
    /// `fakeTerm` (+ the penalty weight times `penalty` for wgan-gp).
    public struct CriticLoss {
        public let loss: Tensor, realTerm: Tensor, fakeTerm: Tensor
        /// wgan-gp: mean((|grad D(x̂)| - 1)^2), before its weight.
        public let penalty: Tensor?
        public let realScores: Tensor, fakeScores: Tensor
    }

    /// The critic's loss on a batch `images` in [0, 1] (scaled to [-1, 1]) against the fakes of
    /// `latents` (no gradient into the generator); for wgan-gp `mix` holds the interpolation
    /// coefficients of the penalty (`penaltyMix`). What `trainStep` minimises.
    public func criticLoss(images: Tensor, latents: Tensor, mix: Tensor?) -> CriticLoss {
        let real = images * 2 - 1
        let fake = generate(latents).detached()
        let realScores = discriminate(real), fakeScores = discriminate(fake)
        var loss = discriminatorLoss(real: realScores, fake: fakeScores)
        let terms = discriminatorTerms(real: realScores, fake: fakeScores)
        var penalty: Tensor? = nil
        if options.loss == .wassersteinGP {
            guard let mix else {
                preconditionFailure("GAN.criticLoss: wasserstein-gp needs the penalty's interpolation coefficients")
            }
            let p = gradientPenalty(real: real, fake: fake, mix: mix)
            loss = loss + options.penaltyWeight * p
            penalty = p
        }
        return CriticLoss(
            loss: loss, realTerm: terms.real, fakeTerm: terms.fake, penalty: penalty, realScores: realScores,
            fakeScores: fakeScores)
    }

    /// One update of the critic: its loss minimised, then (WGAN) its weights clipped to [-c, c].
    @discardableResult
    public func updateCritic(
        images: Tensor, latents: Tensor, mix: Tensor?, group: (any ProcessGroup)? = nil
    ) -> CriticLoss {
        let terms = criticLoss(images: images, latents: latents, mix: mix)
        discriminatorOptimizer.minimize(terms.loss, across: group)
        if options.loss == .wasserstein { clampParameters(discriminator.trainableParameters(), limit: options.clip) }
        return terms
    }

    /// The generator's loss for its images of `latents` as the discriminator scores them.
    public func generatorLoss(latents: Tensor) -> Tensor {
        generatorLoss(fake: discriminate(generate(latents)))
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        let n = batch.images.shape[0]
        let latents = noise(n, generator: &context.generator)
        let mix = options.loss == .wassersteinGP ? penaltyMix(n, generator: &context.generator) : nil
        let terms = updateCritic(images: batch.images, latents: latents, mix: mix, group: context.group)
        var figures: [String: Float] = [:]
        if let penalty = terms.penalty { figures["penalty"] = penalty.scalar }
        figures["loss_d"] = terms.loss.scalar
        if options.loss == .wasserstein || options.loss == .wassersteinGP {
            // The critic's estimate of the Wasserstein-1 distance (up to its Lipschitz constant).
            figures["wasserstein"] = terms.realScores.mean().scalar - terms.fakeScores.mean().scalar
        } else {
            figures["d_real"] = terms.realScores.sigmoid().mean().scalar
            figures["d_fake"] = terms.fakeScores.sigmoid().mean().scalar
        }
        if discriminatorOptimizer.step % options.criticSteps == 0 {
            let lossG = generatorLoss(latents: noise(n, generator: &context.generator))
            context.minimize(generatorOptimizer, lossG)
            updateAverage()
            figures["loss_g"] = lossG.scalar
        }
        figures["loss"] = figures["loss_d"]
        return figures
    }

    /// Images in [0, 1].
    public func sample(count: Int, generator rng: inout RandomGenerator) -> Tensor {
        (draw(noise(count, generator: &rng)) + 1) * 0.5
    }

    /// Images along straight lines between pairs of codes: [pairs * steps, C, H, W] in [0, 1].
    public func interpolate(pairs: Int, steps: Int, generator rng: inout RandomGenerator) -> Tensor {
        let a = noise(pairs, generator: &rng), b = noise(pairs, generator: &rng)
        return ((draw(pointsOnLines(from: a, to: b, steps: steps)) + 1) * 0.5).reshaped([-1] + imageShape)
    }
}
