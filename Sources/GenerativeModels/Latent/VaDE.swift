import Datasets
import Foundation
import GenerativeMetrics
import NeuralNetwork
import TensorEngine

/// Variational Deep Embedding (Jiang et al. 2017): a VAE whose prior is a mixture of Gaussians,
/// p(c) = pi_c, p(z | c) = N(mu_c, diag sigma_c^2), so that the mixture component of an image's
/// code is its cluster. Training has two phases, kept in the `phase` buffer so a resumed run
/// knows where it is:
/// 0. the encoder's mean head and the decoder are pre-trained as an autoencoder;
/// 1. a diagonal GMM is fitted to the codes of the training set and becomes the prior, and the
///    whole model then maximises the VaDE ELBO, with q(c | x) taken as p(c | z) at the sample z.
public final class VaDE: Module, TrainableModel {
    /// How the autoencoder is pre-trained: DEC's recipe (as in DEC-keras), plain SGD at rate 1
    /// with momentum 0.9 on the squared error of the decoder's output taken as intensities,
    /// averaged over pixels; or Adam on the Bernoulli loss.
    public enum Pretraining: String, Codable, CaseIterable, Sendable { case adamBCE = "adam-bce", sgdMSE = "sgd-mse" }

    /// The prior's pi: fitted with the GMM and then trained with the rest, or 1/K and fixed. A
    /// trained pi lets a cluster that loses images lose prior mass too, so it loses more
    /// (gradient pi_c - mean gamma_c); the authors' code starts pi uniform, and the loss never
    /// normalises it, so it stays uniform in effect.
    public enum MixtureWeights: String, Codable, CaseIterable, Sendable { case learned, uniform }

    public struct Options: Codable, Equatable, Sendable {
        public var latentDimension = 10
        public var clusters = 10
        /// The paper's encoder widths (784-500-500-2000-10); the decoder mirrors them.
        public var hiddenDimensions = [500, 500, 2000]
        /// 200 epochs of DEC's pre-training give codes whose fitted GMM matches the labels of
        /// about 89% of the training images (30 epochs of Adam: 72-78%).
        public var pretrainEpochs = 200
        public var learningRate: Float = 2e-3
        public var pretrainLearningRate: Float = 1e-3
        /// The VaDE phase's rate is multiplied by this every 10 epochs, down to a tenth of the
        /// starting rate: the authors' schedule (0.9; 1 keeps the rate constant).
        public var learningRateDecay: Float = 0.9
        public var pretraining = Pretraining.sgdMSE
        public var mixtureWeights = MixtureWeights.learned
        /// Adam's epsilon in the VaDE phase (the authors': 1e-4). Against the square root of a
        /// gradient's running second moment, a larger one keeps the weights whose gradients are
        /// tiny, most of a pre-trained network's at the start, from moving by the full rate.
        public var adamEpsilon: Float = 1e-8
        /// Epochs over which the VaDE phase's rate rises linearly to `learningRate`. Adam's first
        /// steps move every weight by about the full rate whatever its gradient, enough at 2e-3 to
        /// carry the pre-trained codes away from the clusters just fitted.
        public var warmupEpochs = 0
        /// EM runs when the prior is fitted, each from its own k-means++ seeding; the most
        /// likely is kept. The runs come in the same order whatever the count, so more can only
        /// raise the likelihood of the fit kept.
        public var priorRestarts = 10
        public init() {}

        /// A config.json written before the decay existed describes a constant rate (and one
        /// written before the choice of pre-training, Adam on the Bernoulli loss).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            latentDimension = try c.decode(Int.self, forKey: .latentDimension)
            clusters = try c.decode(Int.self, forKey: .clusters)
            hiddenDimensions = try c.decode([Int].self, forKey: .hiddenDimensions)
            pretrainEpochs = try c.decode(Int.self, forKey: .pretrainEpochs)
            learningRate = try c.decode(Float.self, forKey: .learningRate)
            pretrainLearningRate = try c.decode(Float.self, forKey: .pretrainLearningRate)
            learningRateDecay = try c.decodeIfPresent(Float.self, forKey: .learningRateDecay) ?? 1
            pretraining = try c.decodeIfPresent(Pretraining.self, forKey: .pretraining) ?? .adamBCE
            mixtureWeights = try c.decodeIfPresent(MixtureWeights.self, forKey: .mixtureWeights) ?? .learned
            adamEpsilon = try c.decodeIfPresent(Float.self, forKey: .adamEpsilon) ?? 1e-8
            warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs) ?? 0
            priorRestarts = try c.decodeIfPresent(Int.self, forKey: .priorRestarts) ?? 10
        }
    }

    public let options: Options
    public let imageShape: [Int]
    let encoder: Sequential
    let mean: Linear
    let logVariance: Linear
    let decoder: Sequential
    /// The prior: logits of pi, means mu_c and log sigma_c^2 of the K components.
    let priorLogits: Parameter
    let priorMeans: Parameter
    let priorLogVariances: Parameter
    /// 0 while pre-training the autoencoder, 1 once the prior has been fitted.
    let phase: Buffer
    var pretrainer: Optimizer!
    var optimizer: Adam!

    public var module: Module { self }
    public var optimizers: [String: Optimizer] { ["pretrain": pretrainer, "model": optimizer] }

    public init(_ options: Options, imageShape: [Int], generator: inout RandomGenerator) {
        self.options = options
        self.imageShape = imageShape
        let pixels = Shape.count(imageShape), hidden = options.hiddenDimensions
        encoder = Sequential(multilayerPerceptron([pixels] + hidden, activateLast: true, generator: &generator))
        mean = Linear(hidden.last ?? pixels, options.latentDimension, generator: &generator)
        logVariance = Linear(hidden.last ?? pixels, options.latentDimension, generator: &generator)
        decoder = Sequential(
            multilayerPerceptron(
                [options.latentDimension] + hidden.reversed() + [pixels], activateLast: false,
                generator: &generator))
        priorLogits = Parameter(Tensor.zeros([options.clusters]), frozen: options.mixtureWeights == .uniform)
        priorMeans = Parameter(Tensor.zeros([options.clusters, options.latentDimension]))
        priorLogVariances = Parameter(Tensor.zeros([options.clusters, options.latentDimension]))
        phase = Buffer(Tensor.zeros([1]))
        super.init()
        let networks = encoder.parameters() + mean.parameters() + decoder.parameters()
        let pretrained = networks.filter { !$0.isFrozen }
        pretrainer =
            options.pretraining == .sgdMSE
            ? SGD(pretrained, learningRate: 1, momentum: 0.9)
            : Adam(pretrained, learningRate: options.pretrainLearningRate)
        optimizer = Adam(trainableParameters(), learningRate: options.learningRate, epsilon: options.adamEpsilon)
    }

    public var isPretraining: Bool { phase.value.scalars[0] == 0 }

    public var prior: GaussianMixture {
        GaussianMixture(
            weights: softmax(priorLogits.value, axis: 0), means: priorMeans.value,
            variances: priorLogVariances.value.exp())
    }

    /// mu and log sigma^2 of q(z | x) for flattened images [N, pixels].
    public func encode(_ x: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        let h = encoder(x)
        return (mean(h), logVariance(h))
    }

    /// log p(c) + log p(z | c) for codes [N, D]: [N, K].
    func jointLogPrior(_ z: Tensor) -> Tensor {
        logSoftmax(priorLogits.value, axis: 0).unsqueezed(0)
            + GaussianMixture.componentLogDensities(z, means: priorMeans.value, logVariances: priorLogVariances.value)
    }

    /// The VaDE ELBO per example, [N], for flattened images x and one sample z of q(z | x):
    ///   log p(x | z) + E_q(z,c|x)[log p(z | c) + log p(c) - log q(z | x) - log q(c | x)],
    /// the expectation over z taken in closed form for Gaussians, with responsibilities
    /// gamma = q(c | x) = p(c | z).
    public func elbo(_ x: Tensor, generator: inout RandomGenerator) -> (elbo: Tensor, reconstruction: Tensor) {
        elbo(x, noise: Tensor.normal([x.shape[0], options.latentDimension], generator: &generator))
    }

    /// The same for given noise eps [N, D], z = mu + sigma * eps (the encoder draws nothing, so
    /// drawing eps first changes no random number).
    public func elbo(_ x: Tensor, noise eps: Tensor) -> (elbo: Tensor, reconstruction: Tensor) {
        let (mu, logVar) = encode(x)
        let z = mu + (logVar * 0.5).exp() * eps
        let reconstruction = bernoulliLogLikelihood(logits: decoder(z), targets: x)
        let logGamma = logSoftmax(jointLogPrior(z), axis: 1)
        return (
            reconstruction - latentDivergence(mean: mu, logVariance: logVar, logResponsibilities: logGamma),
            reconstruction
        )
    }

    /// KL(q(z, c | x) || p(z, c)) per example for q(z | x) = N(mean, diag exp(logVariance)) and
    /// q(c | x) = exp(logResponsibilities): the Gaussian cross-entropies
    ///   sum_c gamma_c 1/2 sum_j [log 2 pi + log sigma_cj^2 + (s_j^2 + (m_j - mu_cj)^2) / sigma_cj^2]
    /// minus the entropy of q(z | x), 1/2 sum_j (log 2 pi + 1 + log s_j^2), plus KL(gamma || pi).
    public func latentDivergence(
        mean m: Tensor, logVariance logS2: Tensor, logResponsibilities logGamma: Tensor
    ) -> Tensor {
        let gamma = logGamma.exp()
        let logTwoPi = Float(Foundation.log(2 * Double.pi))
        let priorLogVar = priorLogVariances.value.unsqueezed(0) // [1, K, D]
        let spread =
            (logS2.exp().unsqueezed(1) + (m.unsqueezed(1) - priorMeans.value.unsqueezed(0)).squared())
            * (-priorLogVar).exp()
        let crossEntropy = 0.5 * (logTwoPi + priorLogVar + spread).sum(alongAxis: 2) // [N, K]
        let entropy = 0.5 * (logTwoPi + 1 + logS2).sum(alongAxis: 1)
        let clusterDivergence = (gamma * (logGamma - logSoftmax(priorLogits.value, axis: 0).unsqueezed(0))).sum(
            alongAxis: 1)
        return (gamma * crossEntropy).sum(alongAxis: 1) - entropy + clusterDivergence
    }

    /// The cluster of each image: argmax_c p(c | z) at the posterior mean.
    public func clusters(_ images: Tensor) -> [Int] {
        withoutGradients { jointLogPrior(encode(images.flattened()).mean).argmax(alongAxis: 1).scalars.map { Int($0) } }
    }

    /// Fits the prior when pre-training ends.
    public func prepare(epoch: Int, dataset: Dataset) throws {
        if isPretraining, epoch >= options.pretrainEpochs { try fitPrior(dataset) }
    }

    /// The VaDE phase's rate: times `learningRateDecay` every 10 epochs after pre-training, down
    /// to a tenth (a function of the step alone, so a resumed run takes it up where it was).
    public func learningRateSchedules(stepsPerEpoch: Int) -> [String: any LearningRateSchedule] {
        [
            "model": DelayedStepDecay(
                delaySteps: options.pretrainEpochs * stepsPerEpoch, stepSize: 10 * stepsPerEpoch,
                gamma: options.learningRateDecay, minimumFactor: 0.1, warmupSteps: options.warmupEpochs * stepsPerEpoch)
        ]
    }

    /// Encodes the whole training set and sets the prior to a GMM fitted to the codes (the most
    /// likely of `priorRestarts` EM runs: the start decides much of the final clustering; with
    /// uniform mixture weights, EM keeps them equal, so the mixture fitted is the prior that is
    /// trained, not a most likely one whose weights are then replaced). The variance
    /// head, untouched by pre-training, starts at a constant posterior variance of a hundredth of
    /// the prior's average one: narrow against the clusters, so the first VaDE steps do not blur
    /// the pre-trained codes.
    public func fitPrior(_ dataset: Dataset) throws {
        var generator = RandomGenerator(seed: 0x6A_DE)
        let codes = withoutGradients {
            Tensor.concatenate(
                stride(from: 0, to: dataset.count, by: 1000).map { start in
                    let batch = dataset.batch(Array(start..<min(start + 1000, dataset.count)), generator: &generator)
                    return encode(batch.images.flattened()).mean
                }, axis: 0)
        }
        guard codes.scalars.allSatisfy(\.isFinite) else {
            throw TrainingError("VaDE: the pre-trained encoder gives non-finite codes")
        }
        let (mixture, score) = GaussianMixture.fit(
            codes, components: options.clusters, restarts: options.priorRestarts,
            uniformWeights: options.mixtureWeights == .uniform, generator: &generator)
        // A diagnostic only (training never sees labels): how well the starting clusters match.
        var report =
            "VaDE: prior fitted to the codes of \(dataset.count) images (mean log-likelihood "
                + "\(String(format: "%.3f", score)))"
        if let labels = dataset.batch(Array(0..<dataset.count), generator: &generator).labels {
            let accuracy = clusteringAccuracy(clusters: mixture.assignments(codes), labels: labels)
            report += String(format: "; its clusters match the labels for %.2f%% of them", 100 * accuracy)
        }
        FileHandle.standardError.write(Data((report + "\n").utf8))
        withoutGradients {
            if options.mixtureWeights == .learned { priorLogits.assign(mixture.weights.log()) }
            priorMeans.assign(mixture.means)
            priorLogVariances.assign(mixture.variances.log())
            logVariance.weight.assign(Tensor.zeros(logVariance.weight.value.shape))
            let spread = Foundation.log(mixture.variances.mean().scalar / 100)
            logVariance.bias?.assign(Tensor.full([options.latentDimension], spread))
            phase.value = Tensor.ones([1])
        }
    }

    public func trainStep(_ batch: Batch, context: inout StepContext) -> [String: Float] {
        let x = batch.images.flattened()
        if isPretraining {
            let output = decoder(encode(x).mean)
            let loss =
                options.pretraining == .sgdMSE
                ? (output - x).squared().mean() : -bernoulliLogLikelihood(logits: output, targets: x).mean()
            context.minimize(pretrainer, loss)
            return ["loss": loss.scalar]
        }
        let noise = Tensor.normal(
            [x.shape[0], options.latentDimension], exampleAxis: 0, generator: &context.generator)
        let terms = loss(x, noise: noise)
        context.minimize(optimizer, terms["loss"]!)
        return terms.mapValues(\.scalar)
    }

    /// What a step of the VaDE phase minimises for flattened images x and noise eps [N, D]: the
    /// negative ELBO averaged over the batch, as "loss", and its reconstruction term.
    public func loss(_ x: Tensor, noise eps: Tensor) -> [String: Tensor] {
        let (elbo, reconstruction) = elbo(x, noise: eps)
        return ["loss": -elbo.mean(), "reconstruction": -reconstruction.mean()]
    }

    /// Draws c from pi, z from N(mu_c, sigma_c^2), and decodes Bernoulli means.
    public func sample(count: Int, generator: inout RandomGenerator) -> Tensor {
        decode(codes: codes(count: count, generator: &generator))
    }

    /// One image per entry of `clusters`, drawn from that component of the prior.
    public func sample(clusters picks: [Int], generator: inout RandomGenerator) -> Tensor {
        decode(codes: codes(clusters: picks, generator: &generator))
    }

    /// One code per entry of `clusters`, from that component of the prior: [N, m].
    func codes(clusters picks: [Int], generator: inout RandomGenerator) -> Tensor {
        let means = priorMeans.value.gather(picks, alongAxis: 0)
        let deviations = (priorLogVariances.value.gather(picks, alongAxis: 0) * 0.5).exp()
        return means + deviations * Tensor.normal(means.shape, generator: &generator)
    }
}
