import Datasets
import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import XCTest

@testable import Studio

/// Every API route of the studio, against tiny runs trained here by the deepgen built beside
/// these tests: good input, and each kind of bad input with its status code.
final class StudioRoutesTests: XCTestCase {
    static let runs = TinyRuns.shared

    func studio(limits: Studio.Limits = Studio.Limits()) throws -> some ApplicationProtocol {
        Application(router: try Studio.router(runs: try Self.runs.root(), limits: limits))
    }

    func testRunsAreListedByTheirFolderNames() async throws {
        try await studio().test(.router) { client in
            try await client.execute(uri: "/api/runs", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let runs = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [[String: Any]]
                XCTAssertEqual(Set(runs.map { $0["name"] as! String }), Set(TinyRuns.names))
                let vae = runs.first { $0["name"] as? String == "vae" }!
                XCTAssertEqual(vae["model"] as? String, "vae")
                XCTAssertEqual(vae["steps"] as? Int, 12)
            }
        }
    }

    func testARunsDetailsNameWhatItsModelCanDo() async throws {
        let expected: [String: (has: [String], lacks: [String])] = [
            "vae": (["sample", "latent", "manifold", "interpolate"], ["mix", "translate", "draw"]),
            "nested/stylegan": (["sample", "truncation", "mix", "project", "latent"], ["translate", "draw"]),
            "pix2pix": (["sample", "translate"], ["latent", "draw"]),
            "gated-pixelcnn": (["sample", "draw", "classes"], ["latent", "mix"]),
            "vade": (["sample", "latent", "clusters"], ["draw"])
        ]
        try await studio().test(.router) { client in
            for (name, actions) in expected {
                try await client.execute(uri: "/api/runs/" + Self.encoded(name), method: .get) { response in
                    XCTAssertEqual(response.status, .ok, name)
                    let details = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                    XCTAssertEqual(details["name"] as? String, name)
                    XCTAssertNotNil(details["config"] as? [String: Any], name)
                    let capabilities = details["capabilities"] as! [String: Any]
                    let has = Set(capabilities["actions"] as! [String])
                    XCTAssert(has.isSuperset(of: actions.has), "\(name): \(has)")
                    XCTAssert(has.isDisjoint(with: actions.lacks), "\(name): \(has)")
                }
            }
            try await client.execute(uri: "/api/runs/gated-pixelcnn", method: .get) { response in
                let details = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                XCTAssertEqual((details["capabilities"] as! [String: Any])["classes"] as? Int, 4)
            }
        }
    }

    func testSamplesAreAPNGGridThatTheSeedDecides() async throws {
        try await studio().test(.router) { client in
            func sample(_ query: String) async throws -> Data {
                try await client.execute(uri: "/api/runs/vae/sample?" + query, method: .get) { response in
                    XCTAssertEqual(response.status, .ok, query)
                    XCTAssertEqual(response.headers[.contentType], "image/png")
                    return Data(buffer: response.body)
                }
            }
            let first = try await sample("count=4&seed=1"), again = try await sample("count=4&seed=1")
            let other = try await sample("count=4&seed=2")
            XCTAssertEqual(first, again, "the same seed draws the same grid")
            XCTAssertNotEqual(first, other, "another seed, other samples")
            let grid = try PNG.decode(first)
            // Four 8 x 8 cells, two by two, with 2-pixel borders.
            XCTAssertEqual(grid.width, 2 * 8 + 3 * 2)
            XCTAssertEqual(grid.height, 2 * 8 + 3 * 2)
        }
    }

    func testSampleCountsOutOfRangeAreRefused() async throws {
        try await studio().test(.router) { client in
            for (run, query) in [
                ("vae", "count=0"), ("vae", "count=101"), ("vae", "count=many"), ("vae", "seed=-1"),
                ("gated-pixelcnn", "count=26"), ("gated-pixelcnn", "label=4"), ("vae", "label=1"),
                ("nested%2Fstylegan", "psi=3"), ("vade", "cluster=3"), ("vae", "cluster=0")
            ] {
                try await client.execute(uri: "/api/runs/\(run)/sample?\(query)", method: .get) { response in
                    XCTAssertEqual(response.status, .badRequest, "\(run)?\(query)")
                    XCTAssert(String(buffer: response.body).contains("message"), "\(run)?\(query): a message")
                }
            }
            try await client.execute(uri: "/api/runs/vade/sample?cluster=2&count=4", method: .get) { response in
                XCTAssertEqual(response.status, .ok, "a cluster's grid")
            }
            try await client.execute(uri: "/api/runs/gated-pixelcnn/sample?count=2&label=3", method: .get) { response in
                XCTAssertEqual(response.status, .ok, "a class's grid")
            }
        }
    }

    func testUnknownRunsAndPathsOutOfTheFolderAreRefused() async throws {
        let outside = try TinyRuns.shared.outsideLink()
        try await studio().test(.router) { client in
            for (uri, status) in [
                ("/api/runs/nothing", HTTPResponse.Status.notFound),
                ("/api/runs/nothing/sample", .notFound),
                ("/api/runs/..%2F..%2Fetc/sample", .badRequest),
                ("/api/runs/..", .badRequest),
                ("/api/runs/%2Fetc", .badRequest),
                ("/api/runs/nested%2F..%2Fvae", .badRequest),
                ("/api/runs/.hidden/log", .badRequest),
                ("/api/runs/\(outside)/sample", .badRequest),
                ("/api/runs/\(outside)", .badRequest),
                ("/api/runs/nested", .notFound)
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertEqual(response.status, status, uri)
                }
            }
        }
    }

    func testTheLogIsItsRecordsAfterAStep() async throws {
        try await studio().test(.router) { client in
            try await client.execute(uri: "/api/runs/vae/log?after=9", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let records = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [[String: Double]]
                XCTAssertEqual(records.map { $0["step"]! }, [10, 11, 12])
                XCTAssertNotNil(records[0]["loss"])
            }
            try await client.execute(uri: "/api/runs/vae/log?after=x", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
            }
        }
    }

    func testLatentCodesDecodeAndTheirPlanesAndLines() async throws {
        try await studio().test(.router) { client in
            let code = try await client.execute(uri: "/api/runs/vae/code?seed=4", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                return (try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: [Double]])[
                    "code"]!
            }
            XCTAssertEqual(code.count, 2)
            let json = { (value: Any) in ByteBuffer(data: try! JSONSerialization.data(withJSONObject: value)) }
            for (action, body, status) in [
                ("decode", json(["codes": [code, [0, 0]]]), HTTPResponse.Status.ok),
                ("decode", json(["codes": [[0, 0, 0]]]), .badRequest),
                ("decode", json(["codes": [] as [[Double]]]), .badRequest),
                ("decode", ByteBuffer(string: "{not json"), .badRequest),
                ("manifold", json(["code": code, "dimensions": [0, 1], "size": 5]), .ok),
                ("manifold", json(["code": code, "dimensions": [0, 0], "size": 5]), .badRequest),
                ("manifold", json(["code": code, "dimensions": [0, 1], "size": 25]), .badRequest),
                ("interpolate", json(["from": 1, "to": 2, "steps": 6]), .ok),
                ("interpolate", json(["from": 1, "to": 2, "steps": 1]), .badRequest),
                ("mix", json(["content": 1, "style": 2, "layers": "coarse"]), .badRequest)
            ] {
                try await client.execute(uri: "/api/runs/vae/\(action)", method: .post, body: body) { response in
                    XCTAssertEqual(response.status, status, "\(action) \(String(buffer: body))")
                    if status == .ok {
                        let image = try PNG.decode(Data(buffer: response.body))
                        let cells = action == "decode" ? (2, 1) : action == "manifold" ? (5, 5) : (6, 1)
                        let border = action == "manifold" ? 0 : 2
                        XCTAssertEqual(image.width, cells.0 * 8 + (cells.0 + 1) * border, action)
                        XCTAssertEqual(image.height, cells.1 * 8 + (cells.1 + 1) * border, action)
                    }
                }
            }
        }
    }

    func testStylesMixAndAProjectedImageIsRestyled() async throws {
        let image = ByteBuffer(
            data: PNG.encode(Image(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8($0 * 4) })))
        try await studio().test(.router) { client in
            let body = ByteBuffer(string: #"{"content": 1, "style": 2, "layers": "fine"}"#)
            try await client.execute(uri: "/api/runs/nested%2Fstylegan/mix", method: .post, body: body) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try PNG.decode(Data(buffer: response.body)).width, 3 * 8 + 4 * 2)
            }
            let bad = ByteBuffer(string: #"{"content": 1, "style": 2, "layers": "all"}"#)
            try await client.execute(uri: "/api/runs/nested%2Fstylegan/mix", method: .post, body: bad) { response in
                XCTAssertEqual(response.status, .badRequest)
            }
            let id = try await client.execute(
                uri: "/api/runs/nested%2Fstylegan/project?steps=3", method: .post, body: image
            ) {
                response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "text/event-stream")
                let events = Self.events(String(buffer: response.body))
                XCTAssertEqual(events.filter { $0.name == "progress" }.last?.data["step"] as? Int, 3)
                XCTAssertEqual(events.last?.name, "done")
                XCTAssert((events.last?.data["image"] as? String)?.hasPrefix("data:image/png;base64,") == true)
                return events.last?.data["id"] as? String ?? ""
            }
            let restyle = ByteBuffer(string: #"{"projection": "\#(id)", "style": 5, "layers": "coarse"}"#)
            try await client.execute(uri: "/api/runs/nested%2Fstylegan/stylize", method: .post, body: restyle) {
                response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try PNG.decode(Data(buffer: response.body)).width, 4 * 8 + 5 * 2)
            }
            let unknown = ByteBuffer(string: #"{"projection": "nope", "style": 5, "layers": "coarse"}"#)
            try await client.execute(uri: "/api/runs/nested%2Fstylegan/stylize", method: .post, body: unknown) {
                response in
                XCTAssertEqual(response.status, .notFound)
            }
            try await client.execute(uri: "/api/runs/vae/project", method: .post, body: image) { response in
                XCTAssertEqual(response.status, .badRequest, "a VAE has no styles")
            }
            try await client.execute(uri: "/api/runs/nested%2Fstylegan/project?steps=0", method: .post, body: image) {
                response in XCTAssertEqual(response.status, .badRequest)
            }
        }
    }

    func testUploadsMustBeSmallPNGImages() async throws {
        let drawing = ByteBuffer(
            data: PNG.encode(
                Image(width: 40, height: 40, channels: 1, pixels: (0..<1600).map { $0 % 40 == 20 ? 255 : 0 })))
        try await studio().test(.router) { client in
            try await client.execute(uri: "/api/runs/pix2pix/translate", method: .post, body: drawing) { response in
                XCTAssertEqual(response.status, .ok)
                let result = try PNG.decode(Data(buffer: response.body))
                XCTAssertEqual(result.width, 2 * 16 + 3 * 2, "input | output at the model's 16 px")
            }
            var truncated = drawing
            truncated.moveWriterIndex(to: 60)
            for (body, status, what) in [
                (ByteBuffer(string: "GIF89a not a png"), HTTPResponse.Status.badRequest, "not a PNG"),
                (truncated, .badRequest, "a PNG cut short"),
                (ByteBuffer(repeating: 0x89, count: 5 << 20), .contentTooLarge, "over 4 MB")
            ] {
                try await client.execute(uri: "/api/runs/pix2pix/translate", method: .post, body: body) { response in
                    XCTAssertEqual(response.status, status, what)
                    XCTAssert(String(buffer: response.body).contains("message"), what)
                }
            }
            try await client.execute(uri: "/api/runs/pix2pix/translate?direction=BtoA", method: .post, body: drawing) {
                response in XCTAssertEqual(response.status, .badRequest, "pix2pix translates A to B only")
            }
            try await client.execute(uri: "/api/runs/pix2pix/translate?direction=up", method: .post, body: drawing) {
                response in XCTAssertEqual(response.status, .badRequest)
            }
            try await client.execute(uri: "/api/runs/vae/translate", method: .post, body: drawing) { response in
                XCTAssertEqual(response.status, .badRequest, "a VAE does not translate")
            }
        }
    }

    func testDrawingStreamsFramesUntilTheImagesAreDone() async throws {
        try await studio().test(.router) { client in
            try await client.execute(uri: "/api/runs/gated-pixelcnn/draw?count=2&label=1", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let events = Self.events(String(buffer: response.body))
                XCTAssertEqual(events.first?.name, "frame")
                XCTAssertEqual(events.last?.name, "done")
                XCTAssertEqual(events.last?.data["pixels"] as? Int, 64)
                let frames = events.filter { $0.name == "frame" }
                XCTAssertEqual(frames.last?.data["pixels"] as? Int, 64, "the finished images are the last frame")
                XCTAssert(
                    frames.allSatisfy { ($0.data["image"] as? String)?.hasPrefix("data:image/png;base64,") == true })
                let finished = try PNG.decode(
                    Data(base64Encoded: String((frames.last!.data["image"] as! String).dropFirst(22)))!)
                XCTAssertEqual(finished.width, 2 * 8 + 3 * 2, "two 8 x 8 images")
            }
            for query in ["count=26", "label=4", "count=x"] {
                try await client.execute(uri: "/api/runs/gated-pixelcnn/draw?\(query)", method: .get) { response in
                    XCTAssertEqual(response.status, .badRequest, query)
                }
            }
            try await client.execute(uri: "/api/runs/vae/draw", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest, "a VAE does not draw pixel by pixel")
            }
        }
    }

    func testSamplingThatOutrunsTheTimeLimitIsRefused() async throws {
        var limits = Studio.Limits()
        limits.seconds = 1e-6
        try await studio(limits: limits).test(.router) { client in
            try await client.execute(uri: "/api/runs/gated-pixelcnn/sample?count=4", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssert(String(buffer: response.body).contains("longer than"))
            }
            try await client.execute(uri: "/api/runs/gated-pixelcnn/draw?count=1", method: .get) { response in
                XCTAssert(String(buffer: response.body).contains("event: error"), "the stream ends with the refusal")
            }
            try await client.execute(uri: "/api/runs/vae/sample?count=4", method: .get) { response in
                XCTAssertEqual(response.status, .ok, "one pass of a decoder is bounded by its count")
            }
        }
    }

    func testThePagesAndTheirScriptAreServed() async throws {
        try await studio().test(.router) { client in
            for (uri, type) in [
                ("/", "text/html"), ("/runs/nested%2Fstylegan", "text/html"), ("/studio.js", "text/javascript"),
                ("/studio.css", "text/css")
            ] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertEqual(response.status, .ok, uri)
                    XCTAssert(response.headers[.contentType]?.hasPrefix(type) == true, uri)
                }
            }
        }
    }

    /// A run being trained publishes new checkpoints: the studio serves the newest.
    func testANewerCheckpointIsLoaded() async throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("studio-reload-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        let arguments = [
            "vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2", "--batch-size",
            "8"
        ]
        try TinyRuns.train(arguments + ["--steps", "2", "--out", copy.appendingPathComponent("vae").path])
        let app = Application(router: try Studio.router(runs: copy))
        try await app.test(.router) { client in
            let before = try await client.execute(uri: "/api/runs/vae/sample?count=2", method: .get) {
                Data(buffer: $0.body)
            }
            try TinyRuns.train(
                arguments + ["--steps", "12", "--out", copy.appendingPathComponent("vae").path, "--force"])
            let after = try await client.execute(uri: "/api/runs/vae/sample?count=2", method: .get) {
                Data(buffer: $0.body)
            }
            XCTAssertNotEqual(before, after, "the retrained weights draw other samples")
        }
    }

    /// The events of a text/event-stream body: each `event:` name with its JSON `data:`.
    static func events(_ body: String) -> [(name: String, data: [String: Any])] {
        body.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let name = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7),
                let data = lines.first(where: { $0.hasPrefix("data: ") })?.dropFirst(6),
                let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            else { return nil }
            return (String(name), object)
        }
    }

    static func encoded(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "%2F") }
}
