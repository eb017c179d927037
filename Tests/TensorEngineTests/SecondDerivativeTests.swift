import TestSupport
import XCTest
@testable import TensorEngine

/// Gradients of gradients for the ops on a gradient-penalty path (WGAN-GP, R1), checked as
/// Hessian-vector products against finite differences of the first gradient.
final class SecondDerivativeTests: XCTestCase {
    func testElementwiseOps() {
        let x = randomTensor([3, 4], seed: 1), y = randomTensor([4], seed: 2)
        let positive = x.abs() + 0.5
        assertSecondDerivativesMatchFiniteDifferences([x, y]) { $0[0] * $0[1] + $0[0] * $0[0] }
        assertSecondDerivativesMatchFiniteDifferences([x, y]) { ($0[0] + $0[1]).pow(3) }
        assertSecondDerivativesMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].sqrt() }
        assertSecondDerivativesMatchFiniteDifferences([positive], epsilon: 1e-3) { $0[0].pow(1.5) }
        assertSecondDerivativesMatchFiniteDifferences([x]) { $0[0].tanh() }
        assertSecondDerivativesMatchFiniteDifferences([x]) { ($0[0] * 2).sigmoid() + $0[0].exp() }
        assertSecondDerivativesMatchFiniteDifferences([x, positive], epsilon: 1e-3) { $0[0] / $0[1] + $0[1].log() }
        assertSecondDerivativesMatchFiniteDifferences([x]) { $0[0].sum(alongAxis: 1, keepDims: true) * $0[0] }
        assertSecondDerivativesMatchFiniteDifferences([x]) { $0[0].softplus() }
        assertSecondDerivativesMatchFiniteDifferences([x]) { elu($0[0], alpha: 1.3) * $0[0] }
        assertSecondDerivativesMatchFiniteDifferences([awayFromZero([2, 3, 2], seed: 16)]) { concatELU($0[0]) * concatELU($0[0]) }
        assertSecondDerivativesMatchFiniteDifferences([awayFromZero([2, 4, 3], seed: 17)]) { glu($0[0]) * gatedTanh($0[0]) }
        assertSecondDerivativesMatchFiniteDifferences([x]) { $0[0].shifted(alongAxis: 1, by: 2).tanh() * $0[0] }
        assertSecondDerivativesMatchFiniteDifferences([x]) { $0[0].sliced(axis: 1, 1..<3).tanh() * $0[0].sliced(axis: 1, 0..<2) }
        assertSecondDerivativesMatchFiniteDifferences([x, y.sigmoid()]) { bernoulliLogLikelihood(logits: $0[0], targets: $0[1]) }
    }

    func testLinearWithLeakyReLU() {
        // The second derivative of leaky ReLU is zero, but its mask must still route the
        // mixed terms between inputs and weights.
        let x = awayFromZero([5, 3], seed: 3), w = randomTensor([4, 3], seed: 4), b = randomTensor([4], seed: 5)
        assertSecondDerivativesMatchFiniteDifferences([x, w, b], epsilon: 1e-3) {
            let h = leakyReLU(linear($0[0], weight: $0[1], bias: $0[2]), slope: 0.2)
            return (h * h).sum(alongAxis: 1)
        }
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([2, 3, 4], seed: 6), randomTensor([2, 4, 3], seed: 7)]) {
            matmul($0[0], $0[1]).tanh()
        }
    }

    func testConvolutions() {
        // tanh of sums of nine products has large third derivatives: a smaller step keeps the
        // finite difference's own error below the tolerance.
        let x = randomTensor([2, 2, 5, 5], seed: 8), w = randomTensor([4, 1, 3, 3], seed: 9)
        assertSecondDerivativesMatchFiniteDifferences([x, w], epsilon: 3e-3) {
            conv2d($0[0], $0[1], stride: 2, padding: 1, groups: 2).tanh()
        }
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([1, 2, 3, 3], seed: 10), randomTensor([2, 3, 3, 3], seed: 11)], epsilon: 3e-3) {
            convTranspose2d($0[0], $0[1], stride: 2, padding: 1, outputPadding: 1).tanh()
        }
        // StyleGAN's resampling, on the R1 penalty's path through the discriminator.
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([1, 2, 2, 4], seed: 12)]) {
            blockSum(upsampleNearest($0[0], scale: 2).tanh(), scale: 2).tanh()
        }
        // PixelRNN's skew and unskew, each differentiated through the other.
        assertSecondDerivativesMatchFiniteDifferences([randomTensor([1, 2, 3, 4], seed: 13)]) {
            unskewed(skewed($0[0], width: 7).tanh(), width: 4).tanh()
        }
    }

    /// The WGAN-GP penalty (|grad_x D(x)| - 1)^2 of a small convolutional critic, differentiated
    /// in the critic's weights: its gradient from autodiff against finite differences of the penalty.
    func testGradientPenaltyGradient() {
        let x = randomTensor([2, 1, 6, 6], seed: 12)
        let w1 = randomTensor([3, 1, 3, 3], seed: 13, scale: 0.5), w2 = randomTensor([1, 27], seed: 14, scale: 0.3)
        func penalty(_ params: [Tensor]) -> Tensor {
            withGradients {
                let input = x.requiringGradient()
                let h = leakyReLU(conv2d(input, params[0], stride: 2, padding: 1), slope: 0.2)
                let critic = linear(h.flattened(), weight: params[1]).sum()
                let g = gradients(of: critic, wrt: [input], createGraph: true)[0]
                let norm = (g * g).sum(alongAxes: [1, 2, 3]).sqrt()
                return ((norm - 1) * (norm - 1)).mean()
            }
        }
        assertGradientsMatchFiniteDifferences([w1, w2], epsilon: 1e-3, tolerance: 2e-2, penalty)
    }
}
