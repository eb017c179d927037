import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import GenerativeMetrics
import NeuralNetwork
import TensorEngine

final class GaussianMixtureTests: XCTestCase {
    /// Three well-separated clusters of known centres, spreads and sizes: EM finds them.
    func testFitRecoversKnownClusters() {
        let centres: [[Float]] = [[-6, 0], [0, 5], [6, -1]], spreads: [Float] = [0.5, 1, 0.3], sizes = [300, 200, 100]
        var rng = RandomGenerator(seed: 7)
        let points = Tensor.concatenate(zip(zip(centres, spreads), sizes).map { arg -> Tensor in
            let ((centre, spread), size) = arg
            return Tensor.normal([size, 2], generator: &rng) * spread + Tensor(shape: [1, 2], scalars: centre)
        }, axis: 0)
        let (mixture, score) = GaussianMixture.fit(points, components: 3, generator: &rng)
        XCTAssert(score.isFinite)
        let order = mixture.means.scalars.enumerated().filter { $0.offset % 2 == 0 }.sorted { $0.element < $1.element }.map { $0.offset / 2 }
        for (truth, k) in order.enumerated() {
            XCTAssertEqual(mixture.means.scalars[2 * k], centres[truth][0], accuracy: 0.2)
            XCTAssertEqual(mixture.means.scalars[2 * k + 1], centres[truth][1], accuracy: 0.2)
            XCTAssertEqual(mixture.weights.scalars[k], Float(sizes[truth]) / 600, accuracy: 0.01)
            XCTAssertEqual(mixture.variances.scalars[2 * k].squareRoot(), spreads[truth], accuracy: 0.1 * spreads[truth])
        }
        let labels = sizes.enumerated().flatMap { Array(repeating: $0.offset, count: $0.element) }
        XCTAssertEqual(clusteringAccuracy(clusters: mixture.assignments(points), labels: labels), 1)
    }

    /// With `uniformWeights` the weights stay 1/K through EM, and the means and spreads of
    /// well-separated clusters of unequal sizes are still found.
    func testFitWithUniformWeightsKeepsThemEqual() {
        let centres: [[Float]] = [[-6, 0], [0, 5], [6, -1]], sizes = [300, 200, 100]
        var rng = RandomGenerator(seed: 7)
        let points = Tensor.concatenate(zip(centres, sizes).map { centre, size in
            Tensor.normal([size, 2], generator: &rng) * 0.5 + Tensor(shape: [1, 2], scalars: centre)
        }, axis: 0)
        let (mixture, _) = GaussianMixture.fit(points, components: 3, uniformWeights: true, generator: &rng)
        XCTAssertEqual(mixture.weights.scalars, [Float](repeating: 1 / 3, count: 3))
        let means = mixture.means.scalars
        let found: [[Float]] = (0..<3).map { k -> [Float] in [means[2 * k], means[2 * k + 1]] }.sorted { $0[0] < $1[0] }
        for (truth, mean) in zip(centres, found) {
            XCTAssertEqual(mean[0], truth[0], accuracy: 0.2)
            XCTAssertEqual(mean[1], truth[1], accuracy: 0.2)
        }
        for k in 0..<6 { XCTAssertEqual(mixture.variances.scalars[k].squareRoot(), 0.5, accuracy: 0.05) }
    }

    /// log N(x | mu, diag var) by hand for one point and two components.
    func testComponentLogDensitiesKnownAnswer() {
        let x = Tensor(shape: [1, 2], scalars: [1, -1])
        let means = Tensor(shape: [2, 2], scalars: [0, 0, 1, 1])
        let logVariances = Tensor(shape: [2, 2], scalars: [0, 0, Float(Foundation.log(4.0)), 0])
        let got = GaussianMixture.componentLogDensities(x, means: means, logVariances: logVariances).scalars
        let log2pi = Foundation.log(2 * Double.pi)
        XCTAssertEqual(Double(got[0]), -log2pi - 0.5 * (1 + 1), accuracy: 1e-5)
        XCTAssertEqual(Double(got[1]), -log2pi - 0.5 * (Foundation.log(4.0) + 0 / 4 + 4), accuracy: 1e-5)
    }

    /// The fit's densities, one matrix product, equal the differentiable [N, K, D] form that VaDE
    /// trains through, on points far from and on the means, with spreads from 0.05 to 20; and the
    /// squared distances equal the sums done by hand.
    func testDensitiesByProductsEqualTheDirectForm() {
        var rng = RandomGenerator(seed: 9)
        let means = Tensor.normal([5, 4], generator: &rng) * 3
        let variances = (Tensor.normal([5, 4], generator: &rng) * 2).exp().clamped(min: 0.0025, max: 400)
        let points = Tensor.concatenate([Tensor.normal([50, 4], generator: &rng) * 4, means], axis: 0)
        let direct = GaussianMixture.componentLogDensities(points, means: means, logVariances: variances.log()).scalars
        let products = GaussianMixture.componentLogDensitiesByProducts(points, means: means, variances: variances).scalars
        XCTAssertEqual(products.count, 55 * 5)
        // The expansion rounds like its largest term, sum_d (x^2 + m^2) / variance: a few float
        // ulps of that, and no more, is allowed.
        for n in 0..<55 {
            for k in 0..<5 {
                let scale = (0..<4).map { d -> Float in
                    let x = points.scalars[4 * n + d], m = means.scalars[4 * k + d]
                    return (x * x + m * m) / variances.scalars[4 * k + d]
                }.reduce(0, +)
                XCTAssertEqual(products[5 * n + k], direct[5 * n + k], accuracy: 1e-6 * scale + 1e-5 * max(1, abs(direct[5 * n + k])))
            }
        }
        let distances = GaussianMixture.squaredDistances(points, means).scalars
        for n in 0..<55 {
            for k in 0..<5 {
                let (x, m) = (points.scalars[(4 * n)..<(4 * n + 4)], means.scalars[(4 * k)..<(4 * k + 4)])
                let byHand = zip(x, m).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                let scale = zip(x, m).map { $0 * $0 + $1 * $1 }.reduce(0, +)
                XCTAssertEqual(distances[5 * n + k], byHand, accuracy: 1e-6 * scale + 1e-6)
                XCTAssertGreaterThanOrEqual(distances[5 * n + k], 0)
            }
        }
    }

    /// EM never lowers the likelihood of its starting point: the fit beats its own k-means start.
    func testEMImprovesOnKMeans() {
        var rng = RandomGenerator(seed: 3)
        let points = Tensor.normal([400, 3], generator: &rng) * Tensor(shape: [1, 3], scalars: [1, 3, 0.2])
        var seeds = rng
        let centres = GaussianMixture.kMeans(points, clusters: 4, iterations: 10, generator: &seeds)
        let start = GaussianMixture.maximisation(points, responsibilities: Tensor.oneHot(
            GaussianMixture.squaredDistances(points, centres).scalars.chunked(4).map { row in row.indices.min { row[$0] < row[$1] }! }, classes: 4),
            varianceFloor: 1e-6)
        let (fitted, score) = GaussianMixture.fit(points, components: 4, restarts: 1, generator: &rng)
        XCTAssertGreaterThanOrEqual(score, start.meanLogLikelihood(points) - 1e-4)
        XCTAssertEqual(fitted.weights.sum().scalar, 1, accuracy: 1e-5)
    }

    /// More restarts keep the first ones (each from the same split of the generator) and can
    /// only raise the likelihood of the fit kept: 30 restarts against 3 on points where EM's
    /// start matters (clusters of very different sizes and spreads, more components than
    /// clusters), and one of the 30 beats the best of the 3.
    func testMoreRestartsNeverLowerTheFit() {
        var rng = RandomGenerator(seed: 11)
        let points = Tensor.concatenate([
            Tensor.normal([500, 2], generator: &rng) * 3, Tensor.normal([40, 2], generator: &rng) * 0.2 + 5,
            Tensor.normal([200, 2], generator: &rng) * 0.5 - 4,
        ], axis: 0)
        let fits = [1, 3, 30].map { restarts in
            var g = RandomGenerator(seed: 5)
            return GaussianMixture.fit(points, components: 6, restarts: restarts, generator: &g).meanLogLikelihood
        }
        XCTAssertLessThanOrEqual(fits[0], fits[1])
        XCTAssertLessThan(fits[1], fits[2])
    }
}

final class VaDETests: XCTestCase {
    func smallVaDE(
        clusters: Int = 3, seed: UInt64 = 0, pretrainEpochs: Int = 1, pretraining: VaDE.Pretraining = .adamBCE,
        mixtureWeights: VaDE.MixtureWeights = .learned
    ) -> VaDE {
        var options = VaDE.Options()
        options.pretraining = pretraining
        options.mixtureWeights = mixtureWeights
        options.latentDimension = 3
        options.clusters = clusters
        options.hiddenDimensions = [32]
        options.pretrainEpochs = pretrainEpochs
        var rng = RandomGenerator(seed: seed)
        return VaDE(options, imageShape: [1, 12, 12], generator: &rng)
    }

    /// With one component at N(0, I) the divergence is the VAE's analytic KL.
    func testOneStandardComponentGivesTheVAEKL() {
        let vade = smallVaDE(clusters: 1)
        var rng = RandomGenerator(seed: 1)
        let m = Tensor.normal([4, 3], generator: &rng), logS2 = Tensor.normal([4, 3], generator: &rng) * 0.5
        let divergence = vade.latentDivergence(mean: m, logVariance: logS2, logResponsibilities: Tensor.zeros([4, 1]))
        let kl = 0.5 * (m.squared() + logS2.exp() - logS2 - 1).sum(alongAxis: 1)
        assertClose(divergence, kl.scalars, tolerance: 1e-4)
    }

    /// The closed-form divergence against a Monte-Carlo average of
    /// log q(z|x) + log q(c|x) - log p(z|c) - log p(c) over z ~ q(z|x), c ~ gamma.
    func testDivergenceMatchesMonteCarlo() {
        let vade = smallVaDE(clusters: 3)
        var rng = RandomGenerator(seed: 2)
        vade.priorLogits.assign(Tensor(shape: [3], scalars: [0.2, -0.5, 0.1]))
        vade.priorMeans.assign(Tensor.normal([3, 3], generator: &rng))
        vade.priorLogVariances.assign(Tensor.normal([3, 3], generator: &rng) * 0.3)
        let m = Tensor.normal([2, 3], generator: &rng), logS2 = Tensor.normal([2, 3], generator: &rng) * 0.3 - 0.5
        let logGamma = logSoftmax(Tensor.normal([2, 3], generator: &rng), axis: 1)
        let exact = vade.latentDivergence(mean: m, logVariance: logS2, logResponsibilities: logGamma)
        let samples = 100_000
        let eps = Tensor.normal([samples, 2, 3], generator: &rng)
        let z = m.unsqueezed(0) + (logS2 * 0.5).exp().unsqueezed(0) * eps                                  // [S, 2, 3]
        let log2pi = Float(Foundation.log(2 * Double.pi))
        let logQ = -0.5 * (eps.squared() + logS2.unsqueezed(0) + log2pi).sum(alongAxis: 2)                // [S, 2]
        let joint = vade.jointLogPrior(z.reshaped([-1, 3])).reshaped([samples, 2, 3])                     // log p(c) + log p(z|c)
        let perSample = logQ + (logGamma.exp().unsqueezed(0) * (logGamma.unsqueezed(0) - joint)).sum(alongAxis: 2)
        assertClose(perSample.mean(alongAxis: 0), exact.scalars, tolerance: 0.03)
    }

    /// The VaDE phase's rate: constant for its first 10 epochs, then times the decay every 10,
    /// never below a tenth; pre-training keeps its own rate. The model's schedule, by step.
    func testLearningRateDecaysEveryTenEpochsOfTheVaDEPhase() throws {
        let vade = smallVaDE(pretrainEpochs: 2)
        let stepsPerEpoch = 7
        let schedules = vade.learningRateSchedules(stepsPerEpoch: stepsPerEpoch)
        XCTAssertEqual(Set(schedules.keys), ["model"], "the pre-training optimizer keeps its own rate")
        let schedule = try XCTUnwrap(schedules["model"])
        for (epoch, factor) in [(0, 1), (2, 1), (11, 1), (12, 0.9), (21, 0.9), (22, 0.81), (500, 0.1)] as [(Int, Float)] {
            for step in [epoch * stepsPerEpoch, epoch * stepsPerEpoch + stepsPerEpoch - 1] {
                XCTAssertEqual(schedule.factor(atStep: step), factor, accuracy: 1e-7, "epoch \(epoch), step \(step)")
            }
        }
    }

    /// With `warmupEpochs` the VaDE phase's rate rises linearly over its first epochs, from a
    /// step's share of them, and then follows the same decay; pre-training is untouched.
    func testWarmupRaisesTheVaDEPhasesRateLinearly() throws {
        var options = smallVaDE(pretrainEpochs: 2).options
        options.warmupEpochs = 2
        var rng = RandomGenerator(seed: 0)
        let schedule = try XCTUnwrap(
            VaDE(options, imageShape: [1, 12, 12], generator: &rng).learningRateSchedules(stepsPerEpoch: 7)["model"])
        for (step, factor) in [(0, 1), (13, 1), (14, 1 / 14), (20, 7 / 14), (27, 1), (28, 1), (84, 0.9)] as [(Int, Float)] {
            XCTAssertEqual(schedule.factor(atStep: step), factor, accuracy: 1e-6, "step \(step)")
        }
    }

    /// A config written before the decay and the choice of pre-training existed reads as a
    /// constant rate and Adam on the Bernoulli loss; a new one round-trips.
    func testOptionsWithoutTheDecayReadAsAConstantRate() throws {
        var options = VaDE.Options()
        options.pretraining = .sgdMSE
        var fields = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(options)) as? [String: Any])
        XCTAssertEqual(fields["pretraining"] as? String, "sgd-mse")
        fields["learningRateDecay"] = nil
        fields["pretraining"] = nil
        fields["priorRestarts"] = nil
        let old = try JSONDecoder().decode(VaDE.Options.self, from: JSONSerialization.data(withJSONObject: fields))
        XCTAssertEqual(old.learningRateDecay, 1)
        XCTAssertEqual(old.pretraining, .adamBCE)
        XCTAssertEqual(old.priorRestarts, 10)
        XCTAssertEqual(try JSONDecoder().decode(VaDE.Options.self, from: JSONEncoder().encode(options)), options)
        XCTAssertEqual(try JSONDecoder().decode(VaDE.Options.self, from: JSONEncoder().encode(VaDE.Options())), VaDE.Options())
    }

    /// DEC's pre-training: the loss is the squared error of the decoder's output against the
    /// image, averaged over pixels and examples, and the first step moves every parameter of the
    /// autoencoder by minus its gradient (SGD at rate 1; momentum's buffer starts as the gradient).
    func testSGDPretrainingStepsDownTheSquaredError() throws {
        let vade = smallVaDE(seed: 4, pretraining: .sgdMSE)
        var rng = RandomGenerator(seed: 11)
        let images = prototypeData(count: 16, seed: 2).batch(Array(0..<16), generator: &rng)
        let x = images.images.flattened()
        let loss = (vade.decoder(vade.encode(x).mean) - x).squared().mean()
        let before = vade.pretrainer.parameters.map(\.value.scalars)
        let gradients = vade.pretrainer.gradients(of: loss).map(\.scalars)
        XCTAssertEqual(vade.pretrainer.parameters.count, vade.decoder.parameters().count + vade.encoder.parameters().count + 2)
        XCTAssertEqual(vade.trainStep(images, generator: &rng)["loss"]!, loss.scalar, accuracy: 1e-6)
        for (i, parameter) in vade.pretrainer.parameters.enumerated() {
            let error = zip(parameter.value.scalars, zip(before[i], gradients[i])).map { abs($0 - ($1.0 - $1.1)) }.max() ?? 0
            XCTAssertLessThan(error, 1e-6, "parameter \(i)")
            XCTAssertGreaterThan(gradients[i].map(abs).max() ?? 0, 0, "parameter \(i) has no gradient")
        }
    }

    /// Four random binary prototypes with 10% of their pixels flipped in each example.
    func prototypeData(count: Int, seed: UInt64) -> ByteImageDataset {
        var rng = RandomGenerator(seed: seed)
        let prototypes = (0..<4).map { _ in (0..<144).map { _ in rng.nextUniform() < 0.5 } }
        let labels = (0..<count).map { _ in rng.nextInt(below: 4) }
        let pixels = labels.flatMap { label in prototypes[label].map { on -> UInt8 in (on != (rng.nextUniform() < 0.1)) ? 255 : 0 } }
        return ByteImageDataset(name: "prototypes", pixels: pixels, imageShape: [1, 12, 12], labels: labels)
    }

    /// Pre-training for three epochs, then the prior is fitted and the ELBO phase starts; a
    /// reloaded checkpoint gives the same clusters; four well-separated clusters are found.
    func testPhasesPriorAndClustering() throws {
        let vade = smallVaDE(clusters: 4, seed: 5, pretrainEpochs: 3)
        let data = prototypeData(count: 256, seed: 6)
        var rng = RandomGenerator(seed: 7)
        XCTAssert(vade.isPretraining)
        for epoch in 0..<10 {
            try vade.prepare(epoch: epoch, dataset: data)
            for start in stride(from: 0, to: 256, by: 32) {
                let losses = vade.trainStep(data.batch(Array(start..<start + 32), generator: &rng), generator: &rng)
                XCTAssert(losses["loss"]!.isFinite)
                XCTAssertEqual(losses["reconstruction"] == nil, epoch < 3)
            }
        }
        XCTAssertFalse(vade.isPretraining)
        XCTAssertEqual(vade.prior.weights.sum().scalar, 1, accuracy: 1e-5)
        let images = data.batch(Array(0..<256), generator: &rng)
        let accuracy = clusteringAccuracy(clusters: vade.clusters(images.images), labels: images.labels!)
        XCTAssertGreaterThan(accuracy, 0.95)

        let copy = smallVaDE(clusters: 4, seed: 99)
        try copy.load(stateDict: Dictionary(uniqueKeysWithValues: vade.stateDict().map { ($0.name, $0.tensor) }))
        XCTAssertFalse(copy.isPretraining)
        XCTAssertEqual(copy.clusters(images.images), vade.clusters(images.images))
        let samples = copy.sample(clusters: [0, 1, 2, 3], generator: &rng)
        XCTAssertEqual(samples.shape, [4, 1, 12, 12])
    }

    /// Uniform mixture weights are 1/K after the fit and stay so through the VaDE phase, where
    /// learned ones start at the GMM's weights and move; the clusters are found either way.
    func testUniformMixtureWeightsStayFixed() throws {
        let data = prototypeData(count: 256, seed: 6)
        var weights: [VaDE.MixtureWeights: [Float]] = [:]
        for choice in VaDE.MixtureWeights.allCases {
            let vade = smallVaDE(clusters: 4, seed: 5, pretrainEpochs: 3, mixtureWeights: choice)
            var rng = RandomGenerator(seed: 7)
            for epoch in 0..<10 {
                try vade.prepare(epoch: epoch, dataset: data)
                for start in stride(from: 0, to: 256, by: 32) {
                    vade.trainStep(data.batch(Array(start..<start + 32), generator: &rng), generator: &rng)
                }
            }
            XCTAssertFalse(vade.isPretraining)
            weights[choice] = vade.prior.weights.scalars
            let images = data.batch(Array(0..<256), generator: &rng)
            XCTAssertGreaterThan(clusteringAccuracy(clusters: vade.clusters(images.images), labels: images.labels!), 0.95)
        }
        XCTAssertEqual(weights[.uniform], [0.25, 0.25, 0.25, 0.25])
        XCTAssertGreaterThan(weights[.learned]!.map { abs($0 - 0.25) }.max()!, 0.005)
    }
}

extension Array {
    fileprivate func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
