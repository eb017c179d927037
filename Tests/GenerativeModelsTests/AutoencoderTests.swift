import Foundation
import TestSupport
import XCTest
@testable import GenerativeModels
import Datasets
import NeuralNetwork
import TensorEngine

final class AutoencoderTests: XCTestCase {
    /// A linear autoencoder trained with MSE spans PCA's subspace: the largest principal angle
    /// between its decoder's columns and PCA's components is a few degrees at most.
    func testLinearAutoencoderSpansThePrincipalSubspace() throws {
        var rng = RandomGenerator(seed: 1)
        let n = 4096, d = 20
        let r = randomTensor([d, d], seed: 2)
        let basis = try Linalg.symmetricEigen(r + r.transposed()).vectors.sliced(axis: 0, 0..<3)   // [3, 20]
        let data = (Tensor.normal([n, 3], generator: &rng) * Tensor([3, 2, 1])).matmul(basis)
            + Tensor.normal([n, d], standardDeviation: 0.05, generator: &rng)
        let pca = try PCA(fitting: data, components: 3)

        var options = Autoencoder.Options()
        options.latentDimension = 3
        options.hiddenDimensions = []
        options.linear = true
        options.loss = .mse
        options.learningRate = 1e-2
        let ae = Autoencoder(options, imageShape: [1, 1, d], generator: &rng)
        let images = data.reshaped([n, 1, 1, d])
        for step in 0..<1500 {
            let start = (step * 256) % n
            let batch = Batch(images: images.sliced(axis: 0, start..<start + 256), labels: nil, indices: [])
            _ = ae.trainStep(batch, generator: &rng)
        }
        // The decoder's weight [20, 3]: its columns span the learned subspace, and so do the
        // rows of decoderSubspace().
        let decoderWeight = ae.decoder.layers.compactMap { $0 as? NeuralNetwork.Linear }.first!.weight.value
        assertClose(ae.decoderSubspace(), decoderWeight.transposed().scalars, tolerance: 1e-5)
        let angles = try principalAngles(ae.decoderSubspace(), pca.components)
        XCTAssertLessThan(angles.max()! * 180 / .pi, 5, "principal angles \(angles.map { $0 * 180 / .pi }) degrees")
    }

    func testConvolutionalAutoencoderLearnsShapes() {
        var options = Autoencoder.Options()
        options.architecture = .conv
        options.latentDimension = 8
        var rng = RandomGenerator(seed: 3)
        let ae = Autoencoder(options, imageShape: [1, 12, 12], generator: &rng)
        let data = ShapesDataset(count: 64, size: 12, seed: 4)
        var first: Float = 0, last: Float = 0
        for step in 0..<120 {
            let start = (step * 16) % 64
            let loss = ae.trainStep(data.batch(Array(start..<start + 16), generator: &rng), generator: &rng)["loss"]!
            if step == 0 { first = loss }
            last = loss
        }
        XCTAssertLessThan(last, first * 0.6, "loss went from \(first) to \(last)")
        let samples = ae.sample(count: 5, generator: &rng)
        XCTAssertEqual(samples.shape, [5, 1, 12, 12])
        XCTAssert(samples.min().scalar >= 0 && samples.max().scalar <= 1)
    }

    /// Codes for sampling: from the Gaussian fitted to the training codes by default, or from
    /// N(0, I) (the prior an autoencoder does not have, for the figure of why the VAE exists).
    func testSampledCodesComeFromThePriorAsked() throws {
        var options = Autoencoder.Options()
        options.latentDimension = 3
        var rng = RandomGenerator(seed: 4)
        let ae = Autoencoder(options, imageShape: [1, 4, 4], generator: &rng)
        ae.codeMean.value = Tensor([5, -3, 1])
        ae.codeVariance.value = Tensor([0.04, 0.01, 0.25])
        let fitted = ae.codes(count: 4000, prior: .fitted, generator: &rng), standard = ae.codes(count: 4000, prior: .standard, generator: &rng)
        assertClose(fitted.mean(alongAxis: 0), [5, -3, 1], tolerance: 0.03)
        assertClose(fitted.variance(alongAxis: 0), [0.04, 0.01, 0.25], tolerance: 0.03)
        assertClose(standard.mean(alongAxis: 0), [0, 0, 0], tolerance: 0.06)
        assertClose(standard.variance(alongAxis: 0), [1, 1, 1], tolerance: 0.08)
        XCTAssertEqual(ae.sample(count: 2, prior: .standard, generator: &rng).shape, [2, 1, 4, 4])
    }

    func testScatterPlotColoursByLabel() {
        let image = ScatterPlot.render(x: [0, 1], y: [0, 1], labels: [0, 1], size: 100)
        XCTAssertEqual([image.width, image.height, image.channels], [100, 100, 3])
        // The point of label 0 at the bottom-left corner takes the first colour.
        let corner = ((100 - 12) * 100 + 12) * 3
        XCTAssertEqual(Array(image.pixels[corner..<corner + 3]), [31, 119, 180])
    }
}
