import NeuralNetwork
import TensorEngine

/// PixelCNN++'s cached sampler (after fast-pixel-cnn-pp, Ramachandran et al. 2017): the same
/// passes as `callAsFunction`, every map a node. The down stream's maps at a row become final when
/// the row above is drawn (the convolutions read only rows above and beside), the down-right
/// stream's pixel by pixel; a coarse map's position becomes final when the last fine position
/// its stride-2 kernel reads does, and an up-sampled fine position when its coarse one does. So
/// the coarse levels are computed once per block of pixels, as their inputs complete. Sampling is
/// in eval mode: dropout is the identity.
extension PixelCNNPlusPlusNetwork: CachedSampling {
    func samplingGraph(
        images: Int, labels: [Int]?, channels c: Int, height: Int, width: Int, poisoned: Bool
    ) -> SamplingGraph {
        precondition(
            height % 4 == 0 && width % 4 == 0,
            "PixelCNN++ halves the image twice; \(height)x\(width) is not divisible by 4")
        precondition(!isTraining, "PixelCNN++'s cached sampler runs in eval mode (without dropout)")
        // A channel of ones tells the network where the zero padding begins.
        let graph = SamplingGraph(
            images: images, channels: c, height: height, width: width, ones: 1, poisoned: poisoned)
        let down = graph.convolution(firstDown, graph.image),
            downForLeft = graph.convolution(firstDownForLeft, graph.image)
        let downRight = graph.convolution(firstDownRight, graph.image)
        var us = [graph.node(channels: down.channels, inputs: [SamplingInput(down, rowShift: -1)])]
        var uls = [
            graph.node(
                channels: down.channels,
                inputs: [SamplingInput(downForLeft, rowShift: -1), SamplingInput(downRight, columnShift: -1)])
        ]
        var block = 0
        for level in 0..<Self.levels {
            for _ in 0..<blocksPerLevel {
                us.append(graph.gatedResidual(upDown[block], us.last!, auxiliary: []))
                uls.append(graph.gatedResidual(upDownRight[block], uls.last!, auxiliary: [us.last!]))
                block += 1
            }
            if level < Self.levels - 1 {
                us.append(graph.convolution(downsampleDown[level], us.last!))
                uls.append(graph.convolution(downsampleDownRight[level], uls.last!))
            }
        }
        var u = us.removeLast(), ul = uls.removeLast()
        block = 0
        for level in 0..<Self.levels {
            for _ in 0..<(level == 0 ? blocksPerLevel : blocksPerLevel + 1) {
                u = graph.gatedResidual(downDown[block], u, auxiliary: [us.removeLast()])
                ul = graph.gatedResidual(downDownRight[block], ul, auxiliary: [u, uls.removeLast()])
                block += 1
            }
            if level < Self.levels - 1 {
                u = graph.convolution(upsampleDown[level], u)
                ul = graph.convolution(upsampleDownRight[level], ul)
            }
        }
        let activated = graph.node(channels: ul.channels, inputs: [SamplingInput(ul)], post: { elu($0[0]) })
        graph.convolution(output, activated)
        return graph
    }
}

extension SamplingGraph {
    /// A shifted convolution of `input` as a node (stride 2 halves the size, transposed doubles it).
    @discardableResult
    func convolution(_ layer: ShiftedConv, _ input: SamplingNode) -> SamplingNode {
        let s = layer.stride
        let (height, width) =
            layer.transposed
            ? (input.height * s, input.width * s) : ((input.height - 1) / s + 1, (input.width - 1) / s + 1)
        return node(
            channels: layer.bias.value.shape[0], height: height, width: width, sources: [source(layer, input)],
            bias: layer.bias.value)
    }

    /// The layer read as `callAsFunction` pads it: rows above, columns on both sides (down) or the
    /// left (down-right); transposed, cropped the same way.
    func source(_ layer: ShiftedConv, _ input: SamplingNode) -> SamplingSource {
        let (kh, kw) = layer.kernel, isDown = layer.direction == .down
        if layer.transposed {
            return SamplingSource(
                input, kernel: layer.normalizedWeight, stride: layer.stride, top: 0, left: isDown ? (kw - 1) / 2 : 0,
                transposed: true)
        }
        return SamplingSource(
            input, kernel: layer.normalizedWeight, stride: layer.stride, top: kh - 1,
            left: isDown ? (kw - 1) / 2 : kw - 1)
    }

    /// x + glu(second(concat_elu(first(concat_elu(x)) + auxiliary(concat_elu(a))))), `a` the
    /// auxiliary maps side by side.
    func gatedResidual(_ block: GatedResidual, _ x: SamplingNode, auxiliary: [SamplingNode]) -> SamplingNode {
        let sized = {
            (
                channels: Int, sources: [SamplingSource], inputs: [SamplingInput], bias: Tensor?,
                post: @escaping ([Tensor]) -> Tensor
            ) in
            self.node(
                channels: channels, height: x.height, width: x.width, sources: sources, inputs: inputs, bias: bias,
                post: post)
        }
        let activated = sized(2 * x.channels, [], [SamplingInput(x)], nil) { concatELU($0[0]) }
        var sources = [source(block.first, activated)], bias = block.first.bias.value
        if let layer = block.auxiliary, !auxiliary.isEmpty {
            let a = sized(2 * auxiliary.reduce(0) { $0 + $1.channels }, [], auxiliary.map { SamplingInput($0) }, nil) {
                concatELU(Tensor.concatenate($0, axis: 1))
            }
            sources.append(source(layer, a))
            bias = bias + layer.bias.value
        }
        let c = sized(2 * x.channels, sources, [], bias) { concatELU($0[0]) }
        return sized(x.channels, [source(block.second, c)], [SamplingInput(x)], block.second.bias.value) {
            $0[1] + glu($0[0])
        }
    }
}
