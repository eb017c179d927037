import TestSupport
import XCTest
@testable import NeuralNetwork
@testable import TensorEngine

final class Block: Module, Layer {
    let convolution: Conv2d
    let norm: BatchNorm
    let extra: Linear?
    init(generator: inout RandomGenerator, extra: Bool) {
        convolution = Conv2d(2, 3, kernel: 3, padding: 1, generator: &generator)
        norm = BatchNorm(3)
        self.extra = extra ? Linear(3, 3, bias: false, generator: &generator) : nil
    }
    func callAsFunction(_ x: Tensor) -> Tensor { relu(norm(convolution(x))) }
}

final class Network: Module {
    let blocks: [Block]
    let head: Linear
    let scale = Parameter(Tensor([2]))
    init(seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        blocks = [Block(generator: &rng, extra: false), Block(generator: &rng, extra: true)]
        head = Linear(3, 1, generator: &rng)
    }
}

final class ModuleTests: XCTestCase {
    func testParametersAreFoundWithDottedNames() {
        let net = Network(seed: 0)
        // A module's own parameters first, then its children's (PyTorch's order).
        XCTAssertEqual(net.namedParameters().map(\.name), [
            "scale", "blocks.0.convolution.weight", "blocks.0.convolution.bias", "blocks.0.norm.weight", "blocks.0.norm.bias",
            "blocks.1.convolution.weight", "blocks.1.convolution.bias", "blocks.1.norm.weight", "blocks.1.norm.bias",
            "blocks.1.extra.weight", "head.weight", "head.bias",
        ])
        XCTAssertEqual(net.namedBuffers().map(\.name), [
            "blocks.0.norm.running_mean", "blocks.0.norm.running_var", "blocks.1.norm.running_mean", "blocks.1.norm.running_var",
        ])
        XCTAssertEqual(Module.snakeCase("weightIH"), "weight_ih")
        XCTAssertEqual(Module.snakeCase("runningMean"), "running_mean")
    }

    func testTrainEvalReachesEverySubmodule() {
        let net = Network(seed: 0)
        net.eval()
        XCTAssert(net.namedModules().allSatisfy { !$0.module.isTraining })
        net.train()
        XCTAssert(net.blocks[1].norm.isTraining)
    }

    func testFrozenParametersGetNoGradientAndNoStep() {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(3, 2, generator: &rng)
        layer.weight.isFrozen = true
        XCTAssertEqual(layer.trainableParameters().count, 1)
        let before = layer.weight.value.scalars
        let optimizer = SGD(layer.parameters(), learningRate: 0.1)
        optimizer.minimize(layer(Tensor.ones([4, 3])).sum())
        XCTAssertEqual(layer.weight.value.scalars, before)
        XCTAssertNotEqual(layer.bias!.value.scalars, [0, 0])
    }

    func testLoadingReportsEveryDifference() {
        let net = Network(seed: 0)
        var state = Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.name, $0.tensor) })
        state["head.weight"] = Tensor.zeros([2, 3])
        state["blocks.1.extra.weight"] = nil
        state["stray"] = Tensor([1])
        XCTAssertThrowsError(try net.load(stateDict: state)) { error in
            let message = "\(error)"
            XCTAssert(message.contains("missing blocks.1.extra.weight [3, 3]"), message)
            XCTAssert(message.contains("unexpected stray [1]"), message)
            XCTAssert(message.contains("head.weight: checkpoint has [2, 3], model has [1, 3]"), message)
        }
    }

    func testSequentialAppliesLayersInOrder() {
        let model = Sequential(Function { $0 + 1 }, Function { $0 * 2 })
        XCTAssertEqual(model(Tensor([1, 2])).scalars, [4, 6])
        XCTAssertTrue(model.parameters().isEmpty)
    }
}
