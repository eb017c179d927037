import ArgumentParser
import Foundation
import TensorEngine

/// One model the command line knows by name: its options' type and defaults, the flags that set
/// them, and what it is. Built from types, so that every use below is typed.
public struct ModelEntry: @unchecked Sendable {
    public let name: String
    /// What the model is, in a line.
    public let summary: String
    /// Where the chapter describes it ("7.1.3"), empty for the tools around the models.
    public let section: String
    /// The options of a new run before any flag.
    public let defaults: any ModelOptions
    /// The key under which `config.json` held these options before format 2 (`vae`, `gan`, ...).
    let legacyKey: String
    /// `train --preset quick`: the flags of a first look, chosen by measurement on one core.
    public let quick: QuickPreset
    let apply: ([String], any ModelOptions) throws -> any ModelOptions
    let decode: (Decoder) throws -> any ModelOptions
    let help: () -> String

    /// `name` with `defaults`, set from the command line by `flags`.
    public init<Options: ModelOptions, Flags: OptionFlags>(
        _ name: String, _ defaults: Options, flags: Flags.Type, legacyKey: String,
        section: String = "", summary: String, quick: QuickPreset
    ) where Flags.Options == Options {
        self.name = name; self.defaults = defaults; self.summary = summary; self.section = section
        self.legacyKey = legacyKey; self.quick = quick
        apply = { arguments, base in
            var options = base as? Options ?? defaults
            let flags: Flags
            do { flags = try Flags.parse(arguments) } catch {
                throw ValidationError("\(name): \(Flags.message(for: error))")
            }
            try flags.apply(to: &options)
            return options
        }
        decode = { decoder in try Options(from: decoder) }
        help = { Flags.helpMessage(includeHidden: false, columns: nil) }
    }

    /// `options` with the flags in `arguments` applied (`--latent-dim 2` ...); an unknown flag
    /// or a bad value is a `ValidationError` naming the model.
    public func options(_ arguments: [String], over options: (any ModelOptions)? = nil) throws -> any ModelOptions {
        try apply(arguments, options ?? defaults)
    }

    /// The help of this model's own flags.
    public var flagsHelp: String { help() }
}

/// A model's `--preset quick`: the train command's flags it stands for, and what it took and
/// gave when measured on one core (`scripts/quick-presets`). `--preset paper` is no flags: the
/// papers' settings, each model's defaults.
public struct QuickPreset: Sendable {
    public let arguments: [String]
    /// Training time on one core, e.g. "1:50".
    public let time: String
    /// What it gave, e.g. "91% of samples read as digits".
    public let result: String
    /// What the paper preset's run needs, e.g. "1 epoch: ~40 min on one core".
    public let paper: String
    /// The FID (2,000 samples, judged by `train classifier --preset quick`) that a run of the
    /// preset stays below: the measured figure with room for another seed. Sampling models only.
    public let fidCeiling: Double?

    public init(_ arguments: String, time: String, result: String, paper: String, fidCeiling: Double? = nil) {
        self.arguments = arguments.split(separator: " ").map(String.init)
        (self.time, self.result, self.paper, self.fidCeiling) = (time, result, paper, fidCeiling)
    }
}

/// Every model of the command line, one line each: adding a model is its own file plus a line
/// here (after mlx-swift-examples' `LLMModelFactory`).
public enum ModelRegistry {
    public static let entries: [ModelEntry] = [
        ModelEntry(
            "pca", PCAModel.Options(), flags: PCAFlags.self, legacyKey: "pca",
            section: "7.1.1", summary: "principal component analysis, fitted in closed form",
            quick: QuickPreset(
                "--components 20", time: "0:05",
                result: "24% of samples read as digits (blurred superpositions)",
                paper: "closed form, 50 components: seconds")),
        ModelEntry(
            "ae", Autoencoder.Options(), flags: AutoencoderFlags.self, legacyKey: "autoencoder",
            section: "7.1.2", summary: "an autoencoder (MLP or convolutional), deterministic codes",
            quick: QuickPreset(
                "--steps 3000 --batch-size 64", time: "0:16",
                result: "84% of samples read as digits",
                paper: "1 epoch: ~6 s")),
        ModelEntry(
            "vae", VAE.Options(), flags: VAEFlags.self, legacyKey: "vae",
            section: "7.1.3", summary: "a variational autoencoder (Kingma & Welling 2014)",
            quick: QuickPreset(
                "--steps 10000 --batch-size 64", time: "0:36",
                result: "44% of samples read as digits (blurred)",
                paper: "1 epoch: ~3 s")),
        ModelEntry(
            "beta-vae", BetaVAE.Options(), flags: BetaVAEFlags.self, legacyKey: "beta-vae",
            section: "7.1.3", summary: "a VAE with a weight on its KL term (Higgins et al. 2017)",
            quick: QuickPreset(
                "--steps 10000 --batch-size 64", time: "0:37",
                result: "54% of samples read as digits (blurred)",
                paper: "1 epoch: ~4 s")),
        ModelEntry(
            "iwae", VAE.Options.iwae, flags: IWAEFlags.self, legacyKey: "vae",
            section: "7.1.3", summary: "an importance-weighted autoencoder (Burda et al. 2016)",
            quick: QuickPreset(
                "--k 5 --steps 10000 --batch-size 64", time: "1:32",
                result: "45% of samples read as digits (blurred)",
                paper: "1 epoch: ~8 s (k = 50)")),
        ModelEntry(
            "vade", VaDE.Options(), flags: VaDEFlags.self, legacyKey: "vade",
            section: "7.1.3", summary: "a VAE with a Gaussian-mixture prior that clusters (Jiang et al. 2017)",
            quick: QuickPreset(
                // Three EM runs (52 s): ten took 2:28 of a 3:13 run and gave the same fit.
                "--pretrain-epochs 2 --steps 1500 --batch-size 100 --prior-restarts 3", time: "1:37",
                result: "69% of samples read as digits; clusters 54%",
                paper: "200 pre-training epochs (~58 min), then ~18 s an epoch")),
        ModelEntry(
            "gan", GAN.Options.preset("gan"), flags: GANFlags.self, legacyKey: "gan",
            section: "7.2.1", summary: "Goodfellow et al.'s GAN of perceptrons",
            quick: QuickPreset(
                "--steps 6000 --batch-size 64 --generator-average 0.995", time: "2:01",
                result: "59% of samples read as digits (averaged G), FID 356 (median of 3 seeds)",
                paper: "1 epoch: ~16 s", fidCeiling: 400)),
        ModelEntry(
            "dcgan", GAN.Options.preset("dcgan"), flags: DCGANFlags.self, legacyKey: "gan",
            section: "7.2.2", summary: "a deep convolutional GAN (Radford et al. 2016)",
            quick: QuickPreset(
                "--features 32 --learning-rate 5e-4 --generator-average 0.99 --steps 3500 --batch-size 64", time: "2:14",
                result: "62% of samples read as digits (averaged G), FID 174 (median of 3 seeds)",
                paper: "1 epoch: ~2 min", fidCeiling: 240)),
        ModelEntry(
            "wgan", GAN.Options.preset("wgan"), flags: WGANFlags.self, legacyKey: "gan",
            section: "7.2.6", summary: "a Wasserstein GAN with weight clipping (Arjovsky et al. 2017)",
            quick: QuickPreset(
                "--features 32 --critic-steps 2 --learning-rate 5e-4 --generator-average 0.99 --steps 4500 --batch-size 64",
                time: "2:24",
                result: "45% of samples read as digits (averaged G), FID 331 (median of 3 seeds)",
                paper: "1 epoch: ~1.2 min", fidCeiling: 380)),
        ModelEntry(
            "wgan-gp", GAN.Options.preset("wgan-gp"), flags: WGANGPFlags.self, legacyKey: "gan",
            section: "7.2.6", summary: "a Wasserstein GAN with a gradient penalty (Gulrajani et al. 2017)",
            quick: QuickPreset(
                "--features 32 --critic-steps 2 --learning-rate 3e-4 --generator-average 0.99 --steps 3600 --batch-size 64",
                time: "2:33",
                result: "50% of samples read as digits (averaged G), FID 268 (median of 3 seeds)",
                paper: "1 epoch: ~1.8 min", fidCeiling: 320)),
        ModelEntry(
            "pix2pix", Pix2Pix.Options(), flags: Pix2PixFlags.self, legacyKey: "pix2pix",
            section: "7.2.3", summary: "image-to-image translation from pairs (Isola et al. 2017)",
            quick: QuickPreset(
                "--features 16 --steps 2500 --batch-size 16", time: "1:59",
                result: "96% of translations keep their label",
                paper: "1 epoch: ~5 min")),
        ModelEntry(
            "cyclegan", CycleGAN.Options(), flags: CycleGANFlags.self, legacyKey: "cyclegan",
            section: "7.2.4", summary: "translation between two unpaired domains (Zhu et al. 2017)",
            quick: QuickPreset(
                "--features 16 --residual-blocks 3 --steps 700 --batch-size 8", time: "2:11",
                result: "94.9% (A to B) and 96.6% (B to A) of translations keep their label",
                paper: "1 epoch (235 steps): ~46 min")),
        ModelEntry(
            "stylegan", StyleGAN.Options(), flags: StyleGANFlags.self, legacyKey: "stylegan",
            section: "7.2.5", summary: "a style-based generator (Karras et al. 2019, 2020)",
            // R1 at 10 (the paper's weight for FFHQ) keeps batches of 16 from collapsing, which at 1 they did
            // on both sides, ours and the PyTorch twin (recognisable 23%, FID 752).
            quick: QuickPreset(
                "--features 16 --steps 2000 --batch-size 16 --r1-gamma 10", time: "2:49",
                result: "23% read as digits (median of seven seeds), varied strokes; one seed in seven collapses",
                paper: "1 epoch: ~11 min")),
        ModelEntry(
            "pixelcnn", PixelModelOptions<PixelCNN>(), flags: SoftmaxPixelFlags<PixelCNN>.self, legacyKey: "pixelcnn",
            section: "7.3.2", summary: "masked convolutions (van den Oord et al. 2016)",
            quick: QuickPreset(
                "--features 32 --layers 4 --steps 2500 --batch-size 32", time: "2:47",
                result: "42% of samples read as digits",
                paper: "1 epoch: ~8 min")),
        ModelEntry(
            "gated-pixelcnn", PixelModelOptions<GatedPixelCNN>(), flags: GatedPixelCNNFlags.self, legacyKey: "pixelcnn",
            section: "7.3.3",
            summary: "gated vertical and horizontal stacks, class-conditional (van den Oord et al. 2016)",
            // The label maps make the difference: without them the same run reads 19%.
            quick: QuickPreset(
                "--classes 10 --label-maps 8 --features 24 --layers 3 --steps 850 --batch-size 32 --learning-rate 3e-3",
                time: "2:33", result: "85% of class rows read as their class",
                paper: "1 epoch: ~63 min")),
        ModelEntry(
            "row-lstm", PixelModelOptions<RowLSTM>(), flags: RowLSTMFlags.self, legacyKey: "pixelcnn",
            section: "7.3.1", summary: "PixelRNN's row-by-row LSTM (van den Oord et al. 2016)",
            quick: QuickPreset(
                "--features 32 --layers 2 --steps 1800 --batch-size 32", time: "2:13",
                result: "40% of samples read as digits",
                paper: "1 epoch: ~19 min")),
        ModelEntry(
            "diagonal-bilstm", PixelModelOptions<DiagonalBiLSTM>(), flags: SoftmaxPixelFlags<DiagonalBiLSTM>.self,
            legacyKey: "pixelcnn",
            section: "7.3.1", summary: "PixelRNN's diagonal bidirectional LSTM (van den Oord et al. 2016)",
            quick: QuickPreset(
                "--features 32 --layers 1 --steps 1000 --batch-size 32", time: "2:35",
                result: "40% of samples read as digits",
                paper: "1 epoch: ~79 min")),
        ModelEntry(
            "pixelcnn++", PixelModelOptions<PixelCNNPlusPlus>(), flags: PixelCNNPlusPlusFlags.self,
            legacyKey: "pixelcnn",
            section: "7.3.4",
            summary: "a discretised logistic mixture, shifted convolutions, two resolutions (Salimans et al. 2017)",
            quick: QuickPreset(
                "--features 24 --layers 1 --steps 400 --batch-size 16", time: "1:49",
                result: "25% of samples read as digits",
                paper: "1 epoch: ~8.5 h")),
        ModelEntry(
            "classifier", Classifier.Options(), flags: ClassifierFlags.self, legacyKey: "classifier",
            summary: "the MNIST classifier whose features define the FID (not generative)",
            quick: QuickPreset(
                "--epochs 1 --batch-size 64 --lr-schedule cosine --learning-rate 2e-3", time: "1:19",
                result: "98.69% test accuracy",
                paper: "1 epoch: ~1.4 min"))
    ]

    /// The model names, in the specification's order.
    public static var names: [String] { entries.map(\.name) }

    /// The entry of `name`, or an error that lists the models.
    public static func entry(_ name: String) throws -> ModelEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw TrainingError("unknown model '\(name)'; models: \(names.joined(separator: " "))")
        }
        return entry
    }
}
