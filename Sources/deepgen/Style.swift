import ArgumentParser
import Datasets
import Foundation
import GenerativeModels
import NeuralNetwork
import TensorEngine

/// What `project` and `stylize` share: the run, the image reader and the projection itself.
struct StyleOptions: ParsableArguments {
    @Argument(help: "A stylegan run directory.", completion: .directory) var runDir: String
    @Option(help: "Optimisation steps of each projection.") var steps = 300
    @Option(
        help: "A classifier run whose features join the pixel loss (deepgen train classifier); 'none' for pixels alone."
    ) var classifier = "runs/classifier"
    @Option(help: "Seed of the projection's noise.") var seed: UInt64 = 0

    func validate() throws {
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be between 1 and 100000") }
    }

    func load() throws -> StyleMixing {
        let (config, model) = try Catalog.load(RunDirectory(URL(fileURLWithPath: runDir)))
        guard let style = model as? StyleMixing else {
            throw TrainingError("\(runDir) holds \(config.model), which has no styles (stylegan)")
        }
        return style
    }

    /// A PNG fitted to the model's size: [1, C, H, W] in [0, 1]; or a folder's PNGs in name order.
    func read(_ path: String, for model: StyleMixing) throws -> Tensor {
        let (c, size) = (model.imageShape[0], model.imageShape[1])
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        let files =
            FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
            ? try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
                .filter { ImageFile.extensions.contains($0.pathExtension.lowercased()) }.sorted {
                    $0.lastPathComponent < $1.lastPathComponent
                }
            : [url]
        guard !files.isEmpty else { throw ValidationError("\(path) holds no PNG or JPEG files") }
        return Tensor.concatenate(
            try files.map { try ImageFile.read($0).fitted(to: size).tensor(channels: c).reshaped([1, c, size, size]) },
            axis: 0)
    }

    /// The classifier's features of the central crop it reads, if a classifier is given.
    func features(for model: StyleMixing) throws -> ((Tensor) -> Tensor)? {
        guard classifier != "none" else { return nil }
        let network = try Catalog.classifier(at: classifier, for: model.imageShape).network
        return { network.features(centreCrop($0, to: network.imageShape)) }
    }

    func project(_ image: Tensor, with model: StyleMixing, label: String) throws -> Projection {
        var generator = RandomGenerator(seed: seed)
        let progress = Progress(total: steps, label: label)
        let result = model.project(
            image, steps: steps, learningRate: 0.1, features: try features(for: model), generator: &generator
        ) { step, loss in
            progress.update(step, figures: [("loss", Double(loss))])
        }
        progress.finish()
        return result
    }
}

/// `deepgen project RUN_DIR IMAGE.png --out DIR`: the image found in the generator's W+.
struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Project an image into a stylegan run's W+: writes the reconstruction and the latent (styles and noise maps, safetensors)."
    )

    @OptionGroup var common: StyleOptions
    @Argument(help: "The PNG image to project.") var image: String
    @Option(help: "The folder for reconstruction.png and latent.safetensors.") var out: String

    func run() throws {
        let model = try common.load()
        let target = try common.read(image, for: model)
        let projection = try common.project(target, with: model, label: "project")
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try PNG.write(
            Image(tensor: projection.image.squeezed(0)), to: folder.appendingPathComponent("reconstruction.png"))
        try SafeTensors.write(
            [("styles", projection.styles)] + projection.noise.enumerated().map { ("noise.\($0.offset)", $0.element) },
            metadata: ["run": common.runDir, "image": image], to: folder.appendingPathComponent("latent.safetensors"))
        let mse = Double((projection.image - target).squared().mean().scalar)
        print(
            "\(folder.path): reconstruction PSNR "
                + "\(String(format: "%.2f", mse == 0 ? 100 : 10 * Foundation.log10(1 / mse))) dB"
        )
    }
}

/// `deepgen stylize RUN_DIR --content A.png --style B.png --layers L --out OUT.png`: A's
/// projection with B's styles at the coarse, middle or fine layers. Folders of PNGs give the
/// grid of every content (down the side) under every style (along the top).
struct Stylize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Change the style of an image: both images are projected, and the content's styles at the chosen layers are replaced by the style image's. Writes content | style | result, or for folders a grid with the styles along the top and the contents down the side."
    )

    @OptionGroup var common: StyleOptions
    @Option(help: "The image whose content is kept, or a folder of them.") var content: String
    @Option(help: "The image whose style is taken, or a folder of them.") var style: String
    @Option(help: "coarse (shape), middle or fine (stroke) layers.") var layers = StyleLayers.coarse
    @Option(help: "The PNG to write.") var out: String

    func run() throws {
        let model = try common.load()
        let range = model.layers(layers)
        let a = try common.read(content, for: model), b = try common.read(style, for: model)
        let contents = try common.project(a, with: model, label: "content")
        let styles = try common.project(b, with: model, label: "style")
        let (rows, columns) = (a.shape[0], b.shape[0])
        let picture: Image
        if rows == 1 && columns == 1 {
            picture = Image.grid(
                Tensor.concatenate([a, b, model.stylize(contents, with: styles.styles, layers: range)], axis: 0),
                columns: 3)
        } else {
            let corner = Tensor.ones([1] + model.imageShape)
            let cells =
                [corner, b]
                + (0..<rows).flatMap { i in
                    [
                        a.sliced(axis: 0, i..<i + 1),
                        model.stylize(contents.repeating(i, count: columns), with: styles.styles, layers: range)
                    ]
                }
            picture = Image.grid(Tensor.concatenate(cells, axis: 0), columns: columns + 1)
        }
        try PNG.write(picture, to: URL(fileURLWithPath: out))
        print(out)
    }
}
