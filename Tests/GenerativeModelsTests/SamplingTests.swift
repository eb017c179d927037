import Foundation
import XCTest
@testable import GenerativeModels
import NeuralNetwork
import TensorEngine

/// Samples follow the model: for networks with known conditionals, the frequencies of many
/// draws pass a chi-square test against the model's probabilities (at a fixed seed, so the
/// test is repeatable; the critical values are those of p = 0.001).
final class SamplingTests: XCTestCase {
    /// The chi-square statistic of `observed` counts against probabilities `expected` (summing
    /// to 1), bins with an expected count below 5 pooled into one, and its degrees of freedom.
    func chiSquare(_ observed: [Int], _ expected: [Double]) -> (statistic: Double, degrees: Int) {
        let total = Double(observed.reduce(0, +))
        var statistic = 0.0, bins = 0, pooledObserved = 0.0, pooledExpected = 0.0
        for (o, p) in zip(observed, expected) {
            if p * total < 5 { pooledObserved += Double(o); pooledExpected += p * total; continue }
            statistic += (Double(o) - p * total) * (Double(o) - p * total) / (p * total)
            bins += 1
        }
        if pooledExpected > 0 {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / max(pooledExpected, 1e-9)
            bins += 1
        }
        return (statistic, bins - 1)
    }

    /// The chi-square distribution's upper 0.1% points.
    let critical: [Int: Double] = [1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32, 8: 26.12, 9: 27.88,
                                   10: 29.59, 11: 31.26, 12: 32.91, 13: 34.53, 14: 36.12, 15: 37.70]

    func assertFollows(_ observed: [Int], _ expected: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let (statistic, degrees) = chiSquare(observed, expected)
        guard let limit = critical[degrees] else { return XCTFail("\(what): \(degrees) degrees of freedom", file: file, line: line) }
        XCTAssertLessThan(statistic, limit, "\(what): chi-square \(statistic) on \(degrees) degrees; observed \(observed)", file: file, line: line)
    }

    /// A "network" whose logits are fixed: channel 0 from `base`; each later channel favours the
    /// value its previous channel took at the same pixel by `bonus` (the only input it reads, one
    /// allowed by the colour order R -> G -> B).
    final class FixedLogits: Module, PixelNetwork {
        let base: [Float], bonus: Float, channels: Int
        init(base: [Float], bonus: Float, channels: Int) { self.base = base; self.bonus = bonus; self.channels = channels }

        func callAsFunction(_ images: Tensor, labels: [Int]?) -> Tensor {
            let (n, h, w) = (images.shape[0], images.shape[2], images.shape[3])
            let levels = base.count, x = images.scalars, plane = h * w
            return Tensor(shape: [n, channels * levels, h, w]) { out in
                for image in 0..<n {
                    for c in 0..<channels {
                        for p in 0..<plane {
                            let previous = c == 0 ? -1 : Int((x[(image * channels + c - 1) * plane + p] * 255).rounded())
                            for l in 0..<levels {
                                out[((image * channels + c) * levels + l) * plane + p] = base[l] + (levels > 1 && l == previous ? bonus : 0)
                            }
                        }
                    }
                }
            }
        }
    }

    func softmax(_ logits: [Float]) -> [Double] {
        let top = Double(logits.max()!)
        let e = logits.map { Foundation.exp(Double($0) - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// 256-way softmax, grey: each pixel's values follow softmax(logits) (the value -> logit
    /// indexing is exact: the support is 3 values far apart).
    func testCategoricalSamplesFollowTheSoftmax() {
        var base = [Float](repeating: -40, count: 256)
        base[3] = 0.5; base[128] = -0.2; base[250] = 1
        let model = AutoregressiveModel(network: FixedLogits(base: base, bonus: 0, channels: 1), likelihood: .categorical,
                                        imageShape: [1, 2, 2], learningRate: 1e-3)
        var generator = RandomGenerator(seed: 11)
        let values = model.sample(count: 1500, generator: &generator).scalars.map { Int(($0 * 255).rounded()) }
        let support = [3, 128, 250]
        XCTAssertEqual(values.filter { !support.contains($0) }.count, 0, "a value of probability e^-40 was drawn")
        let p = softmax(support.map { base[$0] })
        assertFollows(support.map { v in values.filter { $0 == v }.count }, p, "grey categorical")
    }

    /// Colour: green is drawn after red and sees it (P(G = R) is the model's, not 1/3), blue
    /// after green.
    func testColourChannelsAreDrawnInOrderAndConditioned() {
        var base = [Float](repeating: -40, count: 256)
        for v in [10, 20, 30] { base[v] = 0 }
        let model = AutoregressiveModel(network: FixedLogits(base: base, bonus: 2, channels: 3), likelihood: .categorical,
                                        imageShape: [3, 1, 2], learningRate: 1e-3)
        var generator = RandomGenerator(seed: 12)
        let count = 1500
        let x = model.sample(count: count, generator: &generator).scalars.map { Int(($0 * 255).rounded()) }
        var redCounts = [0, 0, 0], greenMatches = [0, 0], blueMatches = [0, 0]
        for image in 0..<count {
            for p in 0..<2 {
                let (r, g, b) = (x[(image * 3) * 2 + p], x[(image * 3 + 1) * 2 + p], x[(image * 3 + 2) * 2 + p])
                redCounts[[10, 20, 30].firstIndex(of: r)!] += 1
                greenMatches[g == r ? 0 : 1] += 1
                blueMatches[b == g ? 0 : 1] += 1
            }
        }
        let match = Foundation.exp(2.0) / (Foundation.exp(2.0) + 2)
        assertFollows(redCounts, [1.0 / 3, 1.0 / 3, 1.0 / 3], "red")
        assertFollows(greenMatches, [match, 1 - match], "green given red")
        assertFollows(blueMatches, [match, 1 - match], "blue given green")
    }

    func testBernoulliSamplesFollowTheSigmoid() {
        let model = AutoregressiveModel(network: FixedLogits(base: [0.8], bonus: 0, channels: 1), likelihood: .bernoulli,
                                        imageShape: [1, 2, 3], learningRate: 1e-3)
        var generator = RandomGenerator(seed: 13)
        let values = model.sample(count: 1000, generator: &generator).scalars
        let p = 1 / (1 + Foundation.exp(-0.8))
        assertFollows([values.filter { $0 == 1 }.count, values.filter { $0 == 0 }.count], [p, 1 - p], "bernoulli")
    }

    /// The discretised logistic, written from the paper (Salimans et al. 2017, eq. 2) for the
    /// reference: the probability of value v (0...255) under a logistic of mean mu and log scale.
    func logisticBin(_ v: Int, mean: Double, logScale: Double) -> Double {
        let x = Double(v) / 127.5 - 1, s = Foundation.exp(logScale)
        func cdf(_ t: Double) -> Double { 1 / (1 + Foundation.exp(-(t - mean) / s)) }
        let upper = v == 255 ? 1 : cdf(x + 1 / 255), lower = v == 0 ? 0 : cdf(x - 1 / 255)
        return upper - lower
    }

    /// PixelCNN++'s sampler in grey: the values (in 16 bins of 16) follow the mixture of three
    /// discretised logistics.
    func testGreyLogisticMixtureSamplesFollowTheMixture() {
        let logits: [Float] = [0.5, -0.3, 0.1], means: [Float] = [-0.7, 0.05, 0.6], logScales: [Float] = [-2.0, -1.4, -2.6]
        let parameters = logits + means + logScales
        XCTAssertEqual(parameters.count, DiscretizedLogisticMixture.parameterCount(components: 3, channels: 1))
        let n = 5000
        var generator = RandomGenerator(seed: 15)
        let x = DiscretizedLogisticMixture.sample(Tensor(shape: [n, 9, 1, 1], scalars: (0..<n).flatMap { _ in parameters }), channels: 1,
                                                  components: 3, generator: &generator).scalars
        var observed = [Int](repeating: 0, count: 16)
        for value in x { observed[Int((value * 255).rounded()) / 16] += 1 }
        let weights = softmax(logits)
        var expected = [Double](repeating: 0, count: 16)
        for k in 0..<3 {
            for v in 0..<256 { expected[v / 16] += weights[k] * logisticBin(v, mean: Double(means[k]), logScale: Double(logScales[k])) }
        }
        assertFollows(observed, expected, "grey mixture")
    }

    /// PixelCNN++'s sampler with three components in colour: the joint of red and green (in
    /// bins of 64 values) follows the mixture, green's mean moved by its coefficient on red.
    func testLogisticMixtureSamplesFollowTheMixture() {
        let k = 3
        let logits: [Float] = [0.3, -0.4, 0.1]
        let means: [[Float]] = [[-0.6, 0.1, 0.7], [0.2, -0.5, 0.4], [0, 0, 0]]   // [channel][component]
        let logScales: [[Float]] = [[-1.8, -2.2, -1.5], [-2, -1.6, -2.4], [-2, -2, -2]]
        let coefficients: [[Float]] = [[0.9, -0.7, 0.3], [0, 0, 0], [0, 0, 0]]   // green on red; blue's unused here
        let parameters = logits + means.flatMap { $0 } + logScales.flatMap { $0 } + coefficients.flatMap { $0 }
        XCTAssertEqual(parameters.count, DiscretizedLogisticMixture.parameterCount(components: k, channels: 3))
        let n = 6000
        let tiled = Tensor(shape: [n, parameters.count, 1, 1], scalars: (0..<n).flatMap { _ in parameters })
        var generator = RandomGenerator(seed: 14)
        let x = DiscretizedLogisticMixture.sample(tiled, channels: 3, components: k, generator: &generator).scalars
        var observed = [Int](repeating: 0, count: 16)
        for image in 0..<n {
            let (r, g) = (Int((x[image * 3] * 255).rounded()), Int((x[image * 3 + 1] * 255).rounded()))
            observed[(r / 64) * 4 + g / 64] += 1
        }
        let weights = softmax(logits)
        var expected = [Double](repeating: 0, count: 16)
        for component in 0..<k {
            for r in 0..<256 {
                let pr = logisticBin(r, mean: Double(means[0][component]), logScale: Double(logScales[0][component]))
                let greenMean = Double(means[1][component]) + Foundation.tanh(Double(coefficients[0][component])) * (Double(r) / 127.5 - 1)
                for g in 0..<256 {
                    expected[(r / 64) * 4 + g / 64] += weights[component] * pr * logisticBin(g, mean: greenMean, logScale: Double(logScales[1][component]))
                }
            }
        }
        XCTAssertEqual(expected.reduce(0, +), 1, accuracy: 1e-9)
        assertFollows(observed, expected, "red and green of the colour mixture")
    }
}
