import TensorEngine

/// A trainable tensor. Modules hold parameters by reference so optimizers and checkpoints can
/// update them in place; the value is a leaf of differentiation unless the parameter is frozen.
public final class Parameter {
    public private(set) var value: Tensor
    /// A frozen parameter is left out of gradients and optimizer steps.
    public var isFrozen: Bool {
        didSet { value = Parameter.leaf(value, frozen: isFrozen) }
    }

    public init(_ value: Tensor, frozen: Bool = false) {
        isFrozen = frozen
        self.value = Parameter.leaf(value, frozen: frozen)
    }

    public var shape: [Int] { value.shape }

    /// Replaces the value (same shape), e.g. after an optimizer step or a checkpoint load.
    public func assign(_ newValue: Tensor) {
        precondition(
            newValue.shape == value.shape,
            "Parameter.assign: shape \(newValue.shape) for a parameter of shape \(value.shape)")
        value = Parameter.leaf(newValue, frozen: isFrozen)
    }

    /// Lets `body` change the value (same shape) while the parameter itself holds no reference
    /// to it, so that values nothing else shares can be updated in place.
    public func update(_ body: (inout Tensor) -> Void) {
        let shape = value.shape
        var current = value.detached()
        value = Parameter.vacant
        body(&current)
        precondition(
            current.shape == shape, "Parameter.update: shape \(current.shape) for a parameter of shape \(shape)")
        value = Parameter.leaf(current, frozen: isFrozen)
    }

    private static let vacant = Tensor.zeros([0])

    private static func leaf(_ t: Tensor, frozen: Bool) -> Tensor {
        frozen ? t.detached() : t.detached().requiringGradient()
    }
}

/// State that is saved with a module but not trained (BatchNorm's running statistics).
public final class Buffer {
    public var value: Tensor
    public init(_ value: Tensor) { self.value = value.detached() }
}

/// The base of every layer and model. Parameters, buffers and sub-modules are found by
/// reflection over stored properties (single values, optionals and arrays), each under a dotted
/// name such as `encoder.layers.0.weight`, in declaration order: the names checkpoints use and
/// the order gradients are reduced in.
///
/// ```swift
/// final class MLP: Module, Layer {
///     let hidden: Linear, output: Linear
///     init(generator: inout RandomGenerator) {
///         hidden = Linear(784, 400, generator: &generator)
///         output = Linear(400, 10, generator: &generator)
///     }
///     func callAsFunction(_ x: Tensor) -> Tensor { output(relu(hidden(x))) }
/// }
/// ```
open class Module {
    /// Training mode (the default) or evaluation mode: dropout and batch normalisation differ.
    public private(set) var isTraining = true

    public init() {}

    /// Every module and sub-module (this one first), with dotted names.
    public func namedModules() -> [(name: String, module: Module)] {
        var result: [(String, Module)] = [("", self)]
        for (name, child) in children() {
            for (subName, module) in child.namedModules() {
                result.append((subName.isEmpty ? name : "\(name).\(subName)", module))
            }
        }
        return result
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        namedModules().flatMap { prefix, module in
            module.ownMembers(Parameter.self).map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
        }
    }

    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        namedModules().flatMap { prefix, module in
            module.ownMembers(Buffer.self).map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
        }
    }

    /// All parameters, in canonical (declaration) order.
    public func parameters() -> [Parameter] { namedParameters().map(\.parameter) }

    /// The parameters an optimizer should update.
    public func trainableParameters() -> [Parameter] { parameters().filter { !$0.isFrozen } }

    public func train(_ on: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = on }
    }

    public func eval() { train(false) }

    public func freeze() { for p in parameters() { p.isFrozen = true } }
    public func unfreeze() { for p in parameters() { p.isFrozen = false } }

    /// Parameters and buffers by name: what a checkpoint holds.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedParameters().map { ($0.name, $0.parameter.value.detached()) }
            + namedBuffers().map { ($0.name, $0.buffer.value) }
    }

    /// Loads parameters and buffers by name. Nothing changes unless every name and shape matches;
    /// the error lists every difference.
    public func load(stateDict: [String: Tensor]) throws {
        let parameters = namedParameters(), buffers = namedBuffers()
        let expected = Dictionary(
            uniqueKeysWithValues: parameters.map { ($0.name, $0.parameter.shape) }
                + buffers.map { ($0.name, $0.buffer.value.shape) })
        var problems: [String] = []
        for name in expected.keys.sorted() where stateDict[name] == nil {
            problems.append("missing \(name) \(expected[name]!)")
        }
        for name in stateDict.keys.sorted() where expected[name] == nil {
            problems.append("unexpected \(name) \(stateDict[name]!.shape)")
        }
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            if let t = stateDict[name], t.shape != shape {
                problems.append("\(name): checkpoint has \(t.shape), model has \(shape)")
            }
        }
        guard problems.isEmpty else { throw StateDictError(problems: problems) }
        for (name, p) in parameters { p.assign(stateDict[name]!) }
        for (name, b) in buffers { b.value = stateDict[name]! }
    }

    // MARK: Reflection

    /// Direct sub-modules with their property names (array elements as `name.i`).
    func children() -> [(String, Module)] {
        members().compactMap { name, value in (value as? Module).map { (name, $0) } }
    }

    func ownMembers<T>(_ type: T.Type) -> [(String, T)] {
        members().compactMap { name, value in (value as? T).map { (name, $0) } }
    }

    /// Stored properties of this class and its superclasses, with arrays and optionals unpacked.
    private func members() -> [(String, Any)] {
        var result: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [Mirror] = []
        while let m = mirror { levels.append(m); mirror = m.superclassMirror }
        for m in levels.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                Module.unpack(Module.snakeCase(label), child.value, into: &result)
            }
        }
        return result
    }

    /// Property names become PyTorch-style keys: `runningMean` -> `running_mean`, `weightIH` -> `weight_ih`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousWasUpper = true
        for ch in name {
            if ch.isUppercase {
                if !previousWasUpper { out.append("_") }
                out.append(Character(ch.lowercased()))
                previousWasUpper = true
            } else {
                out.append(ch)
                previousWasUpper = false
            }
        }
        return out
    }

    private static func unpack(_ name: String, _ value: Any, into result: inout [(String, Any)]) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let some = mirror.children.first { unpack(name, some.value, into: &result) }
        case .collection:
            for (i, element) in mirror.children.enumerated() { unpack("\(name).\(i)", element.value, into: &result) }
        default:
            if value is Module || value is Parameter || value is Buffer { result.append((name, value)) }
        }
    }
}

/// A module that maps one tensor to another, so it can sit in a `Sequential`.
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

public struct StateDictError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String {
        "the checkpoint does not fit the model: " + problems.joined(separator: "; ")
    }
}
