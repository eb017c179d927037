import ArgumentParser
import Foundation
import GenerativeModels
import TensorEngine

/// `deepgen models [NAME]`: the catalogue, and what one model can do with an example of each.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models: what each is, the chapter's section, its default data; one model's abilities.")

    @Argument(help: "A model, to see what it can do and how.", completion: .list(ModelRegistry.entries.map(\.name)))
    var name: String?

    func run() throws {
        guard let name else {
            let rows =
                [["model", "section", "default data", "--preset quick", "--preset paper", "what it is"]]
                + ModelRegistry.entries.map { entry in
                    [
                        entry.name, entry.section.isEmpty ? "-" : entry.section, entry.defaults.defaultDataset,
                        entry.quick.time, entry.quick.paper, entry.summary
                    ]
                }
            let last = rows[0].count - 1
            let widths = (0..<last).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(
                    (0..<last).map { row[$0].padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }.joined()
                        + row[last])
            }
            return print(
                "\n--preset quick: minutes on one core (measured), for a first look; --preset paper: the papers' "
                    + "settings, the defaults.\n`deepgen models NAME` shows what a model can do and its presets; "
                    + "`deepgen train NAME --help` its options.")
        }
        let entry = try ModelRegistry.entry(name)
        print("\(entry.name): \(entry.summary)" + (entry.section.isEmpty ? "" : " (section \(entry.section))"))
        print("default data: \(entry.defaults.defaultDataset)")
        print(
            "--preset quick: \(entry.quick.arguments.joined(separator: " ")); \(entry.quick.time) on one core, "
                + entry.quick.result)
        if let ceiling = entry.quick.fidCeiling {
            print("--preset quick FID ceiling: \(String(format: "%g", ceiling)) (2,000 samples, judged by train classifier --preset quick)")
        }
        print("--preset paper (the defaults): \(entry.quick.paper)\n")
        for (ability, command) in try Self.abilities(of: entry) {
            print("  " + ability.padding(toLength: 34, withPad: " ", startingAt: 0) + command)
        }
    }

    /// What a fresh model of `entry` can do, from its capabilities, each with a command.
    static func abilities(of entry: ModelEntry) throws -> [(String, String)] {
        var generator = RandomGenerator(seed: 0)
        // 32 x 32 grey images: a shape every model takes.
        let model = try entry.defaults.makeModel(imageShape: [1, 32, 32], generator: &generator)
        let run = "runs/\(entry.name)"
        var abilities = [
            ("train (a first look)", "deepgen train \(entry.name) --preset quick --out \(run)"),
            ("train (the paper's settings)", "deepgen train \(entry.name) --out \(run)")
        ]
        if model.drawsSamples { abilities.append(("sample", "deepgen sample \(run)")) }
        if model is ConditionalSampling {
            abilities.append(("a class's samples (with --classes)", "deepgen sample \(run) --label 7"))
        }
        if model is SequentialSampling {
            abilities.append(("the naive sampler", "deepgen sample \(run) --sampler naive"))
        }
        if model is PriorSampling { abilities.append(("decode N(0, I)", "deepgen sample \(run) --prior standard")) }
        if model is LatentManifold { abilities.append(("the 2-D manifold", "deepgen sample \(run) --manifold")) }
        if model is GaussianDecoding {
            abilities.append(("sigma(z) (--likelihood gaussian)", "deepgen sample \(run) --deviation"))
        }
        if model is LatentInterpolation { abilities.append(("interpolate", "deepgen interpolate \(run) --animate")) }
        if model is Encoding { abilities.append(("plot the codes", "deepgen latent \(run)")) }
        if model is Translating {
            abilities.append(("translate your images", "deepgen translate \(run) sketch.png --out out.png"))
        }
        if model is StyleMixing {
            abilities.append(("style mixing", "deepgen sample \(run) --mixing-grid --layers coarse"))
            abilities.append(("project an image", "deepgen project \(run) digit.png --out projected"))
            abilities.append(("restyle", "deepgen stylize \(run) --content a.png --style b.png --out s.png"))
        }
        if model.drawsSamples { abilities.append(("explore it in the browser", "deepgen serve runs")) }
        for metric in Metric.available(for: model) {
            abilities.append(
                ("eval: \(metric.rawValue) (\(metric.unit))", "deepgen eval \(run) --metric \(metric.rawValue)"))
        }
        return abilities
    }
}
