import TensorEngine

/// The workloads of shared/bench/torch_ref.py, each built exactly as its docstring specifies.
enum Workloads {
    static let groups: [WorkloadGroup] = [
        WorkloadGroup(name: "sgemm", run: sgemm),
        WorkloadGroup(name: "conv", run: conv),
    ]

    /// C = A @ B for 1024x1024x1024 and 128x784 @ 784x400; GFLOP/s from the fastest run.
    static func sgemm(_ timing: Timing) -> [BenchResult] {
        var rng = RandomGenerator(seed: 0)
        return [(1024, 1024, 1024), (128, 784, 400)].map { (m, k, n) in
            let a = Tensor.normal([m, k], generator: &rng), b = Tensor.normal([k, n], generator: &rng)
            let t = timing.measure(steps: max(timing.steps, 50)) { _ = a.matmul(b) }
            return BenchResult(workload: "sgemm_\(m)x\(k)x\(n)", median: t.median, min: t.min,
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
            BenchResult(workload: "conv_fwd", median: forward.median, min: forward.min, rate: ("gflops", flops / (forward.min * 1e6))),
            BenchResult(workload: "conv_fwd_bwd", median: both.median, min: both.min, rate: ("gflops", 3 * flops / (both.min * 1e6))),
        ]
    }
}
