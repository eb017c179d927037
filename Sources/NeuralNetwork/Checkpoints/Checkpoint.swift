import Foundation
import TensorEngine

/// A module's parameters and buffers in `model.safetensors`, with the model's typed
/// configuration in `config.json` beside it.
public enum Checkpoint {
    public static let weightsFile = "model.safetensors"
    public static let configFile = "config.json"

    /// Saves both files atomically; the config is written last, so a directory whose
    /// config.json names a model always has that model's weights.
    public static func save<Config: Encodable>(_ module: Module, config: Config, metadata: [String: String] = [:], to directory: URL) throws {
        try SafeTensors.write(module.stateDict(), metadata: metadata, to: directory.appendingPathComponent(weightsFile))
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

    /// Loads weights into `module`, checking every name and shape.
    public static func load(_ module: Module, from directory: URL) throws {
        let (tensors, _) = try SafeTensors.read(from: directory.appendingPathComponent(weightsFile))
        try module.load(stateDict: Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a }))
    }
}
