import Foundation
import NeuralNetwork
import TensorEngine

/// How an autoregressive model draws its images.
public enum PixelSampler: String, Codable, CaseIterable, Sendable {
    /// Every map cached: each draw computes only the outputs it makes final (about one forward
    /// pass per image in all).
    case cached
    /// One pass of the network per pixel value over the rows so far: the reference.
    case naive
}

/// A network rebuilt as nodes of cached maps (`SamplingNode`), fed by the image as it is drawn.
public final class SamplingGraph {
    let images: Int
    /// Colour groups of the image's sub-positions: 3 when a pixel's colours are drawn one after
    /// the other from separate outputs (PixelCNN's masks), else 1 (all colours from one output).
    let groups: Int
    let poisoned: Bool
    /// The network's input: the drawn values, encoded, then `ones` constant channels of 1.
    let image: SamplingNode
    let encode: (Float) -> Float
    let ones: Int
    private(set) var nodes: [SamplingNode] = []
    /// Maps known before the first draw (a label map), held here since sources do not own nodes.
    private var constants: [SamplingNode] = []
    var output: SamplingNode { nodes.last! }

    init(
        images: Int, channels: Int, height: Int, width: Int, groups: Int = 1, ones: Int = 0, poisoned: Bool,
        encode: @escaping (Float) -> Float = { 2 * $0 - 1 }
    ) {
        (self.images, self.groups, self.poisoned, self.encode, self.ones) = (images, groups, poisoned, encode, ones)
        image = SamplingNode(
            images: images, height: height, width: width, channels: channels + ones, groups: groups, poisoned: poisoned)
    }

    /// A node of the given size (the image's by default); the last one added is the output.
    /// `recurrent` gives the sources and inputs that read the node itself.
    @discardableResult
    func node(
        channels: Int, height: Int? = nil, width: Int? = nil, sources: [SamplingSource] = [],
        inputs: [SamplingInput] = [],
        bias: Tensor? = nil, perImage: Tensor? = nil, skewStart: Int? = nil,
        recurrent: ((SamplingNode) -> (sources: [SamplingSource], inputs: [SamplingInput]))? = nil,
        post: @escaping ([Tensor]) -> Tensor = { $0.dropFirst().reduce($0[0], +) }
    ) -> SamplingNode {
        let node = SamplingNode(
            images: images, height: height ?? image.height, width: width ?? image.width, channels: channels,
            groups: groups,
            poisoned: poisoned)
        let own = recurrent?(node) ?? (sources: [], inputs: [])
        node.connect(
            sources: sources + own.sources, inputs: inputs + own.inputs, bias: bias, perImage: perImage,
            skewStart: skewStart, post: post)
        nodes.append(node)
        return node
    }

    /// A node holding `values` [images, channels, H, W] from the start: final everywhere.
    func constant(_ values: Tensor) -> SamplingNode {
        let s = values.shape
        precondition(s.count == 4 && s[0] == images, "sampling graph: a constant map is [\(images), C, H, W], not \(s)")
        let node = SamplingNode(images: s[0], height: s[2], width: s[3], channels: s[1], groups: 1, poisoned: false)
        values.permuted([0, 2, 3, 1]).withUnsafeBufferPointer {
            node.map.update(from: $0.baseAddress!, count: $0.count)
        }
        node.done = node.plane
        constants.append(node)
        return node
    }

    /// A convolution source reading every tap of `kernel` [outputs, inputs, kh, kw].
    func source(
        _ node: SamplingNode, kernel: Tensor, top: Int, left: Int, channels: Range<Int>? = nil
    ) -> SamplingSource {
        SamplingSource(node, channels: channels, kernel: kernel, top: top, left: left, outputGroups: groups)
    }

    /// Marks the image's first `drawn` sub-positions final and computes every map as far as it
    /// can: repeatedly, since a recurrent node (reading itself) extends one step at a time.
    public func advance(drawn: Int) {
        image.done = drawn
        var progressed = true
        while progressed {
            progressed = false
            for node in nodes where node.advance() { progressed = true }
        }
    }

    /// The output at a position for one group, [images, channels / groups]; its inputs must be drawn.
    public func outputs(at position: Int, group: Int = 0) -> Tensor {
        let out = output, perGroup = out.channels / groups
        precondition(
            out.done > position * groups + group,
            "sampling graph: the output at \(position) is not final after its pixels were drawn")
        return Tensor(shape: [images, perGroup]) { values in
            for n in 0..<images {
                (values.baseAddress! + n * perGroup).update(
                    from: out.map + (n * out.plane + position) * out.channels + group * perGroup, count: perGroup)
            }
        }
    }

    /// Puts a drawn value (in [0, 1]) into the image.
    public func write(image n: Int, position: Int, channel: Int, value: Float) {
        let at = image.map + (n * image.plane + position) * image.channels
        at[channel] = encode(value)
        for one in 0..<ones { at[image.channels - ones + one] = 1 }
    }
}

/// A network that can rebuild itself as a sampling graph.
protocol CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph
}

extension AutoregressiveModel {
    /// One value in [0, 1] from the logits of one colour (value l's at `logit(l)`), as both samplers draw it.
    func drawValue(_ logit: (Int) -> Float, generator: inout RandomGenerator) -> Float {
        likelihood == .bernoulli
            ? (generator.nextUniform() < 1 / (1 + Foundation.exp(-logit(0))) ? 1 : 0)
            : Float(Self.draw((0..<likelihood.levels).map(logit), generator: &generator)) / 255
    }

    /// The cached sampler: the same draws from the same random stream, in the same order, as the
    /// naive one, so the same images. `observe` sees every conditional used: (position, colour,
    /// [count, levels] logits), or the mixture's [count, parameters] with colour 0. `poisoned`
    /// fills every cached map with NaN before sampling (for the tests: nothing not yet computed
    /// is ever read).
    func cachedSample(
        labels: [Int]?, count: Int, generator: inout RandomGenerator, poisoned: Bool = false,
        observe: ((Int, Int, Tensor) -> Void)? = nil
    ) -> Tensor {
        guard let cached = network as? any CachedSampling else {
            preconditionFailure("\(type(of: network)) has no cached sampler")
        }
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        let levels = likelihood.levels, plane = h * w
        var pixels = [Float](repeating: 0, count: count * c * plane)
        let progress =
            showsSamplingProgress ? Progress(total: plane, label: "sampling \(count) images", unit: "pixels") : nil
        defer { progress?.finish() }
        withoutGradients {
            let graph = cached.samplingGraph(
                images: count, labels: classes > 0 ? labels : nil, channels: c, height: h, width: w, poisoned: poisoned)
            let groups = graph.groups
            precondition(groups == 1 || groups == c, "sampling graph: \(groups) groups for \(c) colours")
            for position in 0...plane {
                guard watched(position, pixels, count: count), position < plane else { break }
                progress?.update(position + 1)
                if likelihood == .logisticMixture {
                    graph.advance(drawn: position)
                    let parameters = graph.outputs(at: position)
                    observe?(position, 0, parameters)
                    let values = DiscretizedLogisticMixture.sample(
                        parameters.reshaped([count, -1, 1, 1]), channels: c, components: components,
                        generator: &generator
                    ).scalars
                    for image in 0..<count {
                        for channel in 0..<c {
                            pixels[(image * c + channel) * plane + position] = values[image * c + channel]
                            graph.write(
                                image: image, position: position, channel: channel, value: values[image * c + channel])
                        }
                    }
                    continue
                }
                var logits = Tensor(0)
                for channel in 0..<c {
                    // One output per colour group; without groups, one output holds every colour.
                    if groups > 1 || channel == 0 {
                        graph.advance(drawn: position * groups + (groups > 1 ? channel : 0))
                        logits = graph.outputs(at: position, group: groups > 1 ? channel : 0)
                    }
                    let mine = groups > 1 ? logits : logits.sliced(axis: 1, channel * levels..<(channel + 1) * levels)
                    observe?(position, channel, mine)
                    let l = mine.scalars
                    for image in 0..<count {
                        let value = drawValue({ l[image * levels + $0] }, generator: &generator)
                        pixels[(image * c + channel) * plane + position] = value
                        graph.write(image: image, position: position, channel: channel, value: value)
                    }
                }
            }
        }
        return Tensor(shape: [count] + imageShape, scalars: pixels)
    }
}
