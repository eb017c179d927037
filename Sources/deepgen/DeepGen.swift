import ArgumentParser
import Foundation
import NeuralNetwork
import TensorEngine

@main
struct DeepGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deepgen",
        abstract: "Train, sample and evaluate deep generative models on the CPU.",
        subcommands: [
            DataCommand.self, Train.self, Sample.self, Eval.self, Interpolate.self, Translate.self, Project.self,
            Stylize.self, Latent.self, Runs.self, Curves.self, Serve.self, Models.self, Bench.self
        ]
    )

    /// Exit codes: 0 finished, 130 interrupted (checkpoint saved), 1 error, 64 usage. Errors
    /// print as one line: Foundation's file errors by their reason, not their dump.
    static func main() {
        Parallel.flushSubnormals()
        do {
            if let help = Train.modelHelp(CommandLine.arguments) { print(help); return }
            var command = try parseAsRoot()
            try command.run()
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("Error: \(error.description)\n".utf8))
            exit(withError: ExitCode(64))
        } catch {
            let foundation = error is CocoaError || type(of: error) is NSError.Type
            exit(withError: foundation ? OneLineError(description: readableDescription(of: error)) : error)
        }
    }
}

/// A command that cannot be run as given (exit 64), found after parsing: printed without the
/// usage text, which would not help.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An error whose whole message is its description.
struct OneLineError: Error, CustomStringConvertible {
    let description: String
}
