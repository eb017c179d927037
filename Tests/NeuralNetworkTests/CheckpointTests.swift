import Foundation
import TestSupport
import XCTest
@testable import NeuralNetwork
@testable import TensorEngine

final class CheckpointTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("deepgen-checkpoint-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    struct Config: Codable, Equatable { var model = "block"; var width = 3 }

    func testSavedAndLoadedModuleGivesBitIdenticalOutputs() throws {
        var rng = RandomGenerator(seed: 1)
        let original = Block(generator: &rng, extra: true)
        _ = original(randomTensor([4, 2, 5, 5], seed: 2))  // moves the running statistics
        original.eval()
        try Checkpoint.save(original, config: Config(), to: directory)
        let restored = Block(generator: &rng, extra: true)
        restored.eval()
        try Checkpoint.load(restored, from: directory)
        let x = randomTensor([2, 2, 5, 5], seed: 3)
        XCTAssertEqual(original(x).scalars, restored(x).scalars)
        XCTAssertEqual(try Checkpoint.config(Config.self, in: directory), Config())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("tmp") }
        XCTAssertEqual(leftovers, [], "temporary files left behind")
    }

    func testAFileBuiltByteByByteIsRead() throws {
        // Header {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}"#
        var bytes: [UInt8] = []
        let length = UInt64(header.utf8.count)
        for i in 0..<8 { bytes.append(UInt8((length >> (8 * UInt64(i))) & 0xff)) }
        bytes += Array(header.utf8)
        bytes += [0x00, 0x00, 0x80, 0x3f]  // 1.0 as little-endian F32
        bytes += [0x00, 0x00, 0x20, 0xc0]  // -2.5
        bytes += [0x00, 0x3c]              // 1.0 as F16
        let (tensors, _) = try SafeTensors.decode(Data(bytes))
        XCTAssertEqual(tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(tensors[0].tensor.scalars, [1, -2.5])
        XCTAssertEqual(tensors[1].tensor.scalars, [1])
        XCTAssertEqual(SafeTensors.halfToFloat(0xc100), -2.5)
    }

    func testOurFileHasTheStandardLayout() throws {
        let data = SafeTensors.encode([("w", Tensor([1, 2, 3]))], metadata: ["format": "pt"])
        let length = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        XCTAssertEqual(length % 8, 0)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        let w = header["w"] as! [String: Any]
        XCTAssertEqual(w["dtype"] as? String, "F32")
        XCTAssertEqual(w["shape"] as? [Int], [3])
        XCTAssertEqual(w["data_offsets"] as? [Int], [0, 12])
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["format": "pt"])
        XCTAssertEqual(data.count, 8 + length + 12)
        XCTAssertEqual(Array(data.suffix(4)), [0x00, 0x00, 0x40, 0x40])  // 3.0
    }

    func testTruncatedAndCorruptFilesGiveClearErrors() throws {
        let good = SafeTensors.encode([("w", Tensor([1, 2, 3]))])
        XCTAssertThrowsError(try SafeTensors.decode(good.prefix(good.count - 4))) { error in
            XCTAssert("\(error)".contains("truncated"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.decode(good.prefix(5))) { error in
            XCTAssert("\(error)".contains("too short"), "\(error)")
        }
        var corrupt = good
        corrupt[9] = 0x7b  // breaks the JSON
        corrupt[10] = 0x7b
        XCTAssertThrowsError(try SafeTensors.decode(corrupt)) { error in
            XCTAssert("\(error)".contains("JSON"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensors.decode(Data(repeating: 0xff, count: 64))) { error in
            XCTAssert("\(error)".contains("header length"), "\(error)")
        }
        var rng = RandomGenerator(seed: 0)
        XCTAssertThrowsError(try Checkpoint.load(Linear(1, 1, generator: &rng), from: directory)) { error in
            XCTAssert("\(error)".contains("cannot read"), "\(error)")
        }
    }

    func testACheckpointOfAnotherModelIsRefused() throws {
        var rng = RandomGenerator(seed: 0)
        try Checkpoint.save(Linear(3, 2, generator: &rng), config: Config(), to: directory)
        XCTAssertThrowsError(try Checkpoint.load(Linear(4, 2, generator: &rng), from: directory)) { error in
            XCTAssert("\(error)".contains("weight: checkpoint has [2, 3], model has [2, 4]"), "\(error)")
        }
    }
}

