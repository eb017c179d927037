import Datasets
import Foundation
import NeuralNetwork
import TensorEngine

/// The files of a training run:
/// `config.json` (what was trained, on what, how), `model.safetensors` (weights and buffers),
/// `optimizer.safetensors` and `trainer.json` (for `--resume`), `log.jsonl` (one line per
/// logged step), `samples.png` and `loss.png`.
public struct RunDirectory {
    public let url: URL
    public init(_ url: URL) { self.url = url }

    public var config: URL { url.appendingPathComponent("config.json") }
    public var weights: URL { url.appendingPathComponent("model.safetensors") }
    public var optimizerState: URL { url.appendingPathComponent("optimizer.safetensors") }
    public var trainerState: URL { url.appendingPathComponent("trainer.json") }
    public var log: URL { url.appendingPathComponent("log.jsonl") }
    public var samples: URL { url.appendingPathComponent("samples.png") }
    /// The animation of the sample grids over training, and the folder of its frames.
    public var progress: URL { url.appendingPathComponent("progress.png") }
    public var progressFrames: URL { url.appendingPathComponent("progress") }

    /// The frames kept so far, in step order.
    func progressFrameFiles() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: progressFrames.path)) ?? []
        return names.compactMap { name -> (step: Int, url: URL)? in
            guard name.hasPrefix("step-"), name.hasSuffix(".png"),
                let step = Int(name.dropFirst(5).dropLast(4))
            else { return nil }
            return (step, progressFrames.appendingPathComponent(name))
        }.sorted { $0.step < $1.step }
    }

    /// A frame of step `step`, and progress.png again from every frame up to it (a resumed run
    /// first drops the frames of steps it takes again).
    func addProgressFrame(_ png: Data, step: Int) throws {
        try FileManager.default.createDirectory(at: progressFrames, withIntermediateDirectories: true)
        for frame in progressFrameFiles() where frame.step > step { try? FileManager.default.removeItem(at: frame.url) }
        try writeAtomically(png, to: progressFrames.appendingPathComponent("step-\(step).png"))
        let frames = try progressFrameFiles().map { try Data(contentsOf: $0.url) }
        try writeAtomically(PNG.encodeAnimation(files: frames, delay: frames.count > 40 ? 0.1 : 0.25), to: progress)
    }
    public var lossPlot: URL { url.appendingPathComponent("loss.png") }
    public var lock: URL { url.appendingPathComponent(".lock") }

    /// Where training stands: saved with every checkpoint.
    public struct TrainerState: Codable, Equatable {
        public var step: Int
        public var elapsedSeconds: Double
    }

    /// Saves weights, buffers, optimizer states and the step as one checkpoint unit
    /// (`CheckpointUnit`): all of it is published, or none. A value that is not finite is
    /// refused before anything is written, so a published checkpoint is always usable.
    func saveCheckpoint(model: TrainableModel, state: TrainerState) throws {
        let modelTensors = model.module.stateDict()
        var optimizerTensors: [(name: String, tensor: Tensor)] = []
        for (name, optimizer) in model.optimizers.sorted(by: { $0.key < $1.key }) {
            optimizerTensors += optimizer.state.sorted { $0.key < $1.key }.map { ("\(name).\($0.key)", $0.value) }
        }
        if let bad = (modelTensors + optimizerTensors.map { ("optimizer state \($0.name)", $0.tensor) }).first(where: {
            !$0.tensor.allFinite
        }) {
            throw NonFiniteError(step: state.step, tensor: bad.name)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try CheckpointUnit.publish(
            [
                (
                    weights.lastPathComponent,
                    SafeTensors.encode(modelTensors, metadata: ["format": "pt", "step": "\(state.step)"])
                ),
                (optimizerState.lastPathComponent, SafeTensors.encode(optimizerTensors)),
                (trainerState.lastPathComponent, try encoder.encode(state))
            ], as: String(format: "step-%08d", state.step), in: url)
    }

    /// Restores what `saveCheckpoint` saved; the files are checked against the unit's manifest,
    /// every name and shape against the model.
    func loadCheckpoint(into model: TrainableModel) throws -> TrainerState {
        let unit = try CheckpointUnit.verified(in: url) ?? url // checked once, then read
        try Checkpoint.load(model.module, fromFile: unit.appendingPathComponent(weights.lastPathComponent))
        let (tensors, _) = try SafeTensors.read(from: unit.appendingPathComponent(optimizerState.lastPathComponent))
        for (name, optimizer) in model.optimizers {
            let prefix = name + "."
            let own = Dictionary(
                uniqueKeysWithValues: tensors.filter { $0.name.hasPrefix(prefix) }.map {
                    (String($0.name.dropFirst(prefix.count)), $0.tensor)
                })
            try optimizer.load(state: own)
        }
        let stateURL = unit.appendingPathComponent(trainerState.lastPathComponent)
        do { return try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: stateURL)) } catch {
            throw TrainingError("\(stateURL.path) is missing or damaged: \(error)")
        }
    }

    /// The step of the published checkpoint, if there is one.
    func checkpointStep() -> Int? {
        guard let unit = try? CheckpointUnit.file(trainerState.lastPathComponent, in: url),
            let data = try? Data(contentsOf: unit)
        else { return nil }
        return (try? JSONDecoder().decode(TrainerState.self, from: data))?.step
    }

    /// The logged records, in order.
    public func readLog() -> [[String: Double]] {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Double]
        }
    }

    /// Keeps the log lines up to `step` (a resumed run rewrites what came after its checkpoint).
    func truncateLog(after step: Int) throws {
        let kept = readLog().filter { ($0["step"] ?? 0) <= Double(step) }
        try writeAtomically(Data(kept.map(Self.jsonLine).joined().utf8), to: log)
    }

    static func jsonLine(_ record: [String: Double]) -> String {
        let keys = record.keys.sorted { a, b in
            let order = ["step", "epoch", "seconds"]
            return (order.firstIndex(of: a) ?? 99, a) < (order.firstIndex(of: b) ?? 99, b)
        }
        let fields = keys.map { key -> String in
            let v = record[key]!
            // Losses are Floats: their shortest exact form, so a log can be compared to the bit.
            let value =
                ["step", "epoch"].contains(key)
                ? String(Int(v))
                : !v.isFinite ? "null" : key == "seconds" ? String(format: "%.6g", v) : Float(v).description
            return "\"\(key)\": \(value)"
        }
        return "{" + fields.joined(separator: ", ") + "}\n"
    }
}
