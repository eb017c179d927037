import Datasets
import Foundation
import GenerativeModels
import Hummingbird

// How the API reads its requests and writes its answers, and the JSON bodies of both.

/// The run's name from the path, where a `/` of a nested run is sent as `%2F`.
func runName(_ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require("name")
    guard let name = raw.removingPercentEncoding else { throw HTTPError(.badRequest, message: "a bad run name") }
    return name
}

/// A query parameter, nil when absent; a 400 when it does not read as `T`.
func query<T: LosslessStringConvertible>(_ request: Request, _ key: String, as: T.Type) throws -> T? {
    guard let text = request.uri.queryParameters.get(key) else { return nil }
    guard let value = T(text) else { throw HTTPError(.badRequest, message: "\(key)=\(text) is not a \(T.self)") }
    return value
}

func json(_ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return Response(
        status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

func png(_ image: Image) -> Response {
    Response(
        status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-store"],
        body: .init(byteBuffer: ByteBuffer(bytes: PNG.encode(image))))
}

func dataURL(_ image: Image) -> String { "data:image/png;base64," + PNG.encode(image).base64EncodedString() }

// The bodies and answers of the API.

struct RunEntry: Encodable {
    let summary: RunSummary
    /// Seconds since the run's log was last written: a run that is training logs every few.
    let idle: Double?

    init(_ summary: RunSummary, library: RunLibrary) {
        self.summary = summary
        let log = library.root.appendingPathComponent(summary.name).appendingPathComponent("log.jsonl")
        let written = (try? FileManager.default.attributesOfItem(atPath: log.path))?[.modificationDate] as? Date
        idle = written.map { Date().timeIntervalSince($0) }
    }

    enum Keys: String, CodingKey { case idle }
    func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(idle, forKey: .idle)
    }
}

struct RunDetails: Encodable {
    let name: String
    let config: RunConfig
    let summary: RunSummary?
    let capabilities: Capabilities
}

struct Code: Encodable { let code: [Float] }
struct Codes: Decodable { let codes: [[Float]] }
struct Plane: Decodable {
    let code: [Float]
    let dimensions: [Int]
    let size: Int?
}
struct Line: Decodable {
    let from: UInt64
    let to: UInt64
    let steps: Int?
}
struct Mixing: Decodable {
    let content: UInt64
    let style: UInt64
    let layers: StyleLayers
    let psi: Float?
}
struct Restyling: Decodable {
    let projection: String
    let style: UInt64
    let layers: StyleLayers
}
struct ProjectionProgress: Encodable {
    let step: Int
    let steps: Int
    let loss: Float
}
struct Projected: Encodable {
    let id: String
    let image: String
}
struct Frame: Encodable {
    let pixels: Int
    let total: Int
    let image: String?
}
