import Datasets
import GenerativeModels
import NeuralNetwork
import TensorEngine

/// The workloads of shared/bench/torch_ref.py, each built exactly as its docstring specifies.
enum Workloads {
    static let groups: [WorkloadGroup] = [
        WorkloadGroup(name: "sgemm", run: sgemm),
        WorkloadGroup(name: "vae_mlp", run: vae),
        WorkloadGroup(name: "dcgan", run: dcgan),
        WorkloadGroup(name: "pixelcnn", run: pixelcnn),
        WorkloadGroup(name: "pixelcnn_sample", run: pixelcnnSample),
        // The reference the cached sampler is measured against (~20 s): only when asked for.
        WorkloadGroup(name: "pixelcnn_sample_naive", run: pixelcnnSampleNaive, inAll: false),
        WorkloadGroup(name: "conv", run: conv),
        WorkloadGroup(name: "wgan_gp", run: wganGP)
    ]

    static func perSecond(_ name: String, _ t: (median: Double, min: Double), batch: Int) -> BenchResult {
        BenchResult(
            workload: name, median: t.median, min: t.min, rate: ("samples_per_s", Double(batch) / (t.median / 1000)))
    }

    /// MNIST VAE, batch 128: Linear(784, 400) + ReLU, heads for mu and log variance (20), decoder
    /// Linear(20, 400) + ReLU + Linear(400, 784) logits; summed BCE-with-logits + KL over the batch;
    /// Adam(1e-3). That is the library's `vae` with its default options: its own training step.
    static func vae(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let model = VAE(VAE.Options(), imageShape: [1, 28, 28], generator: &rng)
        let batch = Batch(
            images: Tensor.bernoulli([128, 1, 28, 28], probability: 0.5, generator: &rng), labels: nil,
            indices: Array(0..<128))
        let t = timing.measure { model.trainStep(batch, generator: &rng) }
        return [perSecond("vae_mlp", t, batch: 128)]
    }

    // The networks below are torch_ref.py's, not the chapter's models (its DCGAN is TensorFlow's
    // tutorial pair, its PixelCNN a plain stack of masked 3x3 convolutions), composed of the
    // library's layers so that both sides time the same arithmetic.

    /// The DCGAN pair of torch_ref.py (28x28, batch 64).
    static func dcganNetworks(dropout: Bool, generator rng: inout RandomGenerator) -> (Sequential, Sequential) {
        let g = Sequential(
            Linear(100, 7 * 7 * 256, bias: false, generator: &rng), BatchNorm(7 * 7 * 256), Function.leakyReLU(0.2),
            Function.unflatten([256, 7, 7]),
            ConvTranspose2d(256, 128, kernel: 5, stride: 1, padding: 2, bias: false, generator: &rng), BatchNorm(128),
            Function.leakyReLU(0.2),
            ConvTranspose2d(128, 64, kernel: 5, stride: 2, padding: 2, outputPadding: 1, bias: false, generator: &rng),
            BatchNorm(64),
            Function.leakyReLU(0.2),
            ConvTranspose2d(64, 1, kernel: 5, stride: 2, padding: 2, outputPadding: 1, generator: &rng), Function.tanh()
        )
        var layers: [any Layer] = [
            Conv2d(1, 64, kernel: 5, stride: 2, padding: 2, generator: &rng), Function.leakyReLU(0.2)
        ]
        if dropout { layers.append(Dropout(0.3, generator: &rng)) }
        layers += [Conv2d(64, 128, kernel: 5, stride: 2, padding: 2, generator: &rng), Function.leakyReLU(0.2)]
        if dropout { layers.append(Dropout(0.3, generator: &rng)) }
        layers += [Function.flatten(), Linear(128 * 7 * 7, 1, generator: &rng)]
        return (g, Sequential(layers))
    }

    /// One discriminator update (real and fake batches) then one generator update, non-saturating
    /// BCE losses, Adam(1e-4, betas 0.5 and 0.999) for each.
    static func dcgan(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let (g, d) = dcganNetworks(dropout: true, generator: &rng)
        let optimizerG = Adam(g.parameters(), learningRate: 1e-4, beta1: 0.5, beta2: 0.999)
        let optimizerD = Adam(d.parameters(), learningRate: 1e-4, beta1: 0.5, beta2: 0.999)
        let real = Tensor.uniform([64, 1, 28, 28], low: -1, high: 1, generator: &rng)
        let ones = Tensor.ones([64, 1]), zeros = Tensor.zeros([64, 1])
        let t = timing.measure {
            let fake = g(Tensor.normal([64, 100], generator: &rng))
            let lossD =
                binaryCrossEntropyWithLogits(d(real), ones) + binaryCrossEntropyWithLogits(d(fake.detached()), zeros)
            optimizerD.minimize(lossD)
            let lossG = binaryCrossEntropyWithLogits(d(g(Tensor.normal([64, 100], generator: &rng))), ones)
            optimizerG.minimize(lossG)
        }
        return [perSecond("dcgan", t, batch: 64)]
    }

    /// PixelCNN on binarized 28x28, batch 64: mask A 7x7 1 -> 64, seven mask-B 3x3 64 -> 64, mask-B
    /// 1x1 64 -> 64, ReLUs, a 1x1 64 -> 1 to logits.
    static func pixelcnnNetwork(generator rng: inout RandomGenerator) -> Sequential {
        var layers: [any Layer] = [MaskedConv2d(.a, 1, 64, kernel: 7, generator: &rng), Function.relu()]
        for _ in 0..<7 { layers += [MaskedConv2d(.b, 64, 64, kernel: 3, generator: &rng), Function.relu()] }
        layers += [
            MaskedConv2d(.b, 64, 64, kernel: 1, generator: &rng), Function.relu(),
            Conv2d(64, 1, kernel: 1, generator: &rng)
        ]
        return Sequential(layers)
    }

    static func pixelcnn(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let net = pixelcnnNetwork(generator: &rng)
        let optimizer = Adam(net.parameters(), learningRate: 1e-3)
        let x = Tensor.bernoulli([64, 1, 28, 28], probability: 0.5, generator: &rng)
        let t = timing.measure {
            optimizer.minimize(binaryCrossEntropyWithLogits(net(x), x, reduction: .sum) / 64)
        }
        return [perSecond("pixelcnn", t, batch: 64)]
    }

    /// 16 images pixel by pixel with the cached sampler: every map of the network kept, each
    /// draw computing only the outputs it makes final (about one forward pass in all); timed
    /// once. The same draws from the same stream as the naive loop, so the same images.
    static func pixelcnnSample(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let net = pixelcnnNetwork(generator: &rng)
        net.eval()
        let t = Timing(steps: 1, warmup: 0).measure {
            withoutGradients {
                let graph = SamplingGraph.maskedStack(net, images: 16, height: 28, width: 28)
                for position in 0..<28 * 28 {
                    graph.advance(drawn: position)
                    let p = graph.outputs(at: position).reshaped([16, 1, 1, 1]).sigmoid()
                    let pixels = Tensor.bernoulli(probabilities: p, generator: &rng).scalars
                    for image in 0..<16 {
                        graph.write(image: image, position: position, channel: 0, value: pixels[image])
                    }
                }
            }
        }
        return [
            BenchResult(
                workload: "pixelcnn_sample", median: t.median, min: t.min,
                rate: ("samples_per_s", 16 / (t.median / 1000)))
        ]
    }

    /// 16 images pixel by pixel: 784 full forward passes, no caching (torch_ref.py's loop); timed once.
    static func pixelcnnSampleNaive(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let net = pixelcnnNetwork(generator: &rng)
        net.eval()
        let t = Timing(steps: 1, warmup: 0).measure {
            withoutGradients {
                var x = Tensor.zeros([16, 1, 28, 28])
                for i in 0..<28 {
                    for j in 0..<28 {
                        let p = net(x).sliced(starts: [0, 0, i, j], sizes: [16, 1, 1, 1]).sigmoid()
                        let pixel = Tensor.bernoulli(probabilities: p, generator: &rng)
                        x =
                            x
                            + (pixel - x.sliced(starts: [0, 0, i, j], sizes: [16, 1, 1, 1]))
                            .padded([(0, 0), (0, 0), (i, 27 - i), (j, 27 - j)])
                    }
                }
            }
        }
        return [
            BenchResult(
                workload: "pixelcnn_sample_naive", median: t.median, min: t.min,
                rate: ("samples_per_s", 16 / (t.median / 1000)))
        ]
    }

    /// The DCGAN discriminator without dropout as a critic, batch 64: mean D(fake) - mean D(real)
    /// + 10 * mean((|grad D(x̂)| - 1)^2) on random interpolates; Adam(1e-4, betas 0 and 0.9).
    static func wganGP(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let (_, critic) = dcganNetworks(dropout: false, generator: &rng)
        let optimizer = Adam(critic.parameters(), learningRate: 1e-4, beta1: 0, beta2: 0.9)
        let real = Tensor.uniform([64, 1, 28, 28], low: -1, high: 1, generator: &rng)
        let fake = Tensor.uniform([64, 1, 28, 28], low: -1, high: 1, generator: &rng)
        let t = timing.measure {
            let eps = Tensor.uniform([64, 1, 1, 1], generator: &rng)
            let interpolate = (eps * real + (1 - eps) * fake).requiringGradient()
            let g = gradients(of: critic(interpolate).sum(), wrt: [interpolate], createGraph: true)[0]
            let norm = g.squared().sum(alongAxes: [1, 2, 3]).sqrt()
            let penalty = (norm - 1).squared().mean()
            optimizer.minimize(critic(fake).mean() - critic(real).mean() + 10 * penalty)
        }
        return [perSecond("wgan_gp", t, batch: 64)]
    }

    /// C = A @ B for 1024x1024x1024 and 128x784 @ 784x400; GFLOP/s from the fastest run.
    static func sgemm(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        return [(1024, 1024, 1024), (128, 784, 400)].map { (m, k, n) in
            let a = Tensor.normal([m, k], generator: &rng), b = Tensor.normal([k, n], generator: &rng)
            let t = timing.measure(steps: max(timing.steps, 50)) { _ = a.matmul(b) }
            return BenchResult(
                workload: "sgemm_\(m)x\(k)x\(n)", median: t.median, min: t.min,
                rate: ("gflops", 2 * Double(m * k * n) / (t.min * 1e6)))
        }
    }

    /// Conv2d(64, 64, 3, padding 1) on (64, 64, 28, 28): forward, and forward + backward for the
    /// input and the weights (the loss is the output's sum).
    static func conv(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        let bound = 1 / Float(64 * 9).squareRoot()
        let weight = Tensor.uniform([64, 64, 3, 3], low: -bound, high: bound, generator: &rng).requiringGradient()
        let bias = Tensor.uniform([64], low: -bound, high: bound, generator: &rng).requiringGradient()
        let x = Tensor.normal([64, 64, 28, 28], generator: &rng).requiringGradient()
        let flops = 2.0 * 64 * 64 * 28 * 28 * 64 * 9
        let forward = timing.measure {
            withoutGradients { _ = conv2d(x, weight, bias: bias, padding: 1) }
        }
        let both = timing.measure {
            let loss = conv2d(x, weight, bias: bias, padding: 1).sum()
            _ = gradients(of: loss, wrt: [x, weight, bias])
        }
        return [
            BenchResult(
                workload: "conv_fwd", median: forward.median, min: forward.min,
                rate: ("gflops", flops / (forward.min * 1e6))),
            BenchResult(
                workload: "conv_fwd_bwd", median: both.median, min: both.min,
                rate: ("gflops", 3 * flops / (both.min * 1e6)))
        ]
    }
}
