import Foundation
import TensorEngine

/// Updates parameters from their gradients. An optimizer keeps per-parameter state (moments,
/// momentum buffers) which `state` exposes by name so a checkpoint can restore it exactly.
///
/// ```swift
/// let optimizer = Adam(model.trainableParameters(), learningRate: 1e-3)
/// let loss = ...
/// optimizer.minimize(loss)          // gradients of loss for the parameters, then one step
/// ```
public protocol Optimizer: AnyObject {
    var parameters: [Parameter] { get }
    var learningRate: Float { get set }
    /// Steps taken so far.
    var step: Int { get }
    /// Applies one update; `gradients[i]` belongs to `parameters[i]`.
    func update(_ gradients: [Tensor])
    /// Per-parameter state as named tensors ("<index>.<name>"), plus the step count.
    var state: [String: Tensor] { get }
    func load(state: [String: Tensor]) throws
}

extension Optimizer {
    /// The gradients of `loss` for this optimizer's parameters.
    public func gradients(of loss: Tensor) -> [Tensor] {
        TensorEngine.gradients(of: loss, wrt: parameters.map(\.value))
    }

    /// One step down the gradient of `loss`; in data-parallel training, down the gradient
    /// averaged over the processes of `group`.
    public func minimize(_ loss: Tensor, across group: (any ProcessGroup)? = nil) {
        let local = gradients(of: loss)
        update(group.map { $0.averageGradients(local) } ?? local)
    }
}

/// The processes of a data-parallel run, as an optimizer and a layer see them: the training
/// loop hands it to every step, and to the layers that share batch statistics.
public protocol ProcessGroup {
    /// The mean over the processes of each one's gradients, in the same order.
    func averageGradients(_ gradients: [Tensor]) -> [Tensor]
    /// The elementwise sum over the processes, in place.
    func sum(_ values: inout [Float])
}

/// Per-parameter state of an optimizer: named slots ("exp_avg", "momentum_buffer") holding one
/// tensor per parameter once it has been created.
final class OptimizerSlots {
    private var values: [String: [Tensor?]] = [:]
    let shapes: [[Int]]

    init(_ parameters: [Parameter]) { shapes = parameters.map(\.shape) }

    subscript(name: String, index: Int) -> Tensor? {
        get { values[name]?[index] }
        set {
            if values[name] == nil { values[name] = [Tensor?](repeating: nil, count: shapes.count) }
            values[name]![index] = newValue
        }
    }

    /// Removes and returns a slot's tensor, leaving no reference to it behind.
    func take(_ name: String, _ index: Int) -> Tensor? {
        guard values[name] != nil else { return nil }
        defer { values[name]![index] = nil }
        return values[name]![index]
    }

    /// "<parameter index>.<slot>" for every created slot, and "step".
    func export(step: Int) -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(Float(step))]
        for (name, tensors) in values {
            for (i, t) in tensors.enumerated() { if let t { out["\(i).\(name)"] = t } }
        }
        return out
    }

    /// Replaces every slot from `state`; returns the step. Nothing changes if anything is off.
    func restore(_ state: [String: Tensor]) throws -> Int {
        guard let step = state["step"], step.count == 1 else {
            throw StateDictError(problems: ["optimizer state has no step"])
        }
        var problems: [String] = []
        var restored: [String: [Tensor?]] = [:]
        for (key, tensor) in state.sorted(by: { $0.key < $1.key }) where key != "step" {
            let parts = key.split(separator: ".", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0]), shapes.indices.contains(index) else {
                problems.append("unexpected optimizer state \(key)"); continue
            }
            guard tensor.shape == shapes[index] else {
                problems.append(
                    "optimizer state \(key) has shape \(tensor.shape), parameter \(index) has \(shapes[index])");
                continue
            }
            restored[String(parts[1]), default: [Tensor?](repeating: nil, count: shapes.count)][index] = tensor
        }
        guard problems.isEmpty else { throw StateDictError(problems: problems) }
        values = restored
        return Int(step.scalar)
    }
}
