import Foundation
import TestSupport
import XCTest
@testable import Datasets
import TensorEngine

final class MNISTTests: TemporaryDirectoryTestCase {

    /// A tiny MNIST-shaped set: `count` images whose labels cycle through the digits.
    func smallSet(train: Int = 20, test: Int = 10) -> [(String, Data)] {
        func images(_ n: Int) -> Data { IDX.encode(shape: [n, 28, 28], bytes: (0..<(n * 784)).map { UInt8($0 % 251) }) }
        func labels(_ n: Int) -> Data { IDX.encode(shape: [n], bytes: (0..<n).map { UInt8($0 % 10) }) }
        return [(MNIST.files[0], images(train)), (MNIST.files[1], labels(train)), (MNIST.files[2], images(test)), (MNIST.files[3], labels(test))]
    }
    let smallCounts: [MNIST.Split: [Int]] = [.train: [Int](repeating: 2, count: 10), .test: [Int](repeating: 1, count: 10)]

    func testIDXRoundTripAndErrors() throws {
        let data = IDX.encode(shape: [2, 3], bytes: [1, 2, 3, 4, 5, 6])
        let decoded = try IDX.decode(data)
        XCTAssertEqual(decoded.shape, [2, 3])
        XCTAssertEqual(decoded.bytes, [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try IDX.decode(data.prefix(data.count - 1))) { XCTAssert("\($0)".contains("truncated"), "\($0)") }
        XCTAssertThrowsError(try IDX.decode(Data([1, 2, 3, 4, 5]))) { XCTAssert("\($0)".contains("bad magic"), "\($0)") }
    }

    func testMissingDataSaysWhichCommandFetchesIt() {
        XCTAssertThrowsError(try MNIST.load(.train, from: root)) { error in
            XCTAssert("\(error)".contains("deepgen data fetch mnist --data-dir \(root.path)"), "\(error)")
        }
    }

    /// Mirrors served by a local HTTP server: a corrupt one and a truncated one are skipped, the
    /// good one is installed; with no good mirror the error names each failure.
    func testFetchFromMirrorsSkipsCorruptAndTruncatedFiles() throws {
        let served = root.appendingPathComponent("served")
        for (mirror, damage) in [("good", 0), ("corrupt", 1), ("truncated", 2)] {
            let dir = served.appendingPathComponent(mirror)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, idx) in smallSet() {
                var gz = try gzip(idx)
                if damage == 1 { gz[gz.count / 2] ^= 0x55 }
                if damage == 2 { gz = gz.prefix(gz.count / 2) }
                try gz.write(to: dir.appendingPathComponent(name + ".gz"))
            }
        }
        let port = 18_000 + Int(ProcessInfo.processInfo.processIdentifier % 1000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", served.path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)/"
        // Wait for the server to listen.
        for _ in 0..<50 where (try? MNIST.download(URL(string: base)!, timeout: 1)) == nil { usleep(100_000) }

        let target = root.appendingPathComponent("data")
        XCTAssertThrowsError(try MNIST.fetch(into: target, mirrors: [URL(string: base + "corrupt/")!, URL(string: base + "truncated/")!],
                                             pypiFallback: false, expectedCounts: smallCounts)) { error in
            XCTAssert("\(error)".contains("corrupt/") && "\(error)".contains("truncated/"), "\(error)")
        }
        try MNIST.fetch(into: target, mirrors: [URL(string: base + "corrupt/")!, URL(string: base + "truncated/")!, URL(string: base + "good/")!],
                        pypiFallback: false, expectedCounts: smallCounts)
        let train = try MNIST.load(.train, from: target, expectedCounts: smallCounts[.train])
        XCTAssertEqual(train.count, 20)
        XCTAssertEqual(train.labels.prefix(3), [0, 1, 2])
    }

    /// The pickle route: a file with the opcodes of the classic mnist.pkl, built byte by byte.
    func testPickledArraysBecomeTheOriginalBytes() throws {
        var p: [UInt8] = [0x80, 2]
        func global(_ text: String) { p += [0x63] + Array(text.utf8) + [0x0a] }
        func shortString(_ s: String) { p += [0x55, UInt8(s.utf8.count)] + Array(s.utf8) }
        func int1(_ v: Int) { p += [0x4b, UInt8(v)] }
        func array(_ shape: [Int], dtype: String, raw: [UInt8]) {
            global("numpy.core.multiarray\n_reconstruct"); global("numpy\nndarray"); int1(0); p += [0x85]; shortString("b"); p += [0x87, 0x52]
            p += [0x28]; int1(1)
            for s in shape { p += [0x4d, UInt8(s & 0xff), UInt8(s >> 8)] }
            p += [shape.count == 1 ? 0x85 : 0x86]
            global("numpy\ndtype"); shortString(dtype); int1(0); int1(1); p += [0x87, 0x52]
            p += [0x28]; int1(3); shortString("<"); p += [0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff]; int1(0); p += [0x74, 0x62]
            p += [0x89, 0x54] + withUnsafeBytes(of: UInt32(raw.count).littleEndian, Array.init) + raw
            p += [0x74, 0x62]
        }
        func split(_ n: Int, first: Int) {
            let pixels = (0..<(n * 784)).flatMap { i -> [UInt8] in
                withUnsafeBytes(of: (Float((i + first) % 256) / 256).bitPattern.littleEndian, Array.init)
            }
            array([n, 784], dtype: "f4", raw: pixels)
            array([n], dtype: "i8", raw: (0..<n).flatMap { withUnsafeBytes(of: Int64(($0 + first) % 10).littleEndian, Array.init) })
            p += [0x86]
        }
        split(3, first: 0); split(2, first: 3); split(2, first: 5)
        p += [0x87, 0x2e]
        let files = try MNIST.idxFiles(fromPickle: Data(p))
        let trainImages = try IDX.decode(files[0].1), trainLabels = try IDX.decode(files[1].1), testLabels = try IDX.decode(files[3].1)
        XCTAssertEqual(trainImages.shape, [5, 28, 28])
        XCTAssertEqual(Array(trainImages.bytes.prefix(3)), [0, 1, 2])
        XCTAssertEqual(trainImages.bytes[784 * 3], 3, "valid follows train")
        XCTAssertEqual(trainLabels.bytes, [0, 1, 2, 3, 4])
        XCTAssertEqual(testLabels.bytes, [5, 6])
    }

    func testBinarization() throws {
        var rng = RandomGenerator(seed: 0)
        let x = Tensor.uniform([4, 1, 28, 28], generator: &rng)
        // Fixed: an example's binary image depends on its index only, not on its batch.
        let both = MNISTDataset.binarize(x, indices: [7, 9], mode: .fixed, generator: &rng)
        let alone = MNISTDataset.binarize(x.sliced(axis: 0, 1..<2), indices: [9], mode: .fixed, generator: &rng)
        XCTAssertEqual(both.sliced(axis: 0, 1..<2).scalars, alone.scalars)
        XCTAssertEqual(Set(both.scalars), [0, 1])
        // Dynamic: a fresh draw each time, with the intensity as probability.
        let a = MNISTDataset.binarize(x, indices: [0, 1, 2, 3], mode: .dynamic, generator: &rng)
        let b = MNISTDataset.binarize(x, indices: [0, 1, 2, 3], mode: .dynamic, generator: &rng)
        XCTAssertNotEqual(a.scalars, b.scalars)
        XCTAssertEqual(a.mean().scalar, x.mean().scalar, accuracy: 0.03)
        XCTAssertEqual(MNISTDataset.binarize(x, indices: [0], mode: .none, generator: &rng).scalars, x.scalars)
    }

    func testLoadedExamplesAreScaledAndOrdered() throws {
        try gzipFiles(smallSet(), into: root)
        let data = try MNIST.load(.test, from: root, expectedCounts: smallCounts[.test])
        XCTAssertEqual(data.count, 10)
        let dataset = ByteImageDataset(name: "t", pixels: data.images, imageShape: [1, 28, 28], labels: data.labels)
        var rng = RandomGenerator(seed: 0)
        let batch = dataset.batch([3, 1], generator: &rng)
        XCTAssertEqual(batch.images.shape, [2, 1, 28, 28])
        XCTAssertEqual(batch.images.scalars[1], Float((3 * 784 + 1) % 251) / 255)
        XCTAssertEqual(batch.labels, [3, 1])
    }

    func gzip(_ data: Data) throws -> Data {
        let input = root.appendingPathComponent("gz-\(UUID().uuidString)")
        try data.write(to: input)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-n", input.path]
        try p.run(); p.waitUntilExit()
        let out = try Data(contentsOf: URL(fileURLWithPath: input.path + ".gz"))
        try FileManager.default.removeItem(atPath: input.path + ".gz")
        return out
    }

    func gzipFiles(_ files: [(String, Data)], into directory: URL) throws {
        for (name, data) in files { try gzip(data).write(to: directory.appendingPathComponent(name + ".gz")) }
    }
}
