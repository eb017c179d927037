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
    /// averaged over the processes (`GradientReduction`).
    public func minimize(_ loss: Tensor) {
        let local = gradients(of: loss)
        update(GradientReduction.current.map { $0(local) } ?? local)
    }
}

/// What a data-parallel step does to each optimizer's gradients before the update (sum them
/// across processes and divide by their number), set per thread by the training loop so that
/// every model's `minimize` takes part without knowing it.
public enum GradientReduction {
    public typealias Reduce = ([Tensor]) -> [Tensor]
    private static let key = "DeepGenerative.GradientReduction"

    final class Box { let reduce: Reduce; init(_ reduce: @escaping Reduce) { self.reduce = reduce } }

    public static var current: Reduce? { (Thread.current.threadDictionary[key] as? Box)?.reduce }

    /// Runs `body` with `reduce` applied in every `minimize` on this thread.
    public static func with<T>(_ reduce: Reduce?, _ body: () throws -> T) rethrows -> T {
        let dictionary = Thread.current.threadDictionary
        let saved = dictionary[key]
        dictionary[key] = reduce.map(Box.init)
        defer { dictionary[key] = saved }
        return try body()
    }
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
