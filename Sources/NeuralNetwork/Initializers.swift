import Foundation
import TensorEngine

/// How a weight is first filled. `fanIn`/`fanOut` count the inputs and outputs each unit sees
/// (channels times kernel area for convolutions).
public enum Initializer: Sendable {
    /// PyTorch's default for Linear and convolutions: Kaiming-uniform with a = sqrt(5), i.e.
    /// uniform in +-1/sqrt(fan_in).
    case pytorchDefault
    /// He et al. 2015, for ReLU networks: std sqrt(2 / fan_in).
    case kaimingNormal
    case kaimingUniform
    /// Glorot & Bengio 2010: variance 2 / (fan_in + fan_out).
    case xavierNormal
    case xavierUniform
    /// A fixed normal, e.g. N(0, 0.02) as in DCGAN.
    case normal(mean: Float, standardDeviation: Float)
    case zeros
    case constant(Float)

    public static let dcgan = Initializer.normal(mean: 0, standardDeviation: 0.02)

    public func make(_ shape: [Int], fanIn: Int, fanOut: Int, generator: inout RandomGenerator) -> Tensor {
        let fanIn = Float(max(fanIn, 1)), fanOut = Float(max(fanOut, 1))
        switch self {
        case .pytorchDefault:
            let bound = 1 / fanIn.squareRoot()
            return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
        case .kaimingNormal:
            return Tensor.normal(shape, standardDeviation: (2 / fanIn).squareRoot(), generator: &generator)
        case .kaimingUniform:
            let bound = (6 / fanIn).squareRoot()
            return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
        case .xavierNormal:
            return Tensor.normal(shape, standardDeviation: (2 / (fanIn + fanOut)).squareRoot(), generator: &generator)
        case .xavierUniform:
            let bound = (6 / (fanIn + fanOut)).squareRoot()
            return Tensor.uniform(shape, low: -bound, high: bound, generator: &generator)
        case .normal(let mean, let std):
            return Tensor.normal(shape, mean: mean, standardDeviation: std, generator: &generator)
        case .zeros:
            return Tensor.zeros(shape)
        case .constant(let v):
            return Tensor.full(shape, v)
        }
    }

    /// The bias that goes with this weight initialisation: PyTorch's uniform(+-1/sqrt(fan_in)) for
    /// the default, zeros otherwise.
    public func bias(_ count: Int, fanIn: Int, generator: inout RandomGenerator) -> Tensor {
        if case .pytorchDefault = self {
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            return Tensor.uniform([count], low: -bound, high: bound, generator: &generator)
        }
        return Tensor.zeros([count])
    }
}
