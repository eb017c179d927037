import Datasets
import Foundation
import TensorEngine

// What a trained model can do beyond training and sampling, asked as PyTorch code asks
// `hasattr(model, "log_prob")`: `eval`, `sample`, `interpolate` and the studio look up these
// protocols instead of the models' types.

/// log p(x), exactly (the autoregressive models) or by importance sampling (the VAEs).
public protocol LikelihoodModel: TrainableModel {
    /// -log p(x) in nats per image, [N]; `k` importance samples where it is estimated.
    func negativeLogLikelihood(_ batch: Batch, k: Int, generator: inout RandomGenerator) -> Tensor
    /// Whether the figure is an estimate that depends on k.
    var likelihoodIsEstimated: Bool { get }
}

/// A lower bound on log p(x): the ELBO.
public protocol EvidenceBound: TrainableModel {
    /// -ELBO in nats per image, [N].
    func negativeELBO(_ images: Tensor, generator: inout RandomGenerator) -> Tensor
}

/// Images back through a bottleneck.
public protocol Reconstructing: TrainableModel {
    func reconstruct(_ images: Tensor) -> Tensor
}

/// Unsupervised clusters, matched to labels by the Hungarian algorithm when measured.
public protocol Clustering: TrainableModel {
    func clusters(_ images: Tensor) -> [Int]
}

/// A classifier: labels, and the features the FID is computed on.
public protocol Classifying: TrainableModel {
    func predictions(_ images: Tensor) -> [Int]
}

/// Images to images: A -> B, and B -> A for a model that translates both ways.
public protocol Translating: TrainableModel {
    /// Outputs in [0, 1] for inputs in [0, 1]; `reverse` goes from B to A.
    func translate(_ images: Tensor, reverse: Bool) -> Tensor
    /// Whether it learnt from pairs (measured against targets) or from two domains (by cycles).
    var pairing: Pairing { get }
    /// The held-out images its samples.png shows translated.
    func show(_ data: Dataset)
}

/// Samples of a class asked for.
public protocol ConditionalSampling: TrainableModel {
    /// 0 for a model trained without labels.
    var classes: Int { get }
    func sample(labels: [Int], count: Int, generator: inout RandomGenerator) -> Tensor
}

/// A latent space to walk: interpolation between codes, and decoded grids.
public protocol LatentInterpolation: TrainableModel {
    /// `pairs` rows of `steps` images from one end to the other; between the codes of images of
    /// `test` where the model has an encoder, else between random codes.
    func interpolationGrid(
        pairs: Int, steps: Int, test: () throws -> Dataset, generator: inout RandomGenerator
    ) throws -> Tensor
}

/// A 2-D latent space decoded on a grid.
public protocol LatentManifold: TrainableModel {
    var latentDimension: Int { get }
    func manifold(size: Int) -> Tensor
}

/// An autoencoder that decodes codes from a prior of the caller's choice.
public protocol PriorSampling: TrainableModel {
    func sample(count: Int, prior: Autoencoder.Prior, generator: inout RandomGenerator) -> Tensor
}

/// Styles per layer: truncation, mixing, projection of images into W+, re-styling.
public protocol StyleMixing: TrainableModel {
    var imageShape: [Int] { get }
    /// The run's truncation psi.
    var truncation: Float { get }
    func sample(count: Int, psi: Float, generator: inout RandomGenerator) -> Tensor
    /// The layers of `name` (coarse, middle, fine).
    func layers(_ name: StyleLayers) -> Range<Int>
    func mixingGrid(
        sources: Int, destinations: Int, layers: Range<Int>, psi: Float, generator: inout RandomGenerator
    ) -> Tensor
    func truncationStrip(rows: Int, psis: [Float], generator: inout RandomGenerator) -> Tensor
    func project(
        _ target: Tensor, steps: Int, learningRate: Float, features: ((Tensor) -> Tensor)?,
        generator: inout RandomGenerator,
        progress: ((Int, Float) -> Void)?
    ) -> Projection
    func stylize(_ content: Projection, with style: Tensor, layers: Range<Int>) -> Tensor
    /// The per-layer styles [N, styleCount, D] of latent codes z [N, latent], truncated by `psi`.
    func styles(of codes: Tensor, psi: Float) -> Tensor
    /// Images in [0, 1] of per-layer styles, with the layers' fixed noise.
    func image(styles: Tensor) -> Tensor
}

/// StyleGAN's layer groups, from the coarsest resolutions to the finest.
public enum StyleLayers: String, Codable, CaseIterable, Sendable { case coarse, middle, fine }

/// A linear map to codes whose span can be compared with PCA's.
public protocol LinearSubspace: TrainableModel {
    /// An orthonormal-able basis of the subspace its decoder spans, [m, D]; nil if it is not linear.
    var subspace: Tensor? { get }
}

/// A discriminator whose output is the probability that its input is real data (the classic
/// GAN's; a Wasserstein critic's scores are not probabilities).
public protocol ProbabilityDiscriminating: TrainableModel {
    var discriminatesByProbability: Bool { get }
    /// D(x) in (0, 1) for images (or points) in [0, 1], [N].
    func probabilityReal(_ images: Tensor) -> Tensor
    /// `steps` updates of the discriminator alone on batches of `data` against the generator as
    /// it stands (the inner maximisation of the GAN game, carried out).
    func fitDiscriminator(to data: Dataset, steps: Int, batchSize: Int, generator: inout RandomGenerator)
}

/// A Gaussian decoder p(x | z) = N(mu(z), sigma^2): its means and deviations for codes of the prior.
public protocol GaussianDecoding: TrainableModel {
    var decodesGaussians: Bool { get }
    /// mu(z) and sigma (of z where the decoder gives it, else per pixel), [N, C, H, W] each, for
    /// `count` codes drawn from the prior.
    func decodedGaussians(count: Int, generator: inout RandomGenerator) -> (mean: Tensor, deviation: Tensor)
}

/// Codes of a prior and their decodings: the studio's sliders, planes and interpolations.
public protocol LatentDecoding: TrainableModel {
    var latentDimension: Int { get }
    /// `count` codes [count, m] drawn from the prior.
    func codes(count: Int, generator: inout RandomGenerator) -> Tensor
    /// Images in [0, 1], [N, C, H, W], for codes [N, m].
    func decode(codes: Tensor) -> Tensor
    /// Where the prior puts its codes: the centre and standard deviation of each dimension, [m]
    /// each (a slider spans three deviations either side).
    var codeSpread: (centre: [Float], deviation: [Float]) { get }
}

/// Samples of one component of a mixture prior (VaDE's clusters).
public protocol ClusterSampling: TrainableModel {
    var clusterCount: Int { get }
    /// One image per entry of `clusters`, [N, C, H, W] in [0, 1].
    func sample(clusters: [Int], generator: inout RandomGenerator) -> Tensor
}
