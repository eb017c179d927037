import Foundation
import TensorEngine

/// Stochastic gradient descent with optional momentum and weight decay (PyTorch's update: the
/// first step's buffer is the gradient itself; Nesterov uses g + mu * buffer).
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    public private(set) var step = 0
    let slots: OptimizerSlots

    public init(
        _ parameters: [Parameter], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0,
        nesterov: Bool = false
    ) {
        self.parameters = parameters; self.learningRate = learningRate
        self.momentum = momentum; self.weightDecay = weightDecay; self.nesterov = nesterov
        slots = OptimizerSlots(parameters)
    }

    public func update(_ gradients: [Tensor]) {
        precondition(
            gradients.count == parameters.count, "SGD: \(gradients.count) gradients for \(parameters.count) parameters")
        step += 1
        withoutGradients {
            for (i, p) in parameters.enumerated() where !p.isFrozen {
                var g = gradients[i]
                if weightDecay != 0 { g = g + p.value * weightDecay }
                if momentum != 0 {
                    let buffer = slots["momentum_buffer", i].map { $0 * momentum + g } ?? g
                    slots["momentum_buffer", i] = buffer
                    g = nesterov ? g + buffer * momentum : buffer
                }
                p.assign(p.value - g * learningRate)
            }
        }
    }

    public var state: [String: Tensor] { slots.export(step: step) }
    public func load(state: [String: Tensor]) throws { step = try slots.restore(state) }
}

/// Adam (Kingma & Ba 2015) with bias correction, and AdamW (Loshchilov & Hutter 2019) when
/// `decoupledWeightDecay`: the decay is applied to the weights directly rather than added to
/// the gradient. The update follows PyTorch's: p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps).
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupledWeightDecay: Bool
    public private(set) var step = 0
    let slots: OptimizerSlots

    public init(
        _ parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        self.parameters = parameters; self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
        slots = OptimizerSlots(parameters)
    }

    /// AdamW with PyTorch's default decay of 0.01.
    public static func adamW(
        _ parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0.01
    ) -> Adam {
        Adam(
            parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func update(_ gradients: [Tensor]) {
        precondition(
            gradients.count == parameters.count, "Adam: \(gradients.count) gradients for \(parameters.count) parameters"
        )
        step += 1
        for (i, p) in parameters.enumerated() where !p.isFrozen {
            // Taken out of the slots so that the update can overwrite them in place.
            var m = slots.take("exp_avg", i), v = slots.take("exp_avg_sq", i)
            p.update { value in
                Tensor.adamUpdate(
                    parameter: &value, gradient: gradients[i].detached(), firstMoment: &m, secondMoment: &v,
                    learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                    weightDecay: weightDecay, decoupledWeightDecay: decoupledWeightDecay, step: step)
            }
            slots["exp_avg", i] = m
            slots["exp_avg_sq", i] = v
        }
    }

    public var state: [String: Tensor] { slots.export(step: step) }
    public func load(state: [String: Tensor]) throws { step = try slots.restore(state) }
}

/// RMSProp (Tieleman & Hinton 2012), PyTorch's form: v = alpha v + (1 - alpha) g^2,
/// p -= lr g / (sqrt(v) + eps); with momentum, the step goes through a buffer.
public final class RMSProp: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let alpha: Float, epsilon: Float, momentum: Float, weightDecay: Float
    public private(set) var step = 0
    let slots: OptimizerSlots

    public init(
        _ parameters: [Parameter], learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8,
        momentum: Float = 0, weightDecay: Float = 0
    ) {
        self.parameters = parameters; self.learningRate = learningRate
        self.alpha = alpha; self.epsilon = epsilon; self.momentum = momentum; self.weightDecay = weightDecay
        slots = OptimizerSlots(parameters)
    }

    public func update(_ gradients: [Tensor]) {
        precondition(
            gradients.count == parameters.count,
            "RMSProp: \(gradients.count) gradients for \(parameters.count) parameters")
        step += 1
        withoutGradients {
            for (i, p) in parameters.enumerated() where !p.isFrozen {
                var g = gradients[i]
                if weightDecay != 0 { g = g + p.value * weightDecay }
                let v = (slots["square_avg", i] ?? Tensor.zeros(p.shape)) * alpha + g * g * (1 - alpha)
                slots["square_avg", i] = v
                var delta = g / (v.sqrt() + epsilon)
                if momentum != 0 {
                    delta = (slots["momentum_buffer", i] ?? Tensor.zeros(p.shape)) * momentum + delta
                    slots["momentum_buffer", i] = delta
                }
                p.assign(p.value - delta * learningRate)
            }
        }
    }

    public var state: [String: Tensor] { slots.export(step: step) }
    public func load(state: [String: Tensor]) throws { step = try slots.restore(state) }
}
