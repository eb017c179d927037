import NeuralNetwork
import TensorEngine

/// PixelCNN's cached sampler: a node per convolution of the stack (ReLUs fused into the
/// convolution before them), the residual added in the block's last node. With colours, every
/// map is final group by group: the R part of all layers at a pixel is computed before R is
/// drawn, then the G part, which reads R's value, then B.
extension PixelCNNNetwork: CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels c: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph {
        let graph = SamplingGraph(
            images: images, channels: c, height: height, width: width, groups: c, poisoned: poisoned)
        var h = graph.chain([input], from: graph.image)
        for block in blocks { h = graph.chain(block.layers, from: h, residual: h) }
        graph.chain(head.layers, from: h)
        return graph
    }
}

/// Gated PixelCNN's: the vertical stack's maps at a row become final as the row is drawn (each
/// layer a few pixels behind the one before) and reach the horizontal stack one row down; the
/// horizontal stack and the skip sum advance pixel by pixel, colour group by colour group.
extension GatedPixelCNNNetwork: CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels c: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph {
        let graph = SamplingGraph(
            images: images, channels: c, height: height, width: width, groups: c, poisoned: poisoned)
        var (vertical, horizontal) = (graph.image, graph.image)
        var skip: SamplingNode?
        let labelMap = labels.flatMap { labels in
            self.labelMap.map { graph.constant($0(labels).reshaped([labels.count] + labelMapShape)) }
        }
        /// The label map's 1x1 convolution into a gate, when the model has one.
        func mapSource(_ conv: Conv2d?) -> [SamplingSource] {
            guard let labelMap, let conv else { return [] }
            return [graph.source(labelMap, kernel: conv.weight.value, top: 0, left: 0)]
        }
        for (index, layer) in layers.enumerated() {
            let half = layer.kernel / 2, features = layer.skip.weight.value.shape[0]
            // The image reaches the first horizontal layer shifted right one column.
            let shift = index == 0 ? 1 : 0
            let vPre = graph.node(
                channels: 2 * features,
                sources: [graph.source(vertical, kernel: layer.vertical.weight.value, top: half, left: half)],
                bias: layer.vertical.bias?.value, post: { $0[0] })
            let vLabel = labels.flatMap { labels in layer.verticalLabel.map { $0(labels) } }
            let hLabel = labels.flatMap { labels in layer.horizontalLabel.map { $0(labels) } }
            let vMap = mapSource(layer.verticalLabelMap)
            let vOut = graph.node(
                channels: features, sources: vMap, inputs: [SamplingInput(vPre)], perImage: vLabel,
                post: { vMap.isEmpty ? gatedTanh($0[0]) : gatedTanh($0[0] + $0[1]) })
            // The vertical pre-activation (without its label) one row down, through a 1x1; the
            // first layer's view of the current pixel's earlier colours.
            let gated = graph.node(
                channels: features,
                sources: [
                    graph.maskedSource(horizontal, layer.horizontal, top: 0, left: half + shift),
                    graph.source(vPre, kernel: layer.verticalToHorizontal.weight.value, top: 1, left: 0)
                ] + (layer.currentPixel.map { [graph.maskedSource(graph.image, $0)] } ?? [])
                    + mapSource(layer.horizontalLabelMap),
                bias: biasSum(layer.horizontal.bias?.value, layer.verticalToHorizontal.bias?.value), perImage: hLabel,
                post: { gatedTanh($0[0]) })
            let hOut =
                layer.residual.map { residual in
                    graph.node(
                        channels: features, sources: [graph.maskedSource(gated, residual)],
                        inputs: [SamplingInput(horizontal)], bias: residual.bias?.value)
                } ?? gated
            skip = graph.node(
                channels: features, sources: [graph.maskedSource(gated, layer.skip)],
                inputs: skip.map { [SamplingInput($0)] } ?? [], bias: layer.skip.bias?.value)
            (vertical, horizontal) = (vOut, hOut)
        }
        graph.chain(head.layers, from: skip!)
        return graph
    }
}

/// The sum of two optional biases.
func biasSum(_ a: Tensor?, _ b: Tensor?) -> Tensor? {
    guard let a, let b else { return a ?? b }
    return a + b
}

extension SamplingGraph {
    /// A stack of masked convolutions as the bench's PixelCNN (`Sequential` of MaskedConv2d,
    /// ReLU and a last 1x1 Conv2d) over grey images taken as they are (no rescaling).
    public static func maskedStack(_ network: Sequential, images: Int, height: Int, width: Int) -> SamplingGraph {
        let graph = SamplingGraph(images: images, channels: 1, height: height, width: width, poisoned: false) { $0 }
        graph.chain(network.layers, from: graph.image)
        return graph
    }

    /// `layers` applied in order from `start`: masked or plain stride-1 convolutions, each with
    /// the ReLU after it fused in; a ReLU at the start is a node of its own (its input is needed
    /// raw elsewhere). `residual` is added to the last convolution's output.
    @discardableResult
    func chain(_ layers: [any Layer], from start: SamplingNode, residual: SamplingNode? = nil) -> SamplingNode {
        var current = start, index = 0
        while index < layers.count {
            if isReLU(layers[index]) {
                current = node(channels: current.channels, inputs: [SamplingInput(current)], post: { relu($0[0]) })
                index += 1
                continue
            }
            let reluAfter = index + 1 < layers.count && isReLU(layers[index + 1])
            index += reluAfter ? 2 : 1
            let (weight, mask, bias, padding): (Tensor, Tensor?, Tensor?, Int)
            if let masked = layers[index - (reluAfter ? 2 : 1)] as? MaskedConv2d {
                (weight, mask, bias, padding) = (
                    masked.weight.value * masked.mask, masked.mask, masked.bias?.value, masked.padding
                )
            } else if let conv = layers[index - (reluAfter ? 2 : 1)] as? Conv2d, conv.stride == 1, conv.dilation == 1,
                conv.groups == 1
            {
                (weight, mask, bias, padding) = (conv.weight.value, nil, conv.bias?.value, conv.padding)
            } else {
                preconditionFailure(
                    "cached sampling: \(type(of: layers[index - 1])) is not a masked or plain convolution or a ReLU")
            }
            let last = index == layers.count
            precondition(!(last && residual != nil && reluAfter), "cached sampling: a residual after a ReLU")
            current = node(
                channels: weight.shape[0],
                sources: [maskedSource(current, weight: weight, mask: mask, top: padding, left: padding)],
                inputs: last ? residual.map { [SamplingInput($0)] } ?? [] : [], bias: bias,
                post: reluAfter ? { relu($0[0]) } : { $0.dropFirst().reduce($0[0], +) })
        }
        return current
    }

    /// A masked convolution's source, its border above and to the left its own unless given.
    func maskedSource(_ input: SamplingNode, _ layer: MaskedConv2d, top: Int? = nil, left: Int? = nil) -> SamplingSource
    {
        maskedSource(
            input, weight: layer.weight.value * layer.mask, mask: layer.mask, top: top ?? layer.padding,
            left: left ?? layer.padding)
    }

    /// A (masked) convolution's source: only the taps the mask shows, and at each, per output
    /// colour group, the leading input channels it shows (the groups before, or up to, its own).
    func maskedSource(_ input: SamplingNode, weight: Tensor, mask: Tensor?, top: Int, left: Int) -> SamplingSource {
        let (outputs, inputs, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let m = mask?.scalars
        var taps: [(row: Int, column: Int)] = [], weights: [Tensor] = [], limits: [[Int]] = []
        for a in 0..<kh {
            for b in 0..<kw {
                let shown = (0..<groups).map { g in
                    let first = g * outputs / groups
                    return (0..<inputs).prefix { m == nil || m![((first * inputs + $0) * kh + a) * kw + b] != 0 }.count
                }
                guard shown.contains(where: { $0 > 0 }) else { continue }
                taps.append((a, b))
                weights.append(SamplingSource.tap(weight, a, b))
                limits.append(shown)
            }
        }
        return SamplingSource(input, top: top, left: left, taps: taps, weights: weights, limits: limits)
    }
}

/// Whether a layer is a ReLU (a `Function` is a closure: told by what it does).
func isReLU(_ layer: any Layer) -> Bool {
    guard let function = layer as? Function else { return false }
    return function(Tensor([-1, 0.5, 2])).scalars == [0, 0.5, 2]
}
