import TestSupport
import XCTest
@testable import TensorEngine

final class ConvolutionTests: XCTestCase {
    let image = Tensor(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let kernel = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])

    func testConv2dKnownAnswer() {
        // out[i, j] = sum over the window of x * w: 1*1 + 2*2 + 4*3 + 5*4 = 37, and so on.
        assertClose(conv2d(image, kernel), [37, 47, 67, 77])
        // Padding 1, stride 2: windows start at (-1, -1), (-1, 1), (1, -1), (1, 1).
        assertClose(conv2d(image, kernel, stride: 2, padding: 1), [4, 18, 36, 77])
        // Dilation 2 takes the corners: 1*1 + 3*2 + 7*3 + 9*4 = 64; a bias is added per channel.
        assertClose(conv2d(image, kernel, bias: Tensor([0.5]), dilation: 2), [64.5])
    }

    func testConvTranspose2dKnownAnswer() {
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        // Each input pixel adds x * w at its own offset.
        assertClose(convTranspose2d(x, kernel), [1, 4, 4, 6, 20, 16, 9, 24, 16])
        // Padding crops the border: only the centre remains.
        assertClose(convTranspose2d(x, kernel, padding: 1), [20])
        // Stride 2 spreads pixels into separate 2x2 blocks; output padding adds a row and column.
        let ones = Tensor.ones([1, 1, 2, 2])
        let y = convTranspose2d(x, ones, stride: 2, outputPadding: 1)
        XCTAssertEqual(y.shape, [1, 1, 5, 5])
        assertClose(y, [1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 3, 4, 4, 0, 3, 3, 4, 4, 0, 0, 0, 0, 0, 0])
    }

    /// Direct evaluation of the definition, for comparison with im2col + GEMM.
    func naiveConv2d(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry) -> [Float] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let oh = g.outputSize(h, kernel: kh, axis: 0), ow = g.outputSize(wd, kernel: kw, axis: 1)
        let xs = x.scalars, ws = w.scalars
        var out = [Float](repeating: 0, count: n * o * oh * ow)
        let og = o / g.groups
        for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            var s: Float = 0
            let grp = oc / og
            for ic in 0..<cg { for a in 0..<kh { for d in 0..<kw {
                let r = i * g.stride.0 - g.padding.0 + a * g.dilation.0
                let col = j * g.stride.1 - g.padding.1 + d * g.dilation.1
                guard r >= 0, r < h, col >= 0, col < wd else { continue }
                s += xs[((b * c + grp * cg + ic) * h + r) * wd + col] * ws[((oc * cg + ic) * kh + a) * kw + d]
            } } }
            out[((b * o + oc) * oh + i) * ow + j] = s
        } } } }
        _ = c
        return out
    }

    func testConv2dMatchesDefinition() {
        let cases: [([Int], [Int], ConvGeometry)] = [
            ([2, 4, 9, 8], [6, 2, 3, 3], ConvGeometry(stride: (2, 1), padding: (1, 2), dilation: (2, 1), groups: 2)),
            ([3, 3, 7, 7], [5, 3, 1, 1], ConvGeometry()),
            ([1, 6, 5, 6], [6, 1, 3, 2], ConvGeometry(stride: (1, 3), padding: (2, 0), groups: 6)),
            ([5, 2, 6, 6], [4, 2, 5, 5], ConvGeometry(stride: (2, 2), padding: (2, 2))),
        ]
        for (i, (xs, wsh, g)) in cases.enumerated() {
            let x = randomTensor(xs, seed: UInt64(i)), w = randomTensor(wsh, seed: UInt64(i + 10))
            let y = conv2d(x, w, stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups)
            assertClose(y, naiveConv2d(x, w, g), tolerance: 1e-4)
        }
    }

    /// Unit-stride convolutions are unfolded in C over each tap's shifted input: row by row when
    /// rows of 16 or more change width, as whole shifted planes when the width is kept (then also
    /// for short rows, and for several small images side by side). The forward pass against the
    /// definition, and both gradients as exact adjoints (<conv(x, w), p> = <x, dx(p)> =
    /// <w, dw(x, p)>), with shifts left, right and none, and rows above and below the image.
    func testUnitStrideRowsMatchTheDefinition() {
        let cases: [([Int], [Int], ConvGeometry)] = [
            ([2, 3, 5, 18], [4, 3, 3, 3], ConvGeometry(padding: (1, 1))),
            ([1, 2, 6, 20], [3, 2, 2, 3], ConvGeometry(padding: (0, 2), dilation: (1, 2))),
            ([3, 2, 4, 24], [2, 2, 3, 5], ConvGeometry(padding: (2, 0))),
            ([2, 4, 3, 16], [4, 2, 1, 3], ConvGeometry(padding: (0, 3), groups: 2)),
            ([2, 3, 5, 7], [4, 3, 3, 3], ConvGeometry(padding: (1, 1))),
            ([7, 4, 6, 5], [6, 2, 3, 3], ConvGeometry(padding: (2, 1), groups: 2)),
            ([1, 2, 6, 9], [3, 2, 2, 3], ConvGeometry(padding: (0, 2), dilation: (1, 2))),
            ([3, 2, 4, 1], [2, 2, 3, 1], ConvGeometry(padding: (1, 0))),
        ]
        for (i, (xs, ws, g)) in cases.enumerated() {
            let x = randomTensor(xs, seed: UInt64(60 + i)), w = randomTensor(ws, seed: UInt64(70 + i))
            let y = conv2d(x, w, stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups)
            XCTAssertTrue(y.shape[3] >= 16 || y.shape[3] == xs[3], "case \(i): neither long rows nor the input's width")
            assertClose(y, naiveConv2d(x, w, g), tolerance: 1e-4, "case \(i)")
            let probe = randomTensor(y.shape, seed: UInt64(80 + i))
            let dx = Tensor.convolveInputAdjoint(probe, w, inputShape: x.shape, g)
            let dw = Tensor.convolveWeightAdjoint(x, probe, weightShape: w.shape, g)
            let inner = (y * probe).sum().scalar
            XCTAssertEqual(inner, (x * dx).sum().scalar, accuracy: 1e-3 * max(1, abs(inner)), "case \(i)")
            XCTAssertEqual(inner, (w * dw).sum().scalar, accuracy: 1e-3 * max(1, abs(inner)), "case \(i)")
        }
    }

    /// Taps that are zero in every weight (a masked convolution) are skipped; the results must not change.
    func testKernelsSkippingZeroTapsMatchTheDefinition() {
        let g = ConvGeometry(stride: (1, 2), padding: (2, 1), dilation: (1, 1), groups: 2)
        let x = randomTensor([3, 4, 7, 8], seed: 40)
        var w = randomTensor([6, 2, 3, 3], seed: 41).scalars
        for i in w.indices where [2, 5, 6, 8].contains(i % 9) { w[i] = 0 }  // taps (0,2), (1,2), (2,0), (2,2)
        let weight = Tensor(shape: [6, 2, 3, 3], scalars: w)
        let y = conv2d(x, weight, stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups)
        assertClose(y, naiveConv2d(x, weight, g), tolerance: 1e-4)
        // The input gradient through the skipping kernel is still the exact adjoint.
        let probe = randomTensor(y.shape, seed: 42)
        let back = Tensor.convolveInputAdjoint(probe, weight, inputShape: x.shape, g)
        XCTAssertEqual((y * probe).sum().scalar, (x * back).sum().scalar, accuracy: 1e-2)
    }

    /// Padding that differs above and below, left and right (causal convolutions): the same as
    /// padding the input first, through every unfolding path (short rows and strides through the
    /// table, long unit-stride rows through the C loops, long rows with a row stride in Swift),
    /// forward and both gradients; and
    /// the transposed convolution with such a crop is the full one sliced.
    func testOneSidedPaddingIsPaddingTheInput() {
        let cases: [([Int], [Int], ConvGeometry)] = [
            ([2, 3, 6, 7], [4, 3, 2, 3], ConvGeometry(padding: (1, 1), paddingAfter: (0, 1))),
            ([2, 3, 8, 8], [4, 3, 2, 2], ConvGeometry(stride: (2, 2), padding: (1, 1), paddingAfter: (0, 0))),
            ([1, 2, 5, 20], [3, 2, 2, 3], ConvGeometry(padding: (1, 2), paddingAfter: (0, 0))),
            ([2, 2, 4, 18], [2, 2, 3, 2], ConvGeometry(padding: (0, 0), paddingAfter: (2, 1))),
            ([1, 2, 6, 20], [2, 2, 2, 3], ConvGeometry(stride: (2, 1), padding: (1, 2), paddingAfter: (0, 0))),
        ]
        for (i, (xs, ws, g)) in cases.enumerated() {
            let x = randomTensor(xs, seed: UInt64(90 + i)), w = randomTensor(ws, seed: UInt64(95 + i))
            let oneSided = { (t: [Tensor]) in
                conv2d(t[0], t[1], stride: g.stride, padding: g.padding, paddingAfter: g.paddingAfter)
            }
            let padded = { (t: [Tensor]) in
                conv2d(t[0].padded([(0, 0), (0, 0), (g.padding.0, g.paddingAfter.0), (g.padding.1, g.paddingAfter.1)]), t[1], stride: g.stride)
            }
            let leaves = [x.requiringGradient(), w.requiringGradient()]
            let y = oneSided(leaves), reference = padded(leaves)
            XCTAssertEqual(y.shape, reference.shape, "case \(i)")
            assertClose(y, reference.scalars, tolerance: 1e-5, "case \(i)")
            let probe = randomTensor(y.shape, seed: UInt64(99 + i))
            let have = gradients(of: (y * probe).sum(), wrt: leaves), want = gradients(of: (reference * probe).sum(), wrt: leaves)
            assertClose(have[0], want[0].scalars, tolerance: 1e-4, "case \(i), input gradient")
            assertClose(have[1], want[1].scalars, tolerance: 1e-4, "case \(i), weight gradient")
        }
        // PixelCNN++'s up-sampling: stride 2, cropped by 1 on the left and nothing elsewhere.
        let x = randomTensor([2, 3, 4, 5], seed: 104), w = randomTensor([3, 2, 2, 3], seed: 105)
        let full = convTranspose2d(x, w, stride: 2, outputPadding: 1)
        let cropped = convTranspose2d(x, w, stride: (2, 2), padding: (0, 1), paddingAfter: (0, 0))
        XCTAssertEqual(cropped.shape, [2, 2, 8, 10])
        assertClose(cropped, full.sliced(axis: 2, 0..<8).sliced(axis: 3, 1..<11).scalars, tolerance: 1e-5)
    }

    func testConvTransposeIsTheAdjointOfConv() {
        // <conv(x), y> = <x, convT(y)> for every geometry: the transposed convolution is exactly
        // the convolution's adjoint.
        let g = ConvGeometry(stride: (2, 3), padding: (1, 1), dilation: (1, 2), groups: 2)
        let x = randomTensor([2, 4, 9, 10], seed: 1), w = randomTensor([6, 2, 3, 3], seed: 2)
        let y = conv2d(x, w, stride: g.stride, padding: g.padding, dilation: g.dilation, groups: g.groups)
        let probe = randomTensor(y.shape, seed: 3)
        let back = Tensor.convolveInputAdjoint(probe, w, inputShape: x.shape, g)
        XCTAssertEqual((y * probe).sum().scalar, (x * back).sum().scalar, accuracy: 1e-2)
    }

    func testConv1dIsConv2dOfHeightOne() {
        let x = randomTensor([2, 3, 10], seed: 4), w = randomTensor([4, 3, 3], seed: 5)
        let y = conv1d(x, w, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [2, 4, 5])
        let reference = naiveConv2d(x.reshaped([2, 3, 1, 10]), w.reshaped([4, 3, 1, 3]), ConvGeometry(stride: (1, 2), padding: (0, 1)))
        assertClose(y, reference, tolerance: 1e-4)
    }

    func testLargeBatchUsesTheSameMathsAsSmall() {
        // Batches above the thread count take the per-image path; a single image the split-GEMM path.
        let x = randomTensor([4, 8, 12, 12], seed: 6), w = randomTensor([8, 8, 3, 3], seed: 7)
        let whole = conv2d(x, w, padding: 1)
        let first = conv2d(x.sliced(axis: 0, 0..<1), w, padding: 1)
        assertClose(whole.sliced(axis: 0, 0..<1), first.scalars, tolerance: 1e-5)
    }

    /// Small maps go through one product for several images side by side. For batches split
    /// into chunks with a remainder, and for images processed one at a time, all three kernels
    /// must give what each image gives alone: the forward pass, the input gradient, and the
    /// weight gradient (the sum of the images' own).
    func testImagesGatheredIntoOneProductGiveEachImagesResult() {
        let g = ConvGeometry(stride: (2, 1), padding: (1, 2), groups: 2)
        // Columns of 1152 x 20 x 20 floats per image: two images per product (chunks of 2 and 1
        // on each thread, or 2, 2, 1 on one); then seven small images, all in one product; then
        // 28 x 28 outputs, one image per product.
        for (xs, ws, images) in [([5, 256, 39, 18], [8, 128, 3, 3], 2), ([7, 4, 6, 5], [6, 2, 3, 3], 7), ([3, 4, 55, 26], [6, 2, 3, 3], 1)] {
            let x = randomTensor(xs, seed: 50), w = randomTensor(ws, seed: 51)
            let y = conv2d(x, w, stride: g.stride, padding: g.padding, groups: g.groups)
            XCTAssertEqual(ConvKernels.plan(Tensor.convSizes(input: xs, weight: ws, output: y.shape, g)).images, images)
            let probe = randomTensor(y.shape, seed: 52)
            let dx = Tensor.convolveInputAdjoint(probe, w, inputShape: x.shape, g)
            let dw = Tensor.convolveWeightAdjoint(x, probe, weightShape: w.shape, g)
            var dwSum = [Float](repeating: 0, count: w.count)
            for n in 0..<xs[0] {
                let xn = x.sliced(axis: 0, n..<n + 1), pn = probe.sliced(axis: 0, n..<n + 1)
                assertClose(y.sliced(axis: 0, n..<n + 1), conv2d(xn, w, stride: g.stride, padding: g.padding, groups: g.groups).scalars, tolerance: 1e-4)
                assertClose(dx.sliced(axis: 0, n..<n + 1), Tensor.convolveInputAdjoint(pn, w, inputShape: xn.shape, g).scalars, tolerance: 1e-4)
                for (i, v) in Tensor.convolveWeightAdjoint(xn, pn, weightShape: w.shape, g).scalars.enumerated() { dwSum[i] += v }
            }
            assertClose(dw, dwSum, tolerance: 1e-2)
        }
    }

    /// The gradients of `naiveConv2d` (no dilation or groups) by their definition: every product
    /// x * w of the sum adds probe * w to the input's gradient and probe * x to the weight's.
    func naiveConv2dGradients(_ x: Tensor, _ w: Tensor, _ probe: Tensor, _ g: ConvGeometry) -> ([Float], [Float]) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let (oh, ow) = (probe.shape[2], probe.shape[3])
        let xs = x.scalars, ws = w.scalars, ps = probe.scalars
        var dx = [Float](repeating: 0, count: xs.count), dw = [Float](repeating: 0, count: ws.count)
        for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            let p = ps[((b * o + oc) * oh + i) * ow + j]
            for ic in 0..<c { for a in 0..<kh { for d in 0..<kw {
                let r = i * g.stride.0 - g.padding.0 + a, col = j * g.stride.1 - g.padding.1 + d
                guard r >= 0, r < h, col >= 0, col < wd else { continue }
                let xi = ((b * c + ic) * h + r) * wd + col, wi = ((oc * c + ic) * kh + a) * kw + d
                dx[xi] += p * ws[wi]
                dw[wi] += p * xs[xi]
            } } }
        } } } }
        return (dx, dw)
    }

    /// 3x3 unit-stride convolutions with 16 or more channels go through Winograd's F(2x2, 3x3).
    /// Forward, input gradient and weight gradient against the definition: padding 0, 1, 2 and
    /// one-sided (the flipped convolution of the input gradient then pads by 2, 1, 0 or a
    /// negative amount), odd output sizes (tiles cut by the edge), batches split unevenly over
    /// the threads, and a masked kernel (5 taps, as PixelCNN's mask B).
    func testWinogradMatchesTheDefinition() {
        let cases: [([Int], [Int], ConvGeometry, masked: Bool)] = [
            ([3, 16, 17, 19], [17, 16, 3, 3], ConvGeometry(padding: (1, 1)), false),
            ([2, 20, 18, 17], [16, 20, 3, 3], ConvGeometry(), false),
            ([2, 16, 15, 16], [18, 16, 3, 3], ConvGeometry(padding: (2, 2)), false),
            ([2, 16, 16, 17], [16, 16, 3, 3], ConvGeometry(padding: (2, 1), paddingAfter: (0, 1)), false),
            ([5, 16, 28, 28], [16, 16, 3, 3], ConvGeometry(padding: (1, 1)), false),
            ([3, 16, 17, 16], [16, 16, 3, 3], ConvGeometry(padding: (1, 1)), true),
        ]
        for (i, (xs, ws, g, masked)) in cases.enumerated() {
            let x = randomTensor(xs, seed: UInt64(110 + i))
            var weights = randomTensor(ws, seed: UInt64(120 + i)).scalars
            if masked { for k in weights.indices where [5, 6, 7, 8].contains(k % 9) { weights[k] = 0 } }
            let w = Tensor(shape: ws, scalars: weights)
            let y = conv2d(x, w, stride: (1, 1), padding: g.padding, paddingAfter: g.paddingAfter)
            var sizes = Tensor.convSizes(input: xs, weight: ws, output: y.shape, g)
            if masked { sizes.taps = [0, 1, 2, 3, 4] }
            XCTAssertTrue(Winograd.applies(sizes) || Parallel.threadCount > xs[0], "case \(i)")
            assertClose(y, naiveConv2d(x, w, g), tolerance: 1e-4, "case \(i)")
            let probe = randomTensor(y.shape, seed: UInt64(130 + i))
            let (dx, dw) = naiveConv2dGradients(x, w, probe, g)
            assertClose(Tensor.convolveInputAdjoint(probe, w, inputShape: xs, g), dx, tolerance: 1e-4, "case \(i), dx")
            assertClose(Tensor.convolveWeightAdjoint(x, probe, weightShape: ws, g), dw, tolerance: 1e-3, "case \(i), dw")
            // An image's result does not depend on the batch it came in, to the bit.
            let two = x.sliced(axis: 0, 0..<2)
            XCTAssertEqual(
                conv2d(two, w, stride: (1, 1), padding: g.padding, paddingAfter: g.paddingAfter).scalars,
                y.sliced(axis: 0, 0..<2).scalars, "case \(i)")
        }
    }

    /// Toom-Cook's 1-D identity: Aᵀ [(G g) ⊙ (Bᵀ d)] is the correlation of d by g, for each F(m, r) built.
    func testToomCookMatricesCorrelate() {
        for (m, r) in [(2, 3), (4, 3), (4, 2), (2, 5), (3, 5)] {
            let t = ToomCook(m: m, r: r)
            let g = (0..<r).map { Float($0 * 7 % 5) - 1.5 }, d = (0..<t.alpha).map { Float($0 * 3 % 7) * 0.5 - 1 }
            let gg = (0..<t.alpha).map { j in (0..<r).reduce(Float(0)) { $0 + t.g.values[j * r + $1] * g[$1] } }
            let bd = (0..<t.alpha).map { j in (0..<t.alpha).reduce(Float(0)) { $0 + t.bt.values[j * t.alpha + $1] * d[$1] } }
            for i in 0..<m {
                let y = (0..<t.alpha).reduce(Float(0)) { $0 + t.at.values[i * t.alpha + $1] * gg[$1] * bd[$1] }
                let expected = (0..<r).reduce(Float(0)) { $0 + g[$1] * d[i + $1] }
                XCTAssertEqual(y, expected, accuracy: 1e-4, "F(\(m), \(r)) output \(i)")
            }
        }
    }

    /// The transforms in use are compiled into the C kernel with the same numbers: every matrix
    /// of each finds its kind (same size, same entries), each a different one; F(2x2, 3x3), which
    /// the C kernel does not have, finds none.
    func testToomCookMatricesInUseAreCompiled() {
        var seen = Set<Int32>()
        for t in [WinogradChannelsLast.threeByFive, WinogradChannelsLast.fourByThree, WinogradChannelsLast.fourByTwo] {
            for matrix in [t.bt, t.at, t.a, t.g, t.gt] {
                guard let kind = matrix.kind else { return XCTFail("F(\(t.m), \(t.r)): a matrix has no kind") }
                XCTAssertTrue(seen.insert(kind).inserted, "F(\(t.m), \(t.r)): kind \(kind) twice")
            }
        }
        XCTAssertEqual(seen.count, ToomCook.Matrix.compiledKinds.count)
        XCTAssertNil(ToomCook(m: 2, r: 3).bt.kind)
    }

    /// 5x5 convolutions with many channels (DCGAN's) take F(3x3, 5x5) at stride 1 and F(4x4,
    /// 3x3) over the input's phases at stride 2, 4x4 ones at stride 2 F(4x4, 2x2), 3x3 ones on
    /// small maps F(4x4, 3x3): the three primitives agree with the definition,
    /// maps cut by the tiles, odd sizes, and padding of every kind included, and an image's result
    /// does not depend on its batch. A transform over 6 x 6 or 7 x 7 tiles rounds more than a sum
    /// of products does, so each error is bounded relative to the size of the terms summed (the
    /// same sum over their absolute values): 5e-5 of it, where one wrong tap among the ~1,000
    /// terms of an output is off by ~1e-3 of it.
    func testChannelsLastWinogradMatchesTheDefinition() {
        func assertWithin(_ t: Tensor, _ expected: [Float], _ scale: [Float], _ context: String) {
            XCTAssertEqual(t.count, expected.count, context)
            // A position no term reaches (the stride skips it) still shares its tile's rounding:
            // measured against a hundredth of the largest scale.
            let floor = 1e-2 * (scale.max() ?? 0)
            let worst = zip(zip(t.scalars, expected), scale).map { abs($0.0 - $0.1) / max($1, floor) }.max() ?? 0
            XCTAssertLessThan(worst, 5e-5, context)
        }
        let cases: [([Int], [Int], ConvGeometry)] = [
            ([2, 64, 7, 7], [64, 64, 5, 5], ConvGeometry(padding: (2, 2))),
            ([3, 64, 9, 8], [80, 64, 5, 5], ConvGeometry()),
            ([2, 64, 11, 13], [96, 64, 5, 5], ConvGeometry(padding: (2, 2))),
            ([2, 64, 8, 9], [64, 64, 5, 5], ConvGeometry(padding: (3, 1), paddingAfter: (0, 2))),
            ([5, 64, 6, 6], [64, 64, 5, 5], ConvGeometry(padding: (4, 4))),
            ([2, 64, 14, 14], [128, 64, 5, 5], ConvGeometry(stride: (2, 2), padding: (2, 2))),
            ([3, 64, 13, 11], [64, 64, 5, 5], ConvGeometry(stride: (2, 2), padding: (2, 2))),
            ([2, 64, 15, 12], [80, 64, 5, 5], ConvGeometry(stride: (2, 2), padding: (1, 2), paddingAfter: (0, 1))),
            ([2, 64, 12, 12], [64, 64, 5, 5], ConvGeometry(stride: (2, 2))),
            ([2, 64, 9, 10], [64, 64, 5, 5], ConvGeometry(stride: (2, 2), padding: (4, 3))),
            ([2, 64, 14, 14], [128, 64, 4, 4], ConvGeometry(stride: (2, 2), padding: (1, 1))),
            ([3, 64, 15, 13], [64, 64, 4, 4], ConvGeometry(stride: (2, 2), padding: (2, 1), paddingAfter: (0, 1))),
            ([2, 64, 28, 28], [64, 64, 4, 4], ConvGeometry(stride: (2, 2), padding: (1, 1))),
            // `train dcgan --features 32`'s discriminator layer, and 48 output channels.
            ([2, 32, 14, 14], [64, 32, 4, 4], ConvGeometry(stride: (2, 2), padding: (1, 1))),
            ([2, 32, 9, 9], [48, 32, 5, 5], ConvGeometry(padding: (2, 2))),
            // 3x3 at stride 1 on maps too small for `Winograd`: DCGAN's refining layers (7 x 7,
            // 14 x 14), a map the tiles cut, no padding, and uneven padding.
            ([2, 64, 7, 7], [64, 64, 3, 3], ConvGeometry(padding: (1, 1))),
            ([3, 32, 14, 14], [32, 32, 3, 3], ConvGeometry(padding: (1, 1))),
            ([2, 32, 9, 11], [48, 32, 3, 3], ConvGeometry()),
            ([2, 48, 6, 5], [32, 48, 3, 3], ConvGeometry(padding: (2, 1), paddingAfter: (0, 2))),
        ]
        for (i, (xs, ws, g)) in cases.enumerated() {
            let x = randomTensor(xs, seed: UInt64(140 + i)), w = randomTensor(ws, seed: UInt64(150 + i))
            let y = conv2d(x, w, stride: g.stride, padding: g.padding, paddingAfter: g.paddingAfter)
            let sizes = Tensor.convSizes(input: xs, weight: ws, output: y.shape, g)
            XCTAssertTrue(WinogradChannelsLast.applies(sizes) || Parallel.threadCount > xs[0], "case \(i)")
            assertWithin(y, naiveConv2d(x, w, g), naiveConv2d(x.abs(), w.abs(), g), "case \(i)")
            let probe = randomTensor(y.shape, seed: UInt64(160 + i))
            let (dx, dw) = naiveConv2dGradients(x, w, probe, g)
            let (dxScale, dwScale) = naiveConv2dGradients(x.abs(), w.abs(), probe.abs(), g)
            assertWithin(Tensor.convolveInputAdjoint(probe, w, inputShape: xs, g), dx, dxScale, "case \(i), dx")
            assertWithin(Tensor.convolveWeightAdjoint(x, probe, weightShape: ws, g), dw, dwScale, "case \(i), dw")
            let two = x.sliced(axis: 0, 0..<2)
            XCTAssertEqual(
                conv2d(two, w, stride: g.stride, padding: g.padding, paddingAfter: g.paddingAfter).scalars,
                y.sliced(axis: 0, 0..<2).scalars, "case \(i)")
        }
    }

    func testShapeErrorsNameBothShapes() {
        XCTAssertThrowsError(try Shape.conv2d(input: [1, 3, 8, 8], weight: [4, 2, 3, 3], geometry: ConvGeometry())) { error in
            let message = "\(error)"
            XCTAssert(message.contains("[1, 3, 8, 8]") && message.contains("[4, 2, 3, 3]"), message)
        }
        XCTAssertThrowsError(try Shape.conv2d(input: [1, 3, 2, 2], weight: [4, 3, 3, 3], geometry: ConvGeometry()))
    }
}
