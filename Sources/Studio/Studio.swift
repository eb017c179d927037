import Datasets
import Foundation
import GenerativeModels
import Hummingbird
import TensorEngine

/// `deepgen serve`: a local web studio over the run directories of a folder. The pages are
/// clients of the JSON and PNG endpoints under `/api/`, which the README lists.
public enum Studio {
    /// What one request may ask for.
    public struct Limits: Sendable {
        /// Images in one grid; the autoregressive models draw a pixel at a time, so fewer.
        public var count = 100
        public var sequentialCount = 25
        /// Seconds one request may spend drawing before it is refused (503).
        public var seconds: Double = 60
        /// Bytes of an uploaded image (413 beyond).
        public var uploadBytes = 4 << 20
        public var projectionSteps = 1000
        /// Images along an interpolation, and across a manifold.
        public var steps = 32
        public var manifoldSize = 24
        public init() {}
    }

    /// The router of a studio over `runs`; `dataDirectory` holds MNIST for the translation
    /// models' held-out grids.
    public static func router(
        runs: URL, dataDirectory: URL = MNIST.defaultDirectory, limits: Limits = Limits()
    ) throws -> Router<BasicRequestContext> {
        let server = Server(
            library: try RunLibrary(root: runs), projections: ProjectionStore(), dataDirectory: dataDirectory,
            limits: limits)
        let router = Router()
        server.addPages(to: router)
        server.addRoutes(to: router)
        return router
    }

    /// The application `deepgen serve` runs; `onServerRunning` is told the port bound (0 picks a free one).
    public static func application(
        runs: URL, host: String = "127.0.0.1", port: Int = 8080, dataDirectory: URL = MNIST.defaultDirectory,
        limits: Limits = Limits(), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        Application(
            router: try router(runs: runs, dataDirectory: dataDirectory, limits: limits),
            configuration: .init(address: .hostname(host, port: port), serverName: "deepgen studio"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) })
    }
}

/// The routes' shared state.
struct Server: Sendable {
    let library: RunLibrary
    let projections: ProjectionStore
    let dataDirectory: URL
    let limits: Studio.Limits

    func addRoutes(to router: Router<BasicRequestContext>) {
        let api = router.group("api")
        api.get("runs") { _, _ in try json(library.summaries().map { RunEntry($0, library: library) }) }
        api.get("runs/:name") { _, context in
            let name = try runName(context)
            let run = try library.directory(name)
            let loaded = try await compute { try library.run(name) }
            let capabilities = loaded.use { Capabilities($0, config: loaded.config) }
            return try json(
                RunDetails(
                    name: name, config: loaded.config, summary: RunSummary(run, name: name),
                    capabilities: capabilities))
        }
        api.get("runs/:name/log") { request, context in
            let run = try library.directory(try runName(context))
            let after = try query(request, "after", as: Double.self) ?? -1
            return try json(run.readLog().filter { ($0["step"] ?? 0) > after })
        }
        api.get("runs/:name/sample") { request, context in
            let name = try runName(context)
            let count = try query(request, "count", as: Int.self)
            let seed = try query(request, "seed", as: UInt64.self) ?? 0
            let psi = try query(request, "psi", as: Float.self)
            let label = try query(request, "label", as: Int.self)
            let cluster = try query(request, "cluster", as: Int.self)
            guard (0...2).contains(psi ?? 1) else { throw HTTPError(.badRequest, message: "psi must be in [0, 2]") }
            let limits = self.limits, dataDirectory = self.dataDirectory
            return try png(
                await compute {
                    let run = try library.run(name)
                    return try run.use { model in
                        let most = model is SequentialSampling ? limits.sequentialCount : limits.count
                        guard (1...most).contains(count ?? 1) else {
                            throw HTTPError(.badRequest, message: "count must be between 1 and \(most) for this model")
                        }
                        var generator = RandomGenerator(seed: seed)
                        if let cluster {
                            guard let mixture = model as? ClusterSampling, (0..<mixture.clusterCount).contains(cluster)
                            else {
                                throw HTTPError(.badRequest, message: "cluster \(cluster) is not one of this model's")
                            }
                            let picks = [Int](repeating: cluster, count: count ?? 16)
                            return Image.grid(
                                withoutGradients { mixture.sample(clusters: picks, generator: &generator) })
                        }
                        return try bounded(model, seconds: limits.seconds) {
                            try SampleGrid.draw(
                                model, config: run.config, count: count ?? 16, psi: psi, label: label,
                                dataDirectory: dataDirectory, generator: &generator)
                        }
                    }
                })
        }
        api.get("runs/:name/code") { request, context in
            let name = try runName(context)
            let seed = try query(request, "seed", as: UInt64.self) ?? 0
            return try json(
                Code(code: try await compute { try library.run(name).use { try Actions.code($0, seed: seed) } }))
        }
        api.post("runs/:name/decode") { request, context in
            let name = try runName(context)
            let body = try await decode(Codes.self, request)
            guard (1...limits.steps).contains(body.codes.count) else {
                throw HTTPError(.badRequest, message: "between 1 and \(limits.steps) codes")
            }
            return try png(await compute { try library.run(name).use { try Actions.decode($0, codes: body.codes) } })
        }
        api.post("runs/:name/manifold") { request, context in
            let name = try runName(context)
            let body = try await decode(Plane.self, request)
            let size = body.size ?? 12
            guard (2...limits.manifoldSize).contains(size), body.dimensions.count == 2 else {
                throw HTTPError(
                    .badRequest, message: "size between 2 and \(limits.manifoldSize), and two dimensions")
            }
            return try png(
                await compute {
                    try library.run(name).use {
                        try Actions.manifold(
                            $0, code: body.code, dimensions: (body.dimensions[0], body.dimensions[1]), size: size)
                    }
                })
        }
        api.post("runs/:name/interpolate") { request, context in
            let name = try runName(context)
            let body = try await decode(Line.self, request)
            let steps = body.steps ?? 10
            guard (2...limits.steps).contains(steps) else {
                throw HTTPError(.badRequest, message: "steps must be between 2 and \(limits.steps)")
            }
            return try png(
                await compute {
                    try library.run(name).use {
                        try Actions.interpolate($0, from: body.from, to: body.to, steps: steps)
                    }
                })
        }
        api.post("runs/:name/mix") { request, context in
            let name = try runName(context)
            let body = try await decode(Mixing.self, request)
            guard (0...2).contains(body.psi ?? 1) else {
                throw HTTPError(.badRequest, message: "psi must be in [0, 2]")
            }
            return try png(
                await compute {
                    try library.run(name).use { model in
                        try Actions.mix(
                            model, content: body.content, style: body.style, layers: body.layers,
                            psi: body.psi ?? Actions.styleMixing(model).truncation)
                    }
                })
        }
        api.post("runs/:name/translate") { request, context in
            let name = try runName(context)
            let direction = request.uri.queryParameters.get("direction") ?? "AtoB"
            guard ["AtoB", "BtoA"].contains(direction) else {
                throw HTTPError(.badRequest, message: "direction must be AtoB or BtoA")
            }
            let upload = try await body(request)
            return try png(
                await compute {
                    let run = try library.run(name)
                    let input = try Actions.image(upload, shape: run.config.imageShape)
                    return try run.use { try Actions.translate($0, input, reverse: direction == "BtoA") }
                })
        }
        api.post("runs/:name/project") { request, context in
            let name = try runName(context)
            let steps = try query(request, "steps", as: Int.self) ?? 200
            guard (1...limits.projectionSteps).contains(steps) else {
                throw HTTPError(.badRequest, message: "steps must be between 1 and \(limits.projectionSteps)")
            }
            let upload = try await body(request)
            // Checked before the stream starts, so that a bad upload is a 400, not an event.
            let run = try await compute { try library.privateCopy(name) }
            let target = try Actions.image(upload, shape: run.config.imageShape)
            _ = try run.use { try Actions.styleMixing($0) }
            let projections = self.projections
            return eventStream { sink in
                try run.use { model in
                    let style = try Actions.styleMixing(model)
                    var generator = RandomGenerator(seed: 0)
                    var last = Date.distantPast
                    let projection = withoutGradients {
                        style.project(target, steps: steps, learningRate: 0.1, features: nil, generator: &generator) {
                            step, loss in
                            guard step == steps || Date().timeIntervalSince(last) > 0.1 else { return }
                            last = Date()
                            sink.send("progress", ProjectionProgress(step: step, steps: steps, loss: loss))
                        }
                    }
                    let id = projections.add(StoredProjection(run: name, target: target, projection: projection))
                    sink.send(
                        "done",
                        Projected(
                            id: id,
                            image: dataURL(
                                Image.grid(Tensor.concatenate([target, projection.image], axis: 0), columns: 2))))
                }
            }
        }
        api.post("runs/:name/stylize") { request, context in
            let name = try runName(context)
            let body = try await decode(Restyling.self, request)
            guard let stored = projections.get(body.projection), stored.run == name else {
                throw HTTPError(
                    .notFound, message: "no projection \(body.projection) of \(name): project an image first")
            }
            return try png(
                await compute {
                    try library.run(name).use {
                        try Actions.stylize($0, stored, style: body.style, layers: body.layers)
                    }
                })
        }
        api.get("runs/:name/draw") { request, context in
            let name = try runName(context)
            let count = try query(request, "count", as: Int.self) ?? 4
            let seed = try query(request, "seed", as: UInt64.self) ?? 0
            let label = try query(request, "label", as: Int.self)
            guard (1...limits.sequentialCount).contains(count) else {
                throw HTTPError(.badRequest, message: "count must be between 1 and \(limits.sequentialCount)")
            }
            let run = try await compute { try library.privateCopy(name) }
            try run.use { model in
                guard model is SequentialSampling else {
                    throw HTTPError(.badRequest, message: "\(run.config.model) does not draw pixel by pixel")
                }
                let classes = (model as? ConditionalSampling)?.classes ?? 0
                if let label, !(0..<classes).contains(label) {
                    throw HTTPError(
                        .badRequest,
                        message: classes == 0 ? "this model takes no class" : "label must be in 0..<\(classes)")
                }
            }
            let seconds = limits.seconds
            return eventStream { sink in
                try run.use { model in
                    try draw(model, count: count, seed: seed, label: label, seconds: seconds, sink: sink)
                }
            }
        }
    }

    /// Draws pixel by pixel, sending a frame at most every 50 ms and the finished images.
    func draw(_ model: TrainableModel, count: Int, seed: UInt64, label: Int?, seconds: Double, sink: EventSink) throws {
        guard let sequential = model as? SequentialSampling else { return }
        let deadline = Date().addingTimeInterval(seconds)
        var last = Date.distantPast, timedOut = false
        let shape = (model as? AutoregressiveModel)?.imageShape ?? []
        let total = shape.count == 3 ? shape[1] * shape[2] : 0
        sequential.watch = { pixels, images in
            if sink.isCancelled { return false }
            if Date() > deadline { timedOut = true; return false }
            if pixels == total || Date().timeIntervalSince(last) > 0.05 {
                last = Date()
                sink.send("frame", Frame(pixels: pixels, total: total, image: dataURL(Image.grid(images()))))
            }
            return true
        }
        defer { sequential.watch = nil }
        var generator = RandomGenerator(seed: seed)
        _ = withoutGradients {
            if let conditional = model as? ConditionalSampling, conditional.classes > 0 {
                let labels = (0..<count).map { label ?? ($0 % conditional.classes) }
                return conditional.sample(labels: labels, count: count, generator: &generator)
            }
            return model.sample(count: count, generator: &generator)
        }
        if timedOut { throw HTTPError(.serviceUnavailable, message: "drawing took longer than \(Int(seconds)) s") }
        if !sink.isCancelled { sink.send("done", Frame(pixels: total, total: total, image: nil)) }
    }

    /// Runs `work`, stopping an autoregressive model's drawing at the time limit (a 503).
    func bounded<T>(_ model: TrainableModel, seconds: Double, _ work: () throws -> T) throws -> T {
        guard let sequential = model as? SequentialSampling else { return try work() }
        let deadline = Date().addingTimeInterval(seconds)
        var timedOut = false
        sequential.watch = { _, _ in
            timedOut = timedOut || Date() > deadline
            return !timedOut
        }
        defer { sequential.watch = nil }
        let result = try work()
        if timedOut {
            throw HTTPError(
                .serviceUnavailable, message: "sampling took longer than \(Int(seconds)) s: ask for fewer images")
        }
        return result
    }

    func body(_ request: Request) async throws -> Data {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limits.uploadBytes)
            return Data(buffer.readableBytesView)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw HTTPError(.contentTooLarge, message: "an upload may hold at most \(limits.uploadBytes >> 20) MB")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let data = try await body(request)
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw HTTPError(.badRequest, message: "the body is not the JSON this action takes: \(error)")
        }
    }
}
