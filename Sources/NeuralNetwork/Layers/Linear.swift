import TensorEngine

/// y = x Wᵀ + b, with W of shape [out, in] as in PyTorch.
public final class Linear: Module, Layer {
    public let weight: Parameter
    public let bias: Parameter?

    public init(
        _ inputs: Int, _ outputs: Int, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        generator: inout RandomGenerator
    ) {
        weight = Parameter(initializer.make([outputs, inputs], fanIn: inputs, fanOut: outputs, generator: &generator))
        self.bias = bias ? Parameter(initializer.bias(outputs, fanIn: inputs, generator: &generator)) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight.value, bias: bias?.value)
    }
}

/// A lookup table: row i of the weight for index i (the class embedding of a conditional model).
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dimension: Int, generator: inout RandomGenerator) {
        weight = Parameter(Tensor.normal([count, dimension], generator: &generator)) // PyTorch: N(0, 1)
    }

    public func callAsFunction(_ indices: [Int]) -> Tensor {
        weight.value.gather(indices, alongAxis: 0)
    }
}

/// Zeroes values with probability `probability` while training. Call n draws its mask from a
/// stream keyed by (the layer's seed, n), and n is a buffer saved with the weights, so a
/// resumed run draws exactly the masks the uninterrupted one would have.
public final class Dropout: Module, Layer {
    public let probability: Float
    let seed: UInt64
    /// Masks drawn so far (a Float holds counts exactly up to 2^24).
    let calls = Buffer(Tensor(0))
    /// The rows of the global batch a training step's inputs hold (data parallelism): each
    /// example's mask is then that of its place in the global batch.
    public var exampleRows: ExampleRows?

    public init(_ probability: Float, generator: inout RandomGenerator) {
        self.probability = probability
        seed = generator.split().seed
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return x }
        let n = calls.value.scalar
        calls.value = Tensor(n + 1)
        var stream = RandomGenerator(seed: seed, examples: exampleRows).derived(UInt64(n))
        return dropout(x, probability: probability, generator: &stream)
    }
}

/// Layers applied in order.
public final class Sequential: Module, Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { $1($0) }
    }
}

/// A parameter-free function as a layer (an activation, a reshape) for use in `Sequential`.
public final class Function: Module, Layer {
    let body: (Tensor) -> Tensor
    public init(_ body: @escaping (Tensor) -> Tensor) { self.body = body }
    public func callAsFunction(_ x: Tensor) -> Tensor { body(x) }

    public static func relu() -> Function { Function { TensorEngine.relu($0) } }
    public static func leakyReLU(_ slope: Float) -> Function { Function { TensorEngine.leakyReLU($0, slope: slope) } }
    public static func tanh() -> Function { Function { $0.tanh() } }
    public static func sigmoid() -> Function { Function { $0.sigmoid() } }
    public static func flatten() -> Function { Function { $0.flattened() } }
    /// Reshapes every example to `shape` (the batch axis is kept).
    public static func unflatten(_ shape: [Int]) -> Function { Function { $0.reshaped([$0.shape[0]] + shape) } }
}
