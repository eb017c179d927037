import CKernels
import Foundation

/// A counter-based random generator: value i of a seed is a hash of (seed, i), so a stream can be
/// cut into pieces, drawn in parallel or keyed by example index, and still give the same numbers.
/// One seed, one result, on every run and any number of threads.
///
/// ```swift
/// var rng = RandomGenerator(seed: 42)
/// let eps = Tensor.normal([128, 20], generator: &rng)
/// ```
public struct RandomGenerator: Sendable, Equatable, Codable {
    public let seed: UInt64
    /// How many 64-bit values have been drawn: saved with a checkpoint so training resumes exactly.
    public var counter: UInt64
    /// The rows of a global batch that a training step's draws of one value per example stand
    /// for (`exampleAxis`), set by the loop; nil outside a step. Generators split or derived from
    /// this one keep it.
    public var examples: ExampleRows?

    private enum CodingKeys: String, CodingKey { case seed, counter }

    public init(seed: UInt64, counter: UInt64 = 0, examples: ExampleRows? = nil) {
        self.seed = seed
        self.counter = counter
        self.examples = examples
    }

    /// A new independent generator seeded from this one's next value (this one moves on), for
    /// a component that draws its own numbers, such as a dropout layer.
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: RandomGenerator.value(seed: seed, index: reserve(1)), examples: examples)
    }

    /// An independent generator for a named purpose (e.g. one per example or per layer).
    public func derived(_ key: UInt64) -> RandomGenerator {
        RandomGenerator(
            seed: RandomGenerator.mix(seed ^ RandomGenerator.mix(key &+ 0x632B_E59B_D9B4_E019)), examples: examples)
    }

    /// SplitMix64's finaliser: a bijection with good avalanche, the core of the counter hash.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func value(seed: UInt64, index: UInt64) -> UInt64 {
        mix(mix(seed) ^ (index &* 0xD1B5_4A32_D192_ED03))
    }

    /// Reserves `count` values, returning the first index.
    mutating func reserve(_ count: Int) -> UInt64 {
        defer { counter &+= UInt64(count) }
        return counter
    }

    /// A uniform integer in `0..<bound` (for shuffles and choices).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        let v = RandomGenerator.value(seed: seed, index: reserve(1))
        return Int(v.multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform Float in [0, 1).
    public mutating func nextUniform() -> Float {
        Float(RandomGenerator.value(seed: seed, index: reserve(1)) >> 40) * 0x1p-24
    }

    /// Fisher-Yates shuffle of `0..<count`.
    public mutating func permutation(_ count: Int) -> [Int] {
        var p = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) }
        return p
    }
}

/// The rows of a global batch that one process's step holds in data-parallel training: a draw
/// of one value per example (`exampleAxis`) whose example axis is `local` long takes rows
/// `offset ..< offset + local` of the draw the whole `global` batch would make, so every
/// example's noise (latents, dropout masks, binarisation) depends on its place in the global
/// batch and not on how many processes share it. Rows start at a fresh pair of the stream (odd
/// rows waste half a pair).
public struct ExampleRows: Equatable, Sendable {
    public let offset: Int
    public let local: Int
    public let global: Int
    public init(offset: Int, local: Int, global: Int) {
        precondition(
            offset >= 0 && local >= 1 && offset + local <= global,
            "rows \(offset)..<\(offset + local) outside a batch of \(global)")
        self.offset = offset; self.local = local; self.global = global
    }
}

extension Tensor {
    /// Fills a tensor from pairs of uniforms: pair i (from the 64 bits of stream index i) gives
    /// elements 2i and 2i+1 through `transform`, 16 pairs at a time so it runs 16 lanes wide.
    /// Values depend on the seed and counter only, never on how the work was split. A draw of
    /// one value per example (`exampleAxis`, under a generator's `examples`) reserves, for each
    /// index of the axes before the example axis, the rows of the global batch, and fills its own.
    @inline(__always)
    static func random(
        _ shape: [Int], exampleAxis: Int?, generator: inout RandomGenerator,
        _ transform: (_ u1: Vec, _ u2: Vec) -> (Vec, Vec)
    ) -> Tensor {
        let count = Shape.count(shape)
        let seed = generator.seed
        guard let rows = generator.examples, let axis = exampleAxis, count > 0 else {
            let start = generator.reserve((count + 1) / 2)
            return Tensor(shape: shape) { out in
                fillRandom(out.baseAddress!, count: count, seed: seed, start: start, transform)
            }
        }
        precondition(
            shape.indices.contains(axis) && shape[axis] == rows.local,
            "a draw of \(shape) per example on axis \(axis), in a step of \(rows.local) examples")
        let blocks = shape[..<axis].reduce(1, *), rowCount = shape[(axis + 1)...].reduce(1, *)
        let rowPairs = (rowCount + 1) / 2, blockCount = rows.local * rowCount
        var starts: [UInt64] = []
        for _ in 0..<blocks { starts.append(generator.reserve(rows.global * rowPairs) &+ UInt64(rows.offset * rowPairs)) }
        return Tensor(shape: shape) { out in
            for (block, start) in starts.enumerated() {
                let base = out.baseAddress! + block * blockCount
                if rowCount % 2 == 0 {
                    fillRandom(base, count: blockCount, seed: seed, start: start, transform)
                    continue
                }
                for r in 0..<rows.local {
                    fillRandom(
                        base + r * rowCount, count: rowCount, seed: seed, start: start &+ UInt64(r * rowPairs),
                        transform)
                }
            }
        }
    }

    @inline(__always)
    static func fillRandom(
        _ base: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, start: UInt64,
        _ transform: (_ u1: Vec, _ u2: Vec) -> (Vec, Vec)
    ) {
        let pairs = (count + 1) / 2
        Parallel.forRanges((pairs + 15) / 16, grain: elementwiseGrain / 32) { blocks in
            // The hashes in runs of up to 16 blocks (256 pairs), vectorised in C, then
            // transformed 16 lanes at a time.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 512) { scratch in
                let u1s = scratch.baseAddress!, u2s = u1s + 256
                var block = blocks.lowerBound
                while block < blocks.upperBound {
                    let run = Swift.min(16, blocks.upperBound - block)
                    dg_uniform_pairs(seed, start &+ UInt64(block * 16), run * 16, u1s, u2s)
                    for b in 0..<run {
                        let (x, y) = transform(load(u1s + 16 * b), load(u2s + 16 * b))
                        let first = 2 * (block + b) * 16
                        if first + 32 <= count {
                            for lane in 0..<16 {
                                base[first + 2 * lane] = x[lane]; base[first + 2 * lane + 1] = y[lane]
                            }
                        } else {
                            for lane in 0..<16 {
                                let k = first + 2 * lane
                                if k < count { base[k] = x[lane] }
                                if k + 1 < count { base[k + 1] = y[lane] }
                            }
                        }
                    }
                    block += run
                }
            }
        }
    }

    // `exampleAxis`, in the draws below: the axis that runs over a training step's examples,
    // for a draw of one value per example (latents, masks, noise maps); under data parallelism,
    // the draw is this process's rows of the global batch's draw (`ExampleRows`).

    /// Uniform values in [low, high).
    public static func uniform(
        _ shape: [Int], low: Float = 0, high: Float = 1, exampleAxis: Int? = nil, generator: inout RandomGenerator
    ) -> Tensor {
        random(shape, exampleAxis: exampleAxis, generator: &generator) { u1, u2 in
            // u1 is in (0, 1]; 1 - u1 is in [0, 1) like u2.
            ((1 - u1) * (high - low) + low, u2 * (high - low) + low)
        }
    }

    /// Normal values by the Box-Muller transform.
    public static func normal(
        _ shape: [Int], mean: Float = 0, standardDeviation: Float = 1, exampleAxis: Int? = nil,
        generator: inout RandomGenerator
    ) -> Tensor {
        random(shape, exampleAxis: exampleAxis, generator: &generator) { u1, u2 in
            let radius = (-2 * vlog(u1)).squareRoot() * standardDeviation
            let (s, c) = vsincos(2 * Float.pi * u2)
            return (radius * c + mean, radius * s + mean)
        }
    }

    /// 1 with probability `probability`, else 0.
    public static func bernoulli(
        _ shape: [Int], probability: Float, exampleAxis: Int? = nil, generator: inout RandomGenerator
    ) -> Tensor {
        random(shape, exampleAxis: exampleAxis, generator: &generator) { u1, u2 in
            let one = Vec(repeating: 1), zero = Vec(repeating: 0)
            return (
                zero.replacing(with: one, where: (1 - u1) .< probability),
                zero.replacing(with: one, where: u2 .< probability)
            )
        }
    }

    /// 1 with the probability given at each position, else 0 (dynamic binarisation of images).
    public static func bernoulli(
        probabilities: Tensor, exampleAxis: Int? = nil, generator: inout RandomGenerator
    ) -> Tensor {
        uniform(probabilities.shape, exampleAxis: exampleAxis, generator: &generator) .< probabilities.detached()
    }
}
