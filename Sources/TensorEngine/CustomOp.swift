/// Differentiable ops of one's own, written beside the model that needs them (PyTorch's
/// `autograd.Function`, mlx's `CustomFunction`): a fused kernel that a composition of engine ops
/// would run as many passes over memory (an LSTM's state update, a scan, a mixture likelihood).
///
/// The forward pass computes the output's values with the engine's kernel tools: the inputs'
/// `storage.pointer` (read only), a fresh `Storage(uninitializedCount:)` for the output,
/// `Parallel.forRanges` to use the cores, and the 16-lane `Vec` helpers (`forEachVector`,
/// `loadAt`, `storeAt`, `vexp`, `vlog`, `vsigmoid`, `vtanh`, `vsoftplus`, `vmax`) that the engine's
/// own kernels use. `Tensor.custom` then records the vector-Jacobian product.
///
/// ```swift
/// func cube(_ x: Tensor) -> Tensor {
///     let out = Storage(uninitializedCount: x.count)
///     for i in 0..<x.count { out.pointer[i] = x.storage.pointer[i] * x.storage.pointer[i] * x.storage.pointer[i] }
///     return Tensor.custom("cube", shape: x.shape, storage: out, inputs: [x]) { g, _ in [3 * x * x * g] }
/// }
/// ```
extension Tensor {
    /// The output `storage` of an op on `inputs`, recorded for differentiation when an input
    /// takes part in it: `vjp(g, needs)` maps the gradient g of the output to one gradient per
    /// input, nil where `needs` says none is wanted. A vjp that builds its result from
    /// differentiable tensor ops gives gradients of gradients too; one that writes raw kernels
    /// should refuse to run while `isRecordingGradients`.
    public static func custom(
        _ name: String, shape: [Int], storage: Storage, inputs: [Tensor],
        vjp: @escaping (_ gradient: Tensor, _ needs: [Bool]) -> [Tensor?]
    ) -> Tensor {
        precondition(Shape.count(shape) == storage.count, "\(name): storage of \(storage.count) for shape \(shape)")
        return result(name, shape: shape, storage: storage, inputs: inputs) { gradient, context in
            let gradients = vjp(gradient, context.needs)
            precondition(gradients.count == inputs.count, "\(name): \(gradients.count) gradients for \(inputs.count) inputs")
            for (g, input) in zip(gradients, inputs) {
                if let g { precondition(g.shape == input.shape, "\(name): gradient \(g.shape) for input \(input.shape)") }
            }
            return gradients
        }
    }

    /// Whether ops are being recorded: true inside a backward pass that is itself differentiated
    /// (gradients of gradients), false under `withoutGradients`.
    public static var isRecordingGradients: Bool { GradMode.isEnabled }
}
