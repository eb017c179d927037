import ArgumentParser
import Datasets
import Foundation
import TensorEngine

/// A model's options: a typed value saved in `config.json`, with its defaults, the checks of
/// the images it can take and the model it builds. Its flags (`OptionFlags`) set it from a
/// command line.
public protocol ModelOptions: Codable, Equatable, Sendable {
    /// A fresh model for images of `imageShape`, its weights drawn from `generator`.
    func makeModel(imageShape: [Int], generator: inout RandomGenerator) throws -> TrainableModel
    /// Refuses, with the reason, image shapes the model's layers cannot take (checked before it
    /// is built: its constructors assume them).
    func check(imageShape: [Int]) throws
    /// The data set the model trains on when none is named.
    var defaultDataset: String { get }
    /// What the model learns from besides single images.
    static var pairing: Pairing { get }
    /// Labels the model needs from its data (a classifier, a class-conditional model).
    var needsLabels: Bool { get }
    /// Whether it can learn points as well as images (the toy mixtures, [D, 1, 1]).
    var modelsPoints: Bool { get }
    /// The options fitted to the training data (a classifier's classes), or an error when they
    /// cannot fit it (more clusters than examples).
    func adapted(to data: Dataset) throws -> Self
}

extension ModelOptions {
    public func check(imageShape: [Int]) throws {}
    public var defaultDataset: String { "mnist" }
    public static var pairing: Pairing { .none }
    public var needsLabels: Bool { false }
    public var modelsPoints: Bool { false }
    public func adapted(to data: Dataset) throws -> Self { self }
}

/// What a model learns from besides single images.
public enum Pairing: Sendable { case none, paired, unpaired }

/// The command-line flags of a model's options, as an argument group: `train MODEL --help`
/// lists them. Every flag is optional, so that the flags given set their options and leave the
/// others as they are: a model's defaults, a saved run's values (`--resume`, `--config`).
public protocol OptionFlags: ParsableArguments {
    associatedtype Options: ModelOptions
    /// Sets the options these flags give.
    func apply(to options: inout Options) throws
}

/// Flags that set nothing: a model with no options of its own.
public struct NoFlags<Options: ModelOptions>: OptionFlags {
    public init() {}
    public func apply(to options: inout Options) {}
}

/// `--hidden 400` or `--hidden 200,200`: widths of hidden layers.
public struct Widths: ExpressibleByArgument, Sendable, Equatable {
    public let values: [Int]
    public init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 65_536 }) else { return nil }
        values = parts.map { $0! }
    }
    public static var defaultCompletionKind: CompletionKind { .default }
}

extension ValidationError {
    /// A check of a flag's value: the error with `message` when `condition` fails.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ValidationError(message()) }
    }
}

extension ValidationError {
    /// A weight from a flag, if given: a finite number, 0 or more.
    static func requireWeight(_ value: Float?, _ flag: String) throws {
        try require(value.map { $0.isFinite && $0 >= 0 } ?? true, "\(flag) must be a number, 0 or more")
    }

    /// A rate or a bound from a flag, if given: a finite positive number.
    static func requirePositive(_ value: Float?, _ flag: String) throws {
        try require(value.map { $0.isFinite && $0 > 0 } ?? true, "\(flag) must be a positive number")
    }
}

/// The image shape's sides must be multiples of 4 of at least 8 for a model that halves its
/// images twice.
func requireQuartered(_ imageShape: [Int], _ what: String) throws {
    let (h, w) = (imageShape[1], imageShape[2])
    guard h % 4 == 0, w % 4 == 0, h >= 8, w >= 8 else {
        throw TrainingError(
            "\(what) halves its images twice, so their sides must be multiples of 4 of at least 8, not \(h)x\(w) "
                + "(--image-size)"
        )
    }
}

extension TrainingOptions.Schedule: ExpressibleByArgument {}
