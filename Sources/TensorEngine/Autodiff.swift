#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a backward rule is given: the gradient of the loss with respect to the op's output, the
/// output itself (rebuilt on demand so the graph holds no cycle), and which inputs need a gradient.
public struct BackwardContext {
    let node: GradNode
    /// `needs[i]` is false when no requested gradient depends on input `i`: the rule may return nil.
    public let needs: [Bool]

    /// The op's output, still connected to the graph so that rules using it stay differentiable.
    var output: Tensor {
        guard let saved = node.savedOutput else {
            fatalError("\(node.op): backward asked for an output it did not save")
        }
        return Tensor(shape: node.shape, storage: saved, node: node)
    }
}

/// A backward rule maps the output gradient to one gradient per input (nil where not needed).
/// Rules are written with differentiable tensor ops, so running them while gradients are
/// recorded yields gradients of gradients.
typealias BackwardRule = (_ gradient: Tensor, _ context: BackwardContext) -> [Tensor?]

/// A vertex of the recorded computation. Holds its inputs' nodes (for the traversal) and a rule;
/// the tensors a rule needs are captured by the rule itself.
final class GradNode {
    let op: String
    let shape: [Int]
    let inputs: [GradNode?]
    let rule: BackwardRule?
    let savedOutput: Storage?
    /// For a slice, where it starts in its input: its gradient is then added into the input's
    /// in place, instead of padded to the input's size first.
    var sliceStarts: [Int]?

    init(leafOfShape shape: [Int]) {
        op = "leaf"; self.shape = shape; inputs = []; rule = nil; savedOutput = nil
    }

    init(op: String, shape: [Int], inputs: [GradNode?], savedOutput: Storage?, rule: @escaping BackwardRule) {
        self.op = op; self.shape = shape; self.inputs = inputs; self.rule = rule; self.savedOutput = savedOutput
    }
}

/// Whether ops record the computation. Kept per thread so tests and workers cannot disturb each other.
enum GradMode {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Stored inverted so that the default (a null pointer) means "recording".
    static var isEnabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    static func with<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = enabled
        defer { isEnabled = previous }
        return try body()
    }
}

/// Runs `body` without recording the computation: for inference, sampling and optimizer updates.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: false, body)
}

/// Records the computation inside `body` even where an enclosing scope turned recording off
/// (PyTorch's `enable_grad`): a gradient penalty evaluated during validation needs it.
public func withGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.with(enabled: true, body)
}

extension Tensor {
    /// Wraps a freshly computed result, recording `rule` when any input is being differentiated.
    static func result(
        _ op: String, shape: [Int], storage: Storage, inputs: [Tensor],
        savesOutput: Bool = false, rule: @escaping BackwardRule
    ) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.node != nil }) else {
            return Tensor(shape: shape, storage: storage)
        }
        let node = GradNode(
            op: op, shape: shape, inputs: inputs.map(\.node),
            savedOutput: savesOutput ? storage : nil, rule: rule)
        return Tensor(shape: shape, storage: storage, node: node)
    }
}

extension Tensor {
    /// `reduce` applied to the values (e.g. a sum across processes, in place), and to the
    /// incoming gradient on the way back: the gradient of an all-reduced sum is the all-reduced
    /// sum of the gradients. Differentiable again, through the same rule.
    public func reduced(by reduce: @escaping (inout [Float]) -> Void) -> Tensor {
        var values = scalars
        reduce(&values)
        return Tensor.result("reduced", shape: shape, storage: Storage(values), inputs: [self]) { g, _ in
            [g.reduced(by: reduce)]
        }
    }
}

/// The gradients of `output` with respect to each tensor of `inputs`.
///
/// `output` is usually a scalar loss; for a non-scalar output pass `seed`, the vector in the
/// vector-Jacobian product. With `createGraph` the returned gradients are themselves recorded
/// and can be differentiated again (gradient penalties, R1).
///
/// ```swift
/// let w = Tensor([1, 2, 3]).requiringGradient()
/// let loss = (w * w).sum()
/// let g = gradients(of: loss, wrt: [w])[0]        // [2, 4, 6]
/// ```
public func gradients(
    of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil,
    createGraph: Bool = false
) -> [Tensor] {
    if let seed {
        precondition(
            seed.shape == output.shape, "gradients: seed shape \(seed.shape) differs from output shape \(output.shape)")
    } else {
        precondition(output.count == 1, "gradients: output of shape \(output.shape) is not a scalar; pass a seed")
    }
    guard let root = output.node else { return inputs.map { Tensor.zeros($0.shape) } }
    let order = topologicalOrder(from: root)
    let wanted = Set(inputs.compactMap { $0.node.map(ObjectIdentifier.init) })

    // A node is relevant when some requested input lies upstream of it.
    var relevant = Set<ObjectIdentifier>()
    for node in order {
        let id = ObjectIdentifier(node)
        if wanted.contains(id)
            || node.inputs.contains(where: { $0.map { relevant.contains(ObjectIdentifier($0)) } ?? false })
        {
            relevant.insert(id)
        }
    }

    var grads: [ObjectIdentifier: Tensor] = [:]
    // Sums created here, which nothing else holds: a slice's gradient may be added into them in place.
    var owned = Set<ObjectIdentifier>()
    GradMode.with(enabled: createGraph) {
        grads[ObjectIdentifier(root)] = seed ?? Tensor.ones(output.shape)
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard relevant.contains(id), let rule = node.rule, let gradient = grads[id] else { continue }
            if !wanted.contains(id) { grads[id] = nil } // free what no one asked for as soon as it is used
            let needs = node.inputs.map { $0.map { relevant.contains(ObjectIdentifier($0)) } ?? false }
            if !createGraph, let starts = node.sliceStarts, let input = node.inputs[0], needs[0] {
                // A recurrence that slices one step at a time then costs its steps, not its
                // steps times the whole input.
                let inputID = ObjectIdentifier(input)
                let sum =
                    owned.contains(inputID)
                    ? grads[inputID]! : grads[inputID].map { $0 + 0 } ?? Tensor.zeros(input.shape)
                sum.addRegion(gradient, at: starts)
                grads[inputID] = sum
                owned.insert(inputID)
                continue
            }
            let inputGrads = rule(gradient, BackwardContext(node: node, needs: needs))
            for (i, input) in node.inputs.enumerated() where needs[i] {
                guard let input, let g = inputGrads[i] else { continue }
                assert(
                    g.shape == input.shape, "\(node.op): gradient shape \(g.shape) for input of shape \(input.shape)")
                let inputID = ObjectIdentifier(input)
                if let sum = grads[inputID] {
                    grads[inputID] = sum + g
                    owned.insert(inputID)
                } else {
                    grads[inputID] = g
                    owned.remove(inputID)
                }
            }
        }
    }
    return inputs.map { input in input.node.flatMap { grads[ObjectIdentifier($0)] } ?? Tensor.zeros(input.shape) }
}

/// Inputs before the nodes that use them; iterative so deep graphs (long RNN unrolls) cannot
/// exhaust the stack.
private func topologicalOrder(from root: GradNode) -> [GradNode] {
    var order: [GradNode] = []
    var visited = Set<ObjectIdentifier>([ObjectIdentifier(root)])
    var stack: [(node: GradNode, next: Int)] = [(root, 0)]
    while let top = stack.last {
        if top.next < top.node.inputs.count {
            stack[stack.count - 1].next += 1
            if let input = top.node.inputs[top.next], visited.insert(ObjectIdentifier(input)).inserted {
                stack.append((input, 0))
            }
        } else {
            order.append(top.node)
            stack.removeLast()
        }
    }
    return order
}
