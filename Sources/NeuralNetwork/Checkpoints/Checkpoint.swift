import Foundation
import TensorEngine

/// A module's parameters and buffers in `model.safetensors`, with the model's typed
/// configuration in `config.json` beside it.
public enum Checkpoint {
    public static let weightsFile = "model.safetensors"
    public static let configFile = "config.json"

    /// Publishes the weights as a checkpoint unit, then writes the config atomically, so a
    /// directory whose config.json names a model always has that model's weights.
    public static func save<Config: Encodable>(
        _ module: Module, config: Config, metadata: [String: String] = [:], to directory: URL
    ) throws {
        try CheckpointUnit.publish(
            [(weightsFile, SafeTensors.encode(module.stateDict(), metadata: metadata))], as: "weights", in: directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(config), to: directory.appendingPathComponent(configFile))
    }

    /// Reads the config of a run directory.
    public static func config<Config: Decodable>(_ type: Config.Type, in directory: URL) throws -> Config {
        let url = directory.appendingPathComponent(configFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SafeTensors.FormatError("\(directory.path) has no \(configFile): not a run directory")
        }
        do { return try JSONDecoder().decode(type, from: Data(contentsOf: url)) } catch {
            throw SafeTensors.FormatError("\(url.path) does not hold a valid configuration: \(error)")
        }
    }

    /// Loads weights into `module`, checking the checkpoint against its manifest and every name
    /// and shape against the module.
    public static func load(_ module: Module, from directory: URL) throws {
        try load(module, fromFile: CheckpointUnit.file(weightsFile, in: directory))
    }

    /// Loads the weights of one safetensors file (of a unit already checked), every name and shape.
    public static func load(_ module: Module, fromFile file: URL) throws {
        let (tensors, _) = try SafeTensors.read(from: file)
        try module.load(stateDict: Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }))
    }
}
