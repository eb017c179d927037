import Datasets
import Foundation
import GenerativeModels
import Hummingbird
import TensorEngine

/// What the run page can offer, asked of the model's capabilities (never of its name).
struct Capabilities: Encodable, Sendable {
    /// The actions: sample, truncation, latent, manifold, interpolate, mix, project, translate,
    /// draw, classes, clusters.
    var actions: [String] = []
    var imageShape: [Int]
    /// Latent models: the code's size and where the prior puts each dimension.
    var latent: Latent?
    /// Class-conditional models: the number of classes; VaDE: of clusters.
    var classes: Int?
    var clusters: Int?
    /// StyleGAN: the layer groups; translation models: the directions they translate in.
    var styleLayers: [String]?
    var directions: [String]?
    var truncation: Float?

    struct Latent: Encodable, Sendable {
        var dimension: Int
        var centre: [Float]
        var deviation: [Float]
    }

    init(_ model: TrainableModel, config: RunConfig) {
        imageShape = config.imageShape
        guard model.drawsSamples else { return }
        actions.append("sample")
        // A toy mixture's points have no image to decode, mix or translate.
        guard config.imageShape.count == 3 else { return }
        if let latent = model as? LatentDecoding {
            let spread = latent.codeSpread
            self.latent = Latent(dimension: latent.latentDimension, centre: spread.centre, deviation: spread.deviation)
            actions += ["latent", "manifold", "interpolate"]
        }
        if let style = model as? StyleMixing {
            actions += ["truncation", "mix", "project"]
            styleLayers = StyleLayers.allCases.map(\.rawValue)
            truncation = style.truncation
        }
        if let translator = model as? Translating {
            actions.append("translate")
            directions = translator.pairing == .unpaired ? ["AtoB", "BtoA"] : ["AtoB"]
        }
        if model is SequentialSampling { actions.append("draw") }
        if let conditional = model as? ConditionalSampling, conditional.classes > 0 {
            actions.append("classes")
            classes = conditional.classes
        }
        if let mixture = model as? ClusterSampling {
            actions.append("clusters")
            clusters = mixture.clusterCount
        }
    }
}

/// The studio's work on a model: each returns the picture a page action shows. Bounds on
/// counts and sizes are checked by the routes before a model is touched.
enum Actions {
    static func code(_ model: TrainableModel, seed: UInt64) throws -> [Float] {
        let latent = try latentDecoding(model)
        var generator = RandomGenerator(seed: seed)
        return withoutGradients { latent.codes(count: 1, generator: &generator) }.scalars
    }

    /// Codes decoded side by side.
    static func decode(_ model: TrainableModel, codes: [[Float]]) throws -> Image {
        let latent = try latentDecoding(model)
        for code in codes { try checkCode(code, latent) }
        let z = Tensor(shape: [codes.count, latent.latentDimension], scalars: codes.flatMap { $0 })
        return Image.grid(withoutGradients { latent.decode(codes: z) }, columns: codes.count)
    }

    /// The plane through `code` along dimensions `i` (across) and `j` (down), each spanning
    /// 2.5 of its prior deviations either side of the prior's centre.
    static func manifold(_ model: TrainableModel, code: [Float], dimensions: (Int, Int), size: Int) throws -> Image {
        let latent = try latentDecoding(model)
        try checkCode(code, latent)
        let (i, j) = dimensions, m = latent.latentDimension
        guard (0..<m).contains(i), (0..<m).contains(j), i != j else {
            throw HTTPError(.badRequest, message: "dimensions must be two different numbers in 0..<\(m)")
        }
        let spread = latent.codeSpread
        let ticks = { (d: Int) in
            (0..<size).map { spread.centre[d] + spread.deviation[d] * (-2.5 + 5 * Float($0) / Float(size - 1)) }
        }
        var codes: [Float] = []
        for b in ticks(j).reversed() {
            for a in ticks(i) {
                var point = code
                point[i] = a
                point[j] = b
                codes += point
            }
        }
        let z = Tensor(shape: [size * size, m], scalars: codes)
        return Image.grid(withoutGradients { latent.decode(codes: z) }, columns: size, border: 0)
    }

    /// The codes of two seeds and `steps` points on the line between them, ends included.
    static func interpolate(_ model: TrainableModel, from a: UInt64, to b: UInt64, steps: Int) throws -> Image {
        let latent = try latentDecoding(model)
        var ga = RandomGenerator(seed: a), gb = RandomGenerator(seed: b)
        return withoutGradients {
            let za = latent.codes(count: 1, generator: &ga), zb = latent.codes(count: 1, generator: &gb)
            let line = Tensor.concatenate(
                (0..<steps).map { t -> Tensor in
                    let s = Float(t) / Float(steps - 1)
                    return za * (1 - s) + zb * s
                }, axis: 0)
            return Image.grid(latent.decode(codes: line), columns: steps)
        }
    }

    /// Seed `content`'s image with seed `style`'s styles at `layers`: content | style | mixed.
    static func mix(
        _ model: TrainableModel, content: UInt64, style: UInt64, layers: StyleLayers, psi: Float
    ) throws
        -> Image
    {
        let styled = try styleMixing(model)
        guard let latent = model as? LatentDecoding else { throw TrainingError("no latent codes") }
        var gc = RandomGenerator(seed: content), gs = RandomGenerator(seed: style)
        return withoutGradients {
            let a = styled.styles(of: latent.codes(count: 1, generator: &gc), psi: psi)
            let b = styled.styles(of: latent.codes(count: 1, generator: &gs), psi: psi)
            let mixed = swapped(a, b, layers: styled.layers(layers))
            return Image.grid(styled.image(styles: Tensor.concatenate([a, b, mixed], axis: 0)), columns: 3)
        }
    }

    /// `content`'s styles with `style`'s at `layers` ([1, styleCount, D] each).
    static func swapped(_ content: Tensor, _ style: Tensor, layers: Range<Int>) -> Tensor {
        let count = content.shape[1]
        return Tensor.concatenate(
            (0..<count).map { (layers.contains($0) ? style : content).sliced(axis: 1, $0..<$0 + 1) }, axis: 1)
    }

    /// An uploaded PNG as the model's input: [1, C, H, W] in [0, 1].
    static func image(_ data: Data, shape: [Int]) throws -> Tensor {
        guard data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw HTTPError(.badRequest, message: "the upload is not a PNG image")
        }
        let decoded: Image
        do { decoded = try PNG.decode(data) } catch {
            throw HTTPError(.badRequest, message: "the upload does not decode as PNG: \(error)")
        }
        guard decoded.width > 0, decoded.height > 0, decoded.width <= 4096, decoded.height <= 4096 else {
            throw HTTPError(.badRequest, message: "the image must be between 1 and 4096 pixels on each side")
        }
        let (c, size) = (shape[0], shape[1])
        return decoded.fitted(to: size).tensor(channels: c).reshaped([1, c, size, size])
    }

    /// An image translated A to B (or B to A): input | output.
    static func translate(_ model: TrainableModel, _ input: Tensor, reverse: Bool) throws -> Image {
        guard let translator = model as? Translating else { throw TrainingError("this model does not translate") }
        guard !reverse || translator.pairing == .unpaired else {
            throw HTTPError(.badRequest, message: "this model translates from A to B only")
        }
        let output = withoutGradients { translator.translate(input, reverse: reverse) }
        return Image.grid(Tensor.concatenate([input, output], axis: 0), columns: 2)
    }

    /// A projection's reconstruction with seed `style`'s styles at `layers`:
    /// target | reconstruction | style | result.
    static func stylize(
        _ model: TrainableModel, _ projection: StoredProjection, style: UInt64, layers: StyleLayers
    )
        throws -> Image
    {
        let styled = try styleMixing(model)
        guard let latent = model as? LatentDecoding else { throw TrainingError("no latent codes") }
        var generator = RandomGenerator(seed: style)
        return withoutGradients {
            let styles = styled.styles(of: latent.codes(count: 1, generator: &generator), psi: styled.truncation)
            let result = styled.stylize(projection.projection, with: styles, layers: styled.layers(layers))
            return Image.grid(
                Tensor.concatenate(
                    [projection.target, projection.projection.image, styled.image(styles: styles), result], axis: 0),
                columns: 4)
        }
    }

    static func latentDecoding(_ model: TrainableModel) throws -> LatentDecoding {
        guard let latent = model as? LatentDecoding else {
            throw HTTPError(.badRequest, message: "this model has no latent codes to decode")
        }
        return latent
    }

    static func styleMixing(_ model: TrainableModel) throws -> StyleMixing {
        guard let style = model as? StyleMixing else {
            throw HTTPError(.badRequest, message: "this model has no styles")
        }
        return style
    }

    static func checkCode(_ code: [Float], _ latent: LatentDecoding) throws {
        guard code.count == latent.latentDimension else {
            throw HTTPError(
                .badRequest, message: "a code has \(latent.latentDimension) numbers for this model, not \(code.count)")
        }
        guard code.allSatisfy({ $0.isFinite && abs($0) <= 1e4 }) else {
            throw HTTPError(.badRequest, message: "a code's numbers must be finite, at most 10000 in size")
        }
    }
}

/// A projection kept for re-styling, with the image it was projected from.
struct StoredProjection: @unchecked Sendable {
    let run: String
    let target: Tensor
    let projection: Projection
}

/// The latest projections, by id; the oldest is dropped past `capacity`.
final class ProjectionStore: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [(id: String, value: StoredProjection)] = []
    private let capacity: Int

    init(capacity: Int = 32) { self.capacity = capacity }

    func add(_ value: StoredProjection) -> String {
        let id = UUID().uuidString.lowercased()
        lock.lock()
        defer { lock.unlock() }
        kept.append((id, value))
        if kept.count > capacity { kept.removeFirst(kept.count - capacity) }
        return id
    }

    func get(_ id: String) -> StoredProjection? {
        lock.lock()
        defer { lock.unlock() }
        return kept.first { $0.id == id }?.value
    }
}
