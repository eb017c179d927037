import TestSupport
import XCTest
@testable import TensorEngine

final class RandomTests: XCTestCase {
    func testSameSeedSameNumbers() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let x = Tensor.normal([1000], generator: &a), y = Tensor.normal([1000], generator: &b)
        XCTAssertEqual(x.scalars, y.scalars)
        XCTAssertNotEqual(x.scalars, Tensor.normal([1000], generator: &c).scalars)
        // The generator moves on: a second draw differs from the first.
        XCTAssertNotEqual(Tensor.normal([1000], generator: &a).scalars, x.scalars)
    }

    func testSplitDrawsEqualOneDraw() {
        // Values depend on the stream position only, not on how many values a call asks for,
        // nor on how the work was split over threads.
        var whole = RandomGenerator(seed: 7), parts = RandomGenerator(seed: 7)
        let big = Tensor.uniform([200_000], generator: &whole).scalars
        let first = Tensor.uniform([100_000], generator: &parts).scalars
        let second = Tensor.uniform([100_000], generator: &parts).scalars
        XCTAssertEqual(big, first + second)
    }

    /// The vectorised C hash (`dg_uniform_pairs`) is the twin of `RandomGenerator.value`: pair i
    /// of a draw is the 64-bit value at stream index i, its top 24 bits giving element 2i and the
    /// next 24 element 2i + 1, for every seed and across the kernel's 16-lane blocks.
    func testTensorDrawsAreTheCounterHashOfTheStream() {
        for seed: UInt64 in [0, 1, 0xDEAD_BEEF_0123_4567] {
            var generator = RandomGenerator(seed: seed)
            _ = generator.nextUniform()  // start the draw at an odd stream index
            let drawn = Tensor.uniform([77], generator: &generator).scalars
            for (i, x) in drawn.enumerated() {
                let v = RandomGenerator.value(seed: seed, index: 1 + UInt64(i / 2))
                let expected = i % 2 == 0 ? 1 - Float((v >> 40) + 1) * 0x1p-24 : Float((v >> 16) & 0xFF_FFFF) * 0x1p-24
                XCTAssertEqual(x, expected, "seed \(seed), element \(i)")
            }
        }
    }

    /// A rank's draw of one value per example is its rows of the global batch's draw, for even
    /// and odd rows, every distribution and an example axis after others; draws not made per
    /// example, or made outside a step, are the plain stream.
    func testExampleRowsTakeTheirRowsOfTheGlobalDraw() {
        func draws(_ shape: [Int], axis: Int, _ generator: inout RandomGenerator) -> [[Float]] {
            [
                Tensor.normal(shape, exampleAxis: axis, generator: &generator).scalars,
                Tensor.uniform(shape, exampleAxis: axis, generator: &generator).scalars,
                Tensor.bernoulli(shape, probability: 0.3, exampleAxis: axis, generator: &generator).scalars,
            ]
        }
        let global = 6
        for (leading, rowShape) in [([], [4]), ([], [3]), ([], [1, 2, 3]), ([2], [3]), ([3], [2])] {
            let rowCount = rowShape.reduce(1, *), axis = leading.count
            var whole = RandomGenerator(seed: 9, examples: ExampleRows(offset: 0, local: global, global: global))
            let all = draws(leading + [global] + rowShape, axis: axis, &whole)
            for (offset, local) in [(0, 2), (2, 2), (4, 2), (1, 5)] {
                var part = RandomGenerator(seed: 9, examples: ExampleRows(offset: offset, local: local, global: global))
                let mine = draws(leading + [local] + rowShape, axis: axis, &part)
                // The rows offset..<offset+local of every block of the leading axes.
                let blocks = leading.reduce(1, *)
                let expected: [[Float]] = all.map { (values: [Float]) -> [Float] in
                    var rows: [Float] = []
                    for block in 0..<blocks {
                        let first = (block * global + offset) * rowCount
                        rows += values[first..<(first + local * rowCount)]
                    }
                    return rows
                }
                XCTAssertEqual(mine, expected, "rows \(rowShape) after \(leading), offset \(offset)")
                XCTAssertEqual(part.counter, whole.counter, "every rank's stream moves on by the global draw")
            }
        }
        var a = RandomGenerator(seed: 3, examples: ExampleRows(offset: 2, local: 2, global: 4))
        var b = RandomGenerator(seed: 3)
        XCTAssertEqual(Tensor.normal([2, 3], generator: &a).scalars, Tensor.normal([2, 3], generator: &b).scalars,
                       "a draw not made per example is the plain stream")
        var c = RandomGenerator(seed: 3), d = RandomGenerator(seed: 3)
        XCTAssertEqual(Tensor.normal([2, 3], exampleAxis: 0, generator: &c).scalars,
                       Tensor.normal([2, 3], generator: &d).scalars, "outside a step a draw per example is the plain stream")
        var split = a.split(), derived = a.derived(5)
        XCTAssertEqual(split.examples, a.examples)
        XCTAssertEqual(derived.examples, a.examples)
        _ = (split.nextUniform(), derived.nextUniform())
    }

    /// A generator saved with a checkpoint keeps its seed and counter, never a step's rows.
    func testAGeneratorEncodesItsStreamOnly() throws {
        let g = RandomGenerator(seed: 7, counter: 11, examples: ExampleRows(offset: 1, local: 1, global: 2))
        let decoded = try JSONDecoder().decode(RandomGenerator.self, from: JSONEncoder().encode(g))
        XCTAssertEqual(decoded, RandomGenerator(seed: 7, counter: 11))
    }

    func testDistributions() {
        var rng = RandomGenerator(seed: 1)
        let n = 200_000
        let normal = Tensor.normal([n], mean: 2, standardDeviation: 3, generator: &rng)
        XCTAssertEqual(normal.mean().scalar, 2, accuracy: 0.03)
        XCTAssertEqual(normal.variance(alongAxis: 0).scalar.squareRoot(), 3, accuracy: 0.03)
        // Fourth moment of a standard normal is 3: catches a uniform or a badly shaped transform.
        let z = (normal - 2) / 3
        XCTAssertEqual((z * z * z * z).mean().scalar, 3, accuracy: 0.1)
        let u = Tensor.uniform([n], low: -1, high: 3, generator: &rng)
        XCTAssertGreaterThanOrEqual(u.min().scalar, -1)
        XCTAssertLessThan(u.max().scalar, 3)
        XCTAssertEqual(u.mean().scalar, 1, accuracy: 0.02)
        XCTAssertEqual(Tensor.bernoulli([n], probability: 0.3, generator: &rng).mean().scalar, 0.3, accuracy: 0.005)
        let p = Tensor([0, 1, 0.5]).expanded(to: [n / 3, 3])
        let draws = Tensor.bernoulli(probabilities: p, generator: &rng).mean(alongAxis: 0).scalars
        XCTAssertEqual(draws[0], 0); XCTAssertEqual(draws[1], 1)
        XCTAssertEqual(draws[2], 0.5, accuracy: 0.01)
    }

    func testPermutationAndDerivedStreams() {
        var rng = RandomGenerator(seed: 3)
        let p = rng.permutation(100)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertNotEqual(p, Array(0..<100))
        let base = RandomGenerator(seed: 3)
        XCTAssertEqual(base.derived(5), base.derived(5))
        XCTAssertNotEqual(base.derived(5), base.derived(6))
    }

    func testDropoutKeepsTheExpectation() {
        var rng = RandomGenerator(seed: 9)
        let x = Tensor.ones([100_000])
        let y = dropout(x, probability: 0.25, generator: &rng)
        XCTAssertEqual(y.mean().scalar, 1, accuracy: 0.01)
        XCTAssertEqual((y .== 0).mean().scalar, 0.25, accuracy: 0.005)
        XCTAssertEqual(Set(y.scalars), [0, Float(1 / 0.75)])
        XCTAssertEqual(dropout(x, probability: 0.25, training: false, generator: &rng).scalars, x.scalars)
    }
}
