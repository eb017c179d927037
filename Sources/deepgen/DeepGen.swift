import ArgumentParser
import TensorEngine

@main
struct DeepGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepgen",
        abstract: "Train, sample and evaluate deep generative models on the CPU.",
        subcommands: [DataCommand.self, Train.self, Sample.self, Eval.self, Interpolate.self, Translate.self, Project.self, Stylize.self, Latent.self, Bench.self]
    )

    static func main() {
        Parallel.flushSubnormals()
        main(nil)
    }
}
