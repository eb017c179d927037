import Foundation
import TestSupport
import XCTest
@testable import NeuralNetwork
@testable import TensorEngine

final class CheckpointUnitTests: TemporaryDirectoryTestCase {

    /// FIPS 180-4's examples (one block, two blocks) and a message of many blocks.
    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func files(_ tag: String) -> [(name: String, data: Data)] {
        [("a.bin", Data("first \(tag)".utf8)), ("b.bin", Data(repeating: 7, count: 1000))]
    }

    /// A published unit is read through the link; publishing again replaces it and leaves one
    /// unit behind, and the top-level names follow the newest.
    func testPublishingReplacesTheUnitAsAWhole() throws {
        try CheckpointUnit.publish(files("1"), as: "step-1", in: root)
        try CheckpointUnit.publish(files("2"), as: "step-2", in: root)
        let unit = try XCTUnwrap(try CheckpointUnit.verified(in: root))
        XCTAssertEqual(unit.lastPathComponent, "step-2")
        XCTAssertEqual(try String(contentsOf: root.appendingPathComponent("a.bin"), encoding: .utf8), "first 2")
        // The unit replaced stays one publication longer, for a reader that resolved the link before.
        let units = root.appendingPathComponent("checkpoints").path
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: units)), ["step-1", "step-2"])
        // The same name again (a run saved twice at one step) publishes a fresh folder.
        try CheckpointUnit.publish(files("3"), as: "step-2", in: root)
        XCTAssertEqual(try String(contentsOf: CheckpointUnit.file("a.bin", in: root), encoding: .utf8), "first 3")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: units)), ["step-2", "step-2.2"])
    }

    func testADamagedOrMissingFileIsNamed() throws {
        try CheckpointUnit.publish(files("1"), as: "step-1", in: root)
        let unit = try XCTUnwrap(try CheckpointUnit.verified(in: root))
        var bytes = try Data(contentsOf: unit.appendingPathComponent("b.bin"))
        bytes[500] ^= 1
        try bytes.write(to: unit.appendingPathComponent("b.bin"))
        XCTAssertThrowsError(try CheckpointUnit.verified(in: root)) { error in
            XCTAssert("\(error)".contains("b.bin is damaged: its SHA-256 differs"), "\(error)")
        }
        try bytes.prefix(10).write(to: unit.appendingPathComponent("b.bin"))
        XCTAssertThrowsError(try CheckpointUnit.verified(in: root)) { XCTAssert("\($0)".contains("10 bytes where its manifest says 1000"), "\($0)") }
        try FileManager.default.removeItem(at: unit.appendingPathComponent("a.bin"))
        XCTAssertThrowsError(try CheckpointUnit.verified(in: root)) { XCTAssert("\($0)".contains("a.bin is missing"), "\($0)") }
    }

    /// Checkpoints written before units existed (plain files) still load.
    func testAPlainCheckpointOfAnEarlierVersionLoads() throws {
        var rng = RandomGenerator(seed: 1)
        let layer = Linear(3, 2, generator: &rng)
        try SafeTensors.write(layer.stateDict(), to: root.appendingPathComponent(Checkpoint.weightsFile))
        XCTAssertNil(try CheckpointUnit.verified(in: root))
        let reloaded = Linear(3, 2, generator: &rng)
        try Checkpoint.load(reloaded, from: root)
        XCTAssertEqual(reloaded.stateDict().map(\.tensor.scalars), layer.stateDict().map(\.tensor.scalars))
    }

    /// What killed writers leave (a staging folder, an unpublished unit, temporary files) goes;
    /// the published unit stays.
    func testOrphansAreCleared() throws {
        try CheckpointUnit.publish(files("1"), as: "step-1", in: root)
        let units = root.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: units.appendingPathComponent(".staging-99-step-2"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: units.appendingPathComponent("step-3"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: root.appendingPathComponent(".config.json.tmp-99"))
        try Data("keep".utf8).write(to: root.appendingPathComponent("notes.txt"))
        CheckpointUnit.clearOrphans(in: root)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: units.path), ["step-1"])
        let top = Set(try FileManager.default.contentsOfDirectory(atPath: root.path))
        XCTAssertEqual(top, ["checkpoint", "checkpoints", "a.bin", "b.bin", "notes.txt"])
        XCTAssertNotNil(try CheckpointUnit.verified(in: root))
    }

    /// A full disk is an error that names the file and the reason, not a stopped process; the
    /// file that was there stays whole.
    func testAFullDiskIsAnErrorAndKeepsTheOldFile() throws {
        let target = root.appendingPathComponent("log.jsonl")
        try writeAtomically(Data("old".utf8), to: target)
        FaultInjection.diskLeft = 5
        defer { FaultInjection.diskLeft = nil }
        XCTAssertThrowsError(try writeAtomically(Data("a longer new text".utf8), to: target)) { error in
            XCTAssert(error is FileWriteError && "\(error)".contains("No space left on device") && "\(error)".contains("log.jsonl"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["log.jsonl"], "the temporary file is removed")
        XCTAssertThrowsError(try CheckpointUnit.publish(files("1"), as: "step-1", in: root))
        XCTAssertNil(try CheckpointUnit.verified(in: root))
    }

    func testNamesWithQuotesAndControlCharactersRoundTrip() throws {
        let names = ["a\"b", "c\\d", "e\nf", "g\u{1}h", "π.weight"]
        let tensors = names.enumerated().map { (name: $0.element, tensor: Tensor([Float($0.offset)])) }
        let (back, metadata) = try SafeTensors.decode(SafeTensors.encode(tensors, metadata: ["note": "say \"hi\""]))
        XCTAssertEqual(back.map(\.name), names)
        XCTAssertEqual(back.map { $0.tensor.scalars }, [[0], [1], [2], [3], [4]])
        XCTAssertEqual(metadata["note"], "say \"hi\"")
    }

    func testAnOverflowingShapeIsRefused() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(contentsOf: Array(header.utf8))
        XCTAssertThrowsError(try SafeTensors.decode(bytes)) { XCTAssert("\($0)".contains("more values than any file can"), "\($0)") }
    }
}
