import Foundation
import TensorEngine

/// Points drawn from an equal mixture of Gaussians with one standard deviation: the toy data of
/// the mode-collapse benchmark (Metz et al. 2017, Srivastava et al. 2017) and a 1-D mixture on
/// which a discriminator can be compared with the optimal one.
/// - `ring8`: 8 modes on a circle of radius 2, deviation 0.02;
/// - `grid25`: 25 modes at {-4, -2, 0, 2, 4}^2, deviation 0.05;
/// - `mixture1d`: modes at -2 and 2 on a line, deviation 0.5.
///
/// An example is a point as a [D, 1, 1] "image" (D coordinates as channels), scaled into [0, 1]
/// as every data set's values are: x / `extent` mapped from [-1, 1], so the modes and their
/// tails lie inside a generator's tanh range. Labels are the modes the points were drawn from.
public final class PointMixture: Dataset {
    public let name: String
    /// The modes' centres, in the data's own units.
    public let modes: [[Float]]
    public let deviation: Float
    /// Half the width of the square (or interval) that [0, 1] stands for, in data units.
    public let extent: Float
    public let count: Int
    public var imageShape: [Int] { [dimension, 1, 1] }
    public var dimension: Int { modes[0].count }
    /// The points in data units, [count, D], and the mode of each.
    let points: [Float]
    public let labels: [Int]

    public static let names = ["ring8", "grid25", "mixture1d"]

    /// The mixture called `name` with `count` points drawn from `seed`, or nil for another name.
    public convenience init?(_ name: String, count: Int, seed: UInt64) {
        switch name {
        case "ring8":
            let modes = (0..<8).map { k -> [Float] in
                let angle = 2 * Float.pi * Float(k) / 8
                return [2 * Foundation.cos(angle), 2 * Foundation.sin(angle)]
            }
            self.init(name: name, modes: modes, deviation: 0.02, extent: 2.5, count: count, seed: seed)
        case "grid25":
            let steps: [Float] = [-4, -2, 0, 2, 4]
            let modes = steps.flatMap { x in steps.map { y in [x, y] } }
            self.init(name: name, modes: modes, deviation: 0.05, extent: 5, count: count, seed: seed)
        case "mixture1d":
            self.init(name: name, modes: [[-2], [2]], deviation: 0.5, extent: 4, count: count, seed: seed)
        default: return nil
        }
    }

    public init(name: String, modes: [[Float]], deviation: Float, extent: Float, count: Int, seed: UInt64) {
        precondition(!modes.isEmpty && count > 0 && deviation > 0 && extent > 0)
        self.name = name; self.modes = modes; self.deviation = deviation; self.extent = extent; self.count = count
        var rng = RandomGenerator(seed: seed)
        let labels = (0..<count).map { _ in rng.nextInt(below: modes.count) }
        let noise = Tensor.normal([count, modes[0].count], standardDeviation: deviation, generator: &rng).scalars
        let d = modes[0].count
        points = (0..<count * d).map { i in modes[labels[i / d]][i % d] + noise[i] }
        self.labels = labels
    }

    public func batch(_ indices: [Int], generator: inout RandomGenerator) -> Batch {
        let d = dimension
        let values = indices.flatMap { i in (0..<d).map { (points[i * d + $0] / extent + 1) / 2 } }
        return Batch(
            images: Tensor(shape: [indices.count, d, 1, 1], scalars: values), labels: indices.map { labels[$0] },
            indices: indices)
    }

    /// Values in [0, 1] of a batch [N, D, 1, 1] (a generator's samples) as points in data units.
    public func points(of values: Tensor) -> [[Float]] {
        let d = dimension, v = values.scalars
        precondition(v.count % d == 0, "\(name): \(values.shape) is not a batch of \(d)-D points")
        return (0..<v.count / d).map { n in (0..<d).map { (v[n * d + $0] * 2 - 1) * extent } }
    }

    /// The nearest mode of a point and its distance.
    public func nearestMode(_ point: [Float]) -> (mode: Int, distance: Float) {
        var best = (mode: 0, distance: Float.infinity)
        for (k, centre) in modes.enumerated() {
            let distance = zip(point, centre).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            if distance < best.distance { best = (k, distance) }
        }
        return best
    }

    /// The mixture's density at a point, in data units.
    public func density(_ point: [Float]) -> Double {
        let d = Double(dimension), variance = Double(deviation * deviation)
        let normaliser = Foundation.pow(2 * Double.pi * variance, d / 2) * Double(modes.count)
        return modes.map { centre in
            Foundation.exp(-zip(point, centre).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +) / (2 * variance))
        }.reduce(0, +) / normaliser
    }
}
