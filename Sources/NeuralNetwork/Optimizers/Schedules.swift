import Foundation
import TensorEngine

/// A learning rate as a function of the step (0-based), scaling a base rate.
public protocol LearningRateSchedule: Sendable {
    func factor(atStep step: Int) -> Float
}

extension LearningRateSchedule {
    /// Sets `optimizer`'s rate for `step` from `baseRate`.
    public func apply(to optimizer: Optimizer, baseRate: Float, step: Int) {
        optimizer.learningRate = baseRate * factor(atStep: step)
    }
}

/// Multiplies by `gamma` every `stepSize` steps (PyTorch's StepLR).
public struct StepDecay: LearningRateSchedule {
    public let stepSize: Int, gamma: Float
    public init(stepSize: Int, gamma: Float = 0.1) { self.stepSize = stepSize; self.gamma = gamma }
    public func factor(atStep step: Int) -> Float { Foundation.pow(gamma, Float(step / stepSize)) }
}

/// Constant for `delaySteps`, then multiplied by `gamma` every `stepSize` steps, down to
/// `minimumFactor` (VaDE's decay after its pre-training); over the first `warmupSteps` after the
/// delay the factor also rises linearly from 1 / warmupSteps to 1.
public struct DelayedStepDecay: LearningRateSchedule {
    public let delaySteps: Int, stepSize: Int, gamma: Float, minimumFactor: Float, warmupSteps: Int
    public init(delaySteps: Int, stepSize: Int, gamma: Float, minimumFactor: Float = 0, warmupSteps: Int = 0) {
        self.delaySteps = delaySteps; self.stepSize = Swift.max(stepSize, 1); self.gamma = gamma;
        self.minimumFactor = minimumFactor; self.warmupSteps = warmupSteps
    }
    public func factor(atStep step: Int) -> Float {
        let after = Swift.max(step - delaySteps, 0)
        let warmup = step >= delaySteps && warmupSteps > 0 ? Swift.min(1, Float(after + 1) / Float(warmupSteps)) : 1
        return warmup * Swift.max(Foundation.pow(gamma, Float(after / stepSize)), minimumFactor)
    }
}

/// Half a cosine from 1 down to `minimumFactor` over `totalSteps` (Loshchilov & Hutter 2017).
public struct CosineDecay: LearningRateSchedule {
    public let totalSteps: Int, minimumFactor: Float
    public init(totalSteps: Int, minimumFactor: Float = 0) {
        self.totalSteps = totalSteps; self.minimumFactor = minimumFactor
    }
    public func factor(atStep step: Int) -> Float {
        let t = Float(Swift.min(step, totalSteps)) / Float(Swift.max(totalSteps, 1))
        return minimumFactor + (1 - minimumFactor) * 0.5 * (1 + Foundation.cos(Float.pi * t))
    }
}

/// Constant, then linearly down to zero over the last `decaySteps` (CycleGAN's schedule).
public struct LinearDecay: LearningRateSchedule {
    public let constantSteps: Int, decaySteps: Int
    public init(constantSteps: Int, decaySteps: Int) {
        self.constantSteps = constantSteps; self.decaySteps = decaySteps
    }
    public func factor(atStep step: Int) -> Float {
        step < constantSteps ? 1 : Swift.max(0, 1 - Float(step - constantSteps + 1) / Float(decaySteps + 1))
    }
}

/// Rises linearly from 1/(warmupSteps) to 1 over `warmupSteps`, then follows `then`
/// (counted from the end of the warm-up).
public struct LinearWarmup: LearningRateSchedule {
    public let warmupSteps: Int
    public let then: any LearningRateSchedule
    public init(warmupSteps: Int, then: any LearningRateSchedule = StepDecay(stepSize: Int.max)) {
        self.warmupSteps = warmupSteps; self.then = then
    }
    public func factor(atStep step: Int) -> Float {
        step < warmupSteps ? Float(step + 1) / Float(warmupSteps) : then.factor(atStep: step - warmupSteps)
    }
}

/// Scales gradients so their joint L2 norm is at most `maxNorm`; returns them with the norm
/// they had (PyTorch's clip_grad_norm_).
public func clipGradientNorm(_ gradients: [Tensor], maxNorm: Float) -> (gradients: [Tensor], norm: Float) {
    let norm = withoutGradients { gradients.reduce(Float(0)) { $0 + $1.squared().sum().scalar }.squareRoot() }
    guard norm > maxNorm else { return (gradients, norm) }
    let scale = maxNorm / (norm + 1e-6)
    return (withoutGradients { gradients.map { $0 * scale } }, norm)
}

/// Clamps every parameter into [-limit, limit]: the weight clipping of the original WGAN.
public func clampParameters(_ parameters: [Parameter], limit: Float) {
    withoutGradients { for p in parameters { p.assign(p.value.clamped(min: -limit, max: limit)) } }
}

/// An exponential moving average of a module's parameters (and a copy of its buffers), for
/// evaluation with smoothed weights (StyleGAN's generator, Polyak averaging).
public final class ExponentialMovingAverage {
    public let decay: Float
    public private(set) var shadow: [String: Tensor]

    public init(of module: Module, decay: Float = 0.999) {
        self.decay = decay
        shadow = Dictionary(uniqueKeysWithValues: module.stateDict().map { ($0.name, $0.tensor) })
    }

    /// shadow = decay * shadow + (1 - decay) * current, for parameters; buffers are copied.
    public func update(from module: Module) {
        withoutGradients {
            for (name, p) in module.namedParameters() {
                shadow[name] = shadow[name]! * decay + p.value.detached() * (1 - decay)
            }
            for (name, b) in module.namedBuffers() { shadow[name] = b.value }
        }
    }

    /// Writes the averaged values into `module` (a copy of the one being averaged).
    public func copy(into module: Module) throws { try module.load(stateDict: shadow) }
}
