import Datasets
import Foundation
import GenerativeModels
import TensorEngine
import TestSupport
import XCTest

/// The command line as users and scripts meet it: exit codes, one-line errors, `--json`.
final class CommandLineTests: TemporaryDirectoryTestCase {

    func deepgen(_ arguments: String...) throws -> (status: Int32, out: String, err: String) { try deepgen(arguments) }

    /// Runs the deepgen built beside this test bundle in the test's folder.
    func deepgen(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let result = try Invocation.run(arguments, in: root)
        return (result.status, result.out, result.err)
    }

    func assertFails(_ result: (status: Int32, out: String, err: String), saying text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, "exit status", file: file, line: line)
        let errorLines = result.err.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errorLines.count, 1, "one error line in: \(result.err)", file: file, line: line)
        XCTAssert(errorLines.first?.contains(text) ?? false, "\(result.err) does not say \(text)", file: file, line: line)
    }

    func testEveryCommandHasHelp() throws {
        for command in ["train", "sample", "eval", "interpolate", "latent", "bench", "data"] {
            let result = try deepgen(command, "--help")
            XCTAssertEqual(result.status, 0, command)
            XCTAssert(result.out.contains("USAGE") || result.out.contains("Usage"), command)
        }
    }

    /// `deepgen curves`: each run's snapshots in order of minutes, the latest measurement of each;
    /// a PNG with the curves; errors that say what to run when snapshots or measurements are missing.
    func testCurvesOfMeasuredSnapshots() throws {
        func snapshot(_ run: String, _ name: String, _ lines: [String]) throws {
            let folder = root.appendingPathComponent(run).appendingPathComponent("snapshots").appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try (lines.joined(separator: "\n") + "\n").write(
                to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        }
        let fid = { (v: Double) in "{\"metric\": \"fid\", \"value\": \(v)}" }
        try snapshot("a", "010.00min", [fid(40), "{\"metric\": \"recognisable\", \"value\": 80}", fid(30)])
        try snapshot("a", "005.00min", [fid(50)])
        try snapshot("a", "002.50min", [fid(90)])
        try snapshot("b", "005.00min", [fid(70)])
        let result = try deepgen("curves", "a", "b", "--json", "--out", "c.png")
        XCTAssertEqual(result.status, 0, result.err)
        struct Output: Decodable { let metric: String, png: String, runs: [String: [MetricCurve.Point]] }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.out.utf8))
        let point = { (minutes: Double, value: Double) in MetricCurve.Point(minutes: minutes, value: value) }
        XCTAssertEqual(output.runs["a"], [point(2.5, 90), point(5, 50), point(10, 30)])
        XCTAssertEqual(output.runs["b"], [point(5, 70)])
        let image = try PNG.read(root.appendingPathComponent("c.png"))
        XCTAssertGreaterThan(image.width * image.height, 0)
        try snapshot("a", "015.00min", ["{\"metric\": \"recognisable\", \"value\": 85}"])
        let missing = try deepgen("curves", "a")
        assertFails(missing, saying: "1 of the 4 snapshots of")
        XCTAssert(missing.err.contains("deepgen eval \(root.appendingPathComponent("a/snapshots/015.00min").path) --metric fid"), missing.err)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("plain"), withIntermediateDirectories: true)
        assertFails(try deepgen("curves", "plain"), saying: "--snapshot-minutes")
        // A metric the model cannot give: said, rather than eval commands that would fail.
        let gan = root.appendingPathComponent("gan").path
        let trained = try deepgen(
            "train", "gan", "--dataset", "shapes", "--image-size", "8", "--steps", "3", "--snapshot-minutes", "60", "--out", gan)
        XCTAssertEqual(trained.status, 0, trained.err)
        assertFails(try deepgen("curves", gan, "--metric", "nll"), saying: "nll is not a metric of gan; it gives")
        let unmeasured = try deepgen("curves", gan, "--metric", "fid")
        assertFails(unmeasured, saying: "1 of the 1 snapshots of")
        XCTAssert(unmeasured.err.contains("deepgen eval \(gan)/snapshots/"), unmeasured.err)
    }

    func testUnknownModelAndDataSet() throws {
        assertFails(try deepgen("train", "vea"), saying: "unknown model 'vea'")
        assertFails(try deepgen("train", "vae", "--dataset", "fashion"), saying: "unknown data set 'fashion'")
        assertFails(try deepgen("eval", root.path, "--metric", "lpips"), saying: "The value 'lpips' is invalid for '--metric <metric>'")
    }

    func testMissingAndCorruptData() throws {
        assertFails(try deepgen("train", "vae", "--dataset", "mnist", "--data-dir", "nowhere"), saying: "deepgen data fetch mnist --data-dir")
        let bad = root.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try Data([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]).write(to: bad.appendingPathComponent("train-images-idx3-ubyte"))
        try Data([0, 0, 8, 1, 0, 0, 0, 9] + [UInt8](repeating: 1, count: 9)).write(to: bad.appendingPathComponent("train-labels-idx1-ubyte"))
        assertFails(try deepgen("train", "vae", "--dataset", "mnist", "--data-dir", bad.path), saying: "truncated")
        let pngs = root.appendingPathComponent("pngs")
        try FileManager.default.createDirectory(at: pngs, withIntermediateDirectories: true)
        try Data("not a png".utf8).write(to: pngs.appendingPathComponent("a.png"))
        assertFails(try deepgen("train", "vae", "--dataset", pngs.path), saying: "not a PNG")
    }

    /// A folder of fewer images than a batch trains in smaller batches, with a note; a file that
    /// cannot be written is one line, not Foundation's error dump.
    func testSmallFoldersAndUnwritableFiles() throws {
        let folder = root.appendingPathComponent("twenty")
        for i in 0..<20 {
            try PNG.write(Image(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8(($0 * 5 + i * 11) % 256) }), to: folder.appendingPathComponent("\(i).png"))
        }
        let run = root.appendingPathComponent("small").path
        let trained = try deepgen("train", "vae", "--dataset", folder.path, "--steps", "2", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        XCTAssert(trained.err.contains("twenty holds 20 examples, fewer than a batch of 128; batches of 20 instead"), trained.err)
        let blocked = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocked)
        assertFails(try deepgen("sample", run, "--out", blocked.appendingPathComponent("s.png").path), saying: "a-file")
        let sampled = try deepgen("sample", run, "--out", blocked.appendingPathComponent("s.png").path)
        XCTAssertFalse(sampled.err.contains("Domain="), sampled.err)
    }

    /// Every caller of the FID prints the floor at its count, and an identical set scores 0: a
    /// labelled folder whose train and test splits hold the same images (so the classifier's own
    /// run, the unconditional caller, scores 0 and so does every floor), a Pix2Pix run measured
    /// against that classifier, and a CycleGAN whose domains' splits are identical.
    func testEveryFIDCallerScoresIdenticalSetsAtZero() throws {
        func square(_ i: Int, bright: Bool) -> Image {
            Image(width: 16, height: 16, channels: 1, pixels: (0..<256).map { p in
                let (r, c) = (p / 16, p % 16)
                return bright ? (r >= 2 + i && r < 8 + i && c >= 3 && c < 10 ? 255 : 0) : (r == 3 + i || c == 5 + i ? 200 : 10)
            })
        }
        let digits = root.appendingPathComponent("digits"), pairs = root.appendingPathComponent("pairs"), domains = root.appendingPathComponent("domains")
        // Eight images in every set, so that each floor (taken at the count measured) is a whole split.
        for split in ["train", "test"] {
            for i in 0..<8 {
                try PNG.write(square(i / 2, bright: i % 2 == 0), to: digits.appendingPathComponent("\(split)/\(i % 2)/\(i).png"))
                try PNG.write(square(i, bright: false), to: pairs.appendingPathComponent("\(split)/A/\(i).png"))
                try PNG.write(square(i, bright: true), to: pairs.appendingPathComponent("\(split)/B/\(i).png"))
                try PNG.write(square(i, bright: false), to: domains.appendingPathComponent("\(split)A/\(i).png"))
                try PNG.write(square(i, bright: true), to: domains.appendingPathComponent("\(split)B/\(i).png"))
            }
        }
        let classifier = root.appendingPathComponent("c").path
        func trained(_ arguments: String...) throws {
            let result = try deepgen(["train"] + arguments + ["--steps", "2", "--batch-size", "4"])
            XCTAssertEqual(result.status, 0, result.err)
        }
        try trained("classifier", "--dataset", digits.path, "--out", classifier)
        try trained("pix2pix", "--dataset", pairs.path, "--features", "4", "--out", root.appendingPathComponent("p").path)
        try trained("cyclegan", "--dataset", domains.path, "--features", "4", "--residual-blocks", "1", "--out", root.appendingPathComponent("y").path)
        func figures(_ run: String) throws -> [String: Any] {
            let eval = try deepgen("eval", root.appendingPathComponent(run).path, "--metric", "fid", "--classifier", classifier, "--count", "8", "--json")
            XCTAssertEqual(eval.status, 0, eval.err)
            return try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as? [String: Any] ?? [:]
        }
        let own = try figures("c"), translated = try figures("p"), cycled = try figures("y")
        for (what, value) in [("the classifier's own run", own["value"]), ("its floor", own["real_floor"]), ("pix2pix's floor", translated["real_floor"]),
                              ("cyclegan's floor a to b", cycled["real_floor_a_to_b"]), ("cyclegan's floor b to a", cycled["real_floor_b_to_a"])] {
            XCTAssertEqual(try XCTUnwrap(value as? Double, what), 0, accuracy: 1e-3, what)
        }
        XCTAssertGreaterThan(try XCTUnwrap(translated["value"] as? Double), 1e-3, "an untrained pix2pix is not its targets")
    }

    /// The chapter's reason for the VAE in one picture: an autoencoder's decodings of N(0, I)
    /// beside a VAE's samples of the same latent width, each under its name.
    func testAutoencoderFromTheStandardPriorBesideAVAE() throws {
        for model in ["ae", "vae"] {
            let trained = try deepgen("train", model, "--dataset", "shapes", "--image-size", "12", "--latent-dim", "2", "--hidden", "16",
                                      "--steps", "2", "--batch-size", "8", "--out", root.appendingPathComponent(model).path)
            XCTAssertEqual(trained.status, 0, trained.err)
        }
        let figure = root.appendingPathComponent("ae-vs-vae.png")
        let drawn = try deepgen("sample", root.appendingPathComponent("ae").path, "--prior", "standard", "--count", "4",
                                "--beside", root.appendingPathComponent("vae").path, "--out", figure.path)
        XCTAssertEqual(drawn.status, 0, drawn.err)
        let image = try PNG.read(figure)
        let grid = 2 * 12 + 3 * 2   // two columns of 12-pixel samples
        // Two grids under a band of titles, magnified 4 times so that "ae from n(0, i)" fits over 30 pixels.
        XCTAssertEqual([image.width, image.height], [4 * (2 * grid + 3 * 6), 16 + 4 * (grid + 2 * 6)])
        assertFails(try deepgen("sample", root.appendingPathComponent("vae").path, "--prior", "standard"), saying: "--prior is for an autoencoder")
    }

    /// A folder whose name holds a quote and a backslash still gives one valid JSON object.
    func testJSONOutputEscapesNames() throws {
        let folder = root.appendingPathComponent("we\"ird\\digits")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<20 {
            try PNG.write(Image(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8(($0 * 7 + i * 13) % 256) }), to: folder.appendingPathComponent("\(i).png"))
        }
        let run = root.appendingPathComponent("odd").path
        let trained = try deepgen("train", "vae", "--dataset", folder.path, "--steps", "2", "--batch-size", "4", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        let eval = try deepgen("eval", run, "--metric", "elbo", "--limit", "4", "--split", "train", "--json")
        XCTAssertEqual(eval.status, 0, eval.err)
        let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as? [String: Any]
        XCTAssertEqual(object?["dataset"] as? String, folder.path)
    }

    func testRunDirectoriesAreChecked() throws {
        let run = root.appendingPathComponent("run").path
        let trained = try deepgen("train", "vae", "--dataset", "shapes", "--steps", "3", "--batch-size", "16", "--image-size", "12", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        for file in ["config.json", "model.safetensors", "log.jsonl", "samples.png", "loss.png"] {
            XCTAssert(FileManager.default.fileExists(atPath: "\(run)/\(file)"), file)
        }
        assertFails(try deepgen("train", "iwae", "--resume", "--out", run), saying: "holds a vae run, not iwae")
        assertFails(try deepgen("train", "vae", "--resume", "--out", run, "--image-size", "16"), saying: "expects [1, 12, 12]")
        assertFails(try deepgen("sample", root.path), saying: "not a run directory")
        let resumed = try deepgen("train", "vae", "--resume", "--out", run, "--image-size", "12", "--steps", "5")
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssert(resumed.err.contains("resuming"), resumed.err)

        let eval = try deepgen("eval", run, "--metric", "nll", "--k", "10", "--limit", "20", "--json")
        XCTAssertEqual(eval.status, 0, eval.err)
        let lines = eval.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "exactly one line on stdout: \(eval.out)")
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(object["model"] as? String, "vae")
        XCTAssertEqual(object["metric"] as? String, "nll")
        XCTAssertEqual(object["unit"] as? String, "nats")
        XCTAssertEqual(object["count"] as? Int, 20)
        XCTAssertEqual(object["k"] as? Int, 10)
        XCTAssertNotNil(object["value"] as? Double)

        let sample = try deepgen("sample", run, "--count", "4", "--out", root.appendingPathComponent("s.png").path)
        XCTAssertEqual(sample.status, 0, sample.err)
    }

    /// VaDE end to end on the shapes: pre-training, the prior's fit, clustering accuracy as JSON;
    /// the latent scatter plot; the principal angles refuse a non-linear autoencoder.
    func testVaDEClustersAndLatentPlots() throws {
        let run = root.appendingPathComponent("vade").path
        let trained = try deepgen("train", "vade", "--dataset", "shapes", "--epochs", "2", "--pretrain-epochs", "1", "--hidden", "32",
                                  "--clusters", "4", "--batch-size", "100", "--image-size", "12", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        let eval = try deepgen("eval", run, "--metric", "accuracy", "--json")
        XCTAssertEqual(eval.status, 0, eval.err)
        let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
        XCTAssertEqual(object["unit"] as? String, "percent")
        let accuracy = try XCTUnwrap(object["value"] as? Double)
        XCTAssert(accuracy >= 25 && accuracy <= 100, "\(accuracy)")   // at least the largest class's share

        let latent = try deepgen("latent", run, "--out", root.appendingPathComponent("latent.png").path)
        XCTAssertEqual(latent.status, 0, latent.err)
        XCTAssert(latent.out.contains("principal components of the 10-D codes"), latent.out)
        XCTAssertEqual(Array(try Data(contentsOf: root.appendingPathComponent("latent.png")).prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        assertFails(try deepgen("latent", run, "--angles-to", run), saying: "needs a linear autoencoder")
        assertFails(try deepgen("eval", run, "--metric", "nll"), saying: "nll is not a metric of vade")
    }

    /// The FID contract: a classifier run, a GAN run, one JSON object with the classifier's
    /// accuracy and the class shares beside the value; the classifier's own run is the baseline.
    func testFIDOfAGANAndTheRealBaseline() throws {
        let classifier = root.appendingPathComponent("classifier").path, gan = root.appendingPathComponent("gan").path
        for (model, out) in [("classifier", classifier), ("dcgan", gan)] {
            let trained = try deepgen("train", model, "--dataset", "shapes", "--steps", "20", "--batch-size", "32", "--image-size", "12", "--out", out)
            XCTAssertEqual(trained.status, 0, trained.err)
        }
        var values: [Double] = []
        for run in [gan, classifier] {
            let eval = try deepgen("eval", run, "--metric", "fid", "--classifier", classifier, "--count", "300", "--json")
            XCTAssertEqual(eval.status, 0, eval.err)
            let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
            XCTAssertEqual(object["metric"] as? String, "fid")
            XCTAssertEqual(object["count"] as? Int, 300)
            XCTAssertEqual((object["class_shares"] as? [Double])?.count, 4, "the classifier of shapes has its 4 classes")
            XCTAssertNotNil(object["classifier_accuracy"] as? Double)
            values.append(try XCTUnwrap(object["value"] as? Double))
            // Every FID comes with the floor at its count: real training images, which the
            // classifier's own run is.
            let floor = try XCTUnwrap(object["real_floor"] as? Double)
            if run == classifier { XCTAssertEqual(floor, values.last!, accuracy: 1e-4) } else { XCTAssertLessThan(floor, values.last!) }
        }
        XCTAssertLessThan(values[1], values[0], "real images (\(values[1])) nearer the test set than an untrained GAN's (\(values[0]))")
        assertFails(try deepgen("eval", gan, "--metric", "fid", "--classifier", gan), saying: "not a classifier")
        assertFails(try deepgen("sample", classifier), saying: "draws no samples")
        let interpolation = try deepgen("interpolate", gan, "--pairs", "2", "--steps", "4", "--out", root.appendingPathComponent("i.png").path)
        XCTAssertEqual(interpolation.status, 0, interpolation.err)
    }

    /// The autoregressive models through the command line: an exact NLL and its bits per
    /// dimension, one grid row per class, a class asked for, and one that does not exist.
    func testPixelModelsEvaluateAndSampleByClass() throws {
        let gated = root.appendingPathComponent("gated").path, pixelcnn = root.appendingPathComponent("pixelcnn").path
        var trained = try deepgen("train", "gated-pixelcnn", "--dataset", "shapes", "--image-size", "8", "--classes", "4", "--features", "8",
                                  "--layers", "1", "--steps", "5", "--batch-size", "16", "--sample-every", "5", "--out", gated)
        XCTAssertEqual(trained.status, 0, trained.err)
        trained = try deepgen("train", "pixelcnn", "--dataset", "shapes", "--image-size", "8", "--likelihood", "categorical", "--features", "8",
                              "--layers", "1", "--steps", "3", "--batch-size", "16", "--sample-every", "3", "--out", pixelcnn)
        XCTAssertEqual(trained.status, 0, trained.err)
        var figures: [String: Double] = [:]
        for (run, metric) in [(gated, "nll"), (gated, "bpd"), (pixelcnn, "bpd")] {
            let eval = try deepgen("eval", run, "--metric", metric, "--limit", "50", "--json")
            XCTAssertEqual(eval.status, 0, eval.err)
            let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
            XCTAssertEqual(object["k"] as? Int, 1, "an exact likelihood")
            figures[run + metric] = try XCTUnwrap(object["value"] as? Double)
        }
        XCTAssertEqual(figures[gated + "bpd"]!, figures[gated + "nll"]! / (64 * Foundation.log(2)), accuracy: 1e-3)
        XCTAssertLessThan(figures[pixelcnn + "bpd"]!, 8.5, "near 8 bits for a barely trained 256-way softmax")
        let sample = try deepgen("sample", gated, "--count", "8", "--label", "2", "--out", root.appendingPathComponent("two.png").path)
        XCTAssertEqual(sample.status, 0, sample.err)
        let rows = try deepgen("sample", gated, "--count", "8", "--out", root.appendingPathComponent("rows.png").path)
        XCTAssertEqual(rows.status, 0, rows.err)
        let grid = try PNG.read(root.appendingPathComponent("rows.png"))
        XCTAssertEqual(grid.height, 4 * (4 * 8 + 5 * 2), "four rows of 8-pixel images with 2-pixel borders, magnified 4 times beside the class labels")
        assertFails(try deepgen("sample", gated, "--label", "7"), saying: "not a class")
        assertFails(try deepgen("sample", pixelcnn, "--label", "1"), saying: "class-conditional")
        // The classifier's reading of samples drawn for each class in turn.
        let classifier = root.appendingPathComponent("classifier").path
        trained = try deepgen("train", "classifier", "--dataset", "shapes", "--image-size", "8", "--steps", "3", "--batch-size", "16", "--out", classifier)
        XCTAssertEqual(trained.status, 0, trained.err)
        let labels = try deepgen("eval", gated, "--metric", "labels", "--classifier", classifier, "--count", "8", "--batch-size", "3", "--json")
        XCTAssertEqual(labels.status, 0, labels.err)
        let object = try JSONSerialization.jsonObject(with: Data(labels.out.utf8)) as! [String: Any]
        let perClass = try XCTUnwrap(object["per_class"] as? [Double])
        XCTAssertEqual(perClass.count, 4)
        XCTAssertEqual(try XCTUnwrap(object["value"] as? Double), perClass.reduce(0, +) / 4, accuracy: 1e-2, "two samples of each class")
        assertFails(try deepgen("eval", pixelcnn, "--metric", "labels", "--classifier", classifier), saying: "but of class-conditional models")
        // The share of samples read as some class with confidence: a percentage of whole samples.
        let recognisable = try deepgen("eval", pixelcnn, "--metric", "recognisable", "--classifier", classifier, "--count", "8", "--json")
        XCTAssertEqual(recognisable.status, 0, recognisable.err)
        let read = try JSONSerialization.jsonObject(with: Data(recognisable.out.utf8)) as! [String: Any]
        let byClass = try XCTUnwrap(read["by_class"] as? [Double])
        XCTAssertEqual(byClass.count, 4)
        XCTAssertEqual(try XCTUnwrap(read["value"] as? Double), 100 * byClass.reduce(0, +) / 8, accuracy: 1e-9)
        assertFails(try deepgen("eval", classifier, "--metric", "recognisable", "--classifier", classifier), saying: "models that sample images")
    }

    /// Pix2Pix from a paired folder (A/ and B/): held-out L1, PSNR and SSIM as JSON, a sample
    /// grid of input | output | target, and the user's own images translated, one or a folder.
    func testPix2PixFromAPairedFolder() throws {
        let data = root.appendingPathComponent("pairs"), run = root.appendingPathComponent("p2p").path
        for split in ["train", "test"] {
            for side in ["A", "B"] {
                let folder = data.appendingPathComponent(split).appendingPathComponent(side)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<6 {
                    let pixels = (0..<(16 * 16)).map { p -> UInt8 in
                        let inside = p / 16 >= 3 + i && p / 16 < 9 + i && p % 16 >= 4 && p % 16 < 11
                        return side == "A" ? (inside ? 120 : 0) : (inside ? 255 : 30)
                    }
                    try PNG.write(Image(width: 16, height: 16, channels: 1, pixels: pixels), to: folder.appendingPathComponent("\(i).png"))
                }
            }
        }
        let trained = try deepgen("train", "pix2pix", "--dataset", data.path, "--image-size", "16", "--features", "4", "--steps", "4",
                                  "--batch-size", "3", "--sample-every", "4", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        for metric in ["l1", "psnr", "ssim"] {
            let eval = try deepgen("eval", run, "--metric", metric, "--json")
            XCTAssertEqual(eval.status, 0, eval.err)
            let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
            XCTAssertEqual(object["count"] as? Int, 6)
            XCTAssertNotNil(object["value"] as? Double)
        }
        let grid = root.appendingPathComponent("grid.png")
        XCTAssertEqual(try deepgen("sample", run, "--count", "4", "--out", grid.path).status, 0)
        XCTAssertEqual(try PNG.read(grid).width, 3 * (6 * 16 + 7 * 2), "two triplets per row, magnified 3 times under their headings")
        let one = root.appendingPathComponent("one.png"), many = root.appendingPathComponent("many")
        XCTAssertEqual(try deepgen("translate", run, data.appendingPathComponent("test/A/2.png").path, "--out", one.path).status, 0)
        XCTAssertEqual(try PNG.read(one).width, 16)
        XCTAssertEqual(try deepgen("translate", run, data.appendingPathComponent("test/A").path, "--out", many.path).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: many.path).count, 6)
        assertFails(try deepgen("train", "pix2pix", "--dataset", "shapes", "--steps", "1", "--image-size", "16"), saying: "pairs")
        // Colour: the drawn RGB pairs.
        let colour = root.appendingPathComponent("colour").path
        XCTAssertEqual(try deepgen("train", "pix2pix", "--dataset", "shapes2fill", "--image-size", "16", "--features", "4", "--steps", "2",
                                   "--batch-size", "4", "--normalization", "instance", "--out", colour).status, 0)
        let ssim = try deepgen("eval", colour, "--metric", "ssim", "--limit", "20", "--json")
        XCTAssertEqual(ssim.status, 0, ssim.err)
        XCTAssertTrue(ssim.out.contains("\"dataset\": \"shapes2fill\""))
        // The same drawn RGB pairs through the folder route: written as A/ and B/ colour PNGs
        // (interleaved RGB from the planes), trained on and evaluated from the folder.
        var rng = RandomGenerator(seed: 0)
        let shapes = FilledShapes(count: 6, size: 16, seed: 2).batch(Array(0..<6), generator: &rng), rgb = root.appendingPathComponent("rgbpairs")
        for split in ["train", "test"] {
            for (side, set) in [("A", shapes.images.scalars), ("B", shapes.targets!.scalars)] {
                let folder = rgb.appendingPathComponent(split).appendingPathComponent(side)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for i in 0..<6 {
                    let pixels = (0..<(3 * 256)).map { k in UInt8((set[i * 768 + (k % 3) * 256 + k / 3] * 255).rounded()) }
                    try PNG.write(Image(width: 16, height: 16, channels: 3, pixels: pixels), to: folder.appendingPathComponent("\(i).png"))
                }
            }
        }
        let fromFolder = root.appendingPathComponent("rgbrun").path
        let rgbTrained = try deepgen("train", "pix2pix", "--dataset", rgb.path, "--channels", "3", "--image-size", "16", "--features", "4",
                                     "--steps", "2", "--batch-size", "3", "--out", fromFolder)
        XCTAssertEqual(rgbTrained.status, 0, rgbTrained.err)
        let rgbSSIM = try deepgen("eval", fromFolder, "--metric", "ssim", "--json")
        XCTAssertEqual(rgbSSIM.status, 0, rgbSSIM.err)
        XCTAssertTrue(rgbSSIM.out.contains("\"count\": 6"), rgbSSIM.out)
        XCTAssertEqual(try PNG.read(rgb.appendingPathComponent("test/B/0.png")).channels, 3)
        assertFails(try deepgen("eval", run, "--metric", "nll"), saying: "not a metric of pix2pix")
    }

    /// CycleGAN from folders in its layout (trainA/, trainB/, testA/, testB/): the cycle L1 of both
    /// directions as JSON, the a | G(a) | F(G(a)) grid, and translation both ways.
    func testCycleGANFromUnpairedFolders() throws {
        let data = root.appendingPathComponent("domains"), run = root.appendingPathComponent("cycle").path
        for folder in ["trainA", "trainB", "testA", "testB"] {
            let url = data.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for i in 0..<(folder.hasSuffix("A") ? 5 : 4) {
                let pixels = (0..<(16 * 16)).map { p -> UInt8 in
                    let (r, c) = (p / 16, p % 16)
                    return folder.hasSuffix("A") ? (r == 4 + i ? 255 : 0) : (c == 3 + i || c == 4 + i ? 255 : 0)
                }
                try PNG.write(Image(width: 16, height: 16, channels: 1, pixels: pixels), to: url.appendingPathComponent("\(i).png"))
            }
        }
        let trained = try deepgen("train", "cyclegan", "--dataset", data.path, "--image-size", "16", "--features", "4", "--residual-blocks", "1",
                                  "--steps", "3", "--batch-size", "2", "--lr-schedule", "linear-decay", "--sample-every", "3", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        let eval = try deepgen("eval", run, "--metric", "cycle", "--json")
        XCTAssertEqual(eval.status, 0, eval.err)
        let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
        XCTAssertEqual(object["count"] as? Int, 9, "five test images of A and four of B")
        let (ab, ba) = (try XCTUnwrap(object["a_to_b"] as? Double), try XCTUnwrap(object["b_to_a"] as? Double))
        XCTAssertEqual(try XCTUnwrap(object["value"] as? Double), (ab + ba) / 2, accuracy: 1e-4)
        XCTAssertEqual(try deepgen("sample", run, "--count", "2", "--out", root.appendingPathComponent("g.png").path).status, 0)
        let back = root.appendingPathComponent("back.png")
        XCTAssertEqual(try deepgen("translate", run, data.appendingPathComponent("testB/1.png").path, "--direction", "BtoA", "--out", back.path).status, 0)
        XCTAssertEqual(try PNG.read(back).height, 16)
        assertFails(try deepgen("eval", run, "--metric", "ssim"), saying: "not a metric of cyclegan")
    }

    /// StyleGAN through the command line: a few steps on drawn shapes at 16 px, samples with
    /// truncation, the mixing grid, a projection (image and latent) and a stylized image.
    func testStyleGANSampleProjectAndStylize() throws {
        let run = root.appendingPathComponent("style").path
        let trained = try deepgen("train", "stylegan", "--dataset", "shapes", "--image-size", "16", "--features", "8", "--latent-dim", "8",
                                  "--steps", "2", "--batch-size", "4", "--sample-every", "2", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        XCTAssertEqual(try deepgen("sample", run, "--count", "4", "--truncation", "0.5", "--out", root.appendingPathComponent("t.png").path).status, 0)
        let grid = root.appendingPathComponent("mix.png")
        XCTAssertEqual(try deepgen("sample", run, "--mixing-grid", "--layers", "fine", "--out", grid.path).status, 0)
        XCTAssertEqual(try PNG.read(grid).width, 6 * 16 + 7 * 2)
        let image = root.appendingPathComponent("digit.png")
        try PNG.write(Image(width: 16, height: 16, channels: 1, pixels: (0..<256).map { $0 % 16 > 5 && $0 % 16 < 10 ? 255 : 0 }), to: image)
        let projected = try deepgen("project", run, image.path, "--steps", "5", "--classifier", "none", "--out", root.appendingPathComponent("p").path)
        XCTAssertEqual(projected.status, 0, projected.err)
        XCTAssertTrue(projected.out.contains("PSNR"))
        let latent = try SafeTensorsProbe.names(root.appendingPathComponent("p/latent.safetensors"))
        XCTAssertTrue(latent.contains("styles") && latent.contains("noise.0"))
        let styled = try deepgen("stylize", run, "--content", image.path, "--style", image.path, "--layers", "middle", "--steps", "3",
                                 "--classifier", "none", "--out", root.appendingPathComponent("s.png").path)
        XCTAssertEqual(styled.status, 0, styled.err)
        let folder = root.appendingPathComponent("held-out").path
        let exported = try deepgen("data", "export", "shapes", "--count", "2", "--out", folder)
        XCTAssertEqual(exported.status, 0, exported.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).count, 2)
        let table = root.appendingPathComponent("table.png")
        let crossed = try deepgen("stylize", run, "--content", folder, "--style", folder, "--steps", "2", "--classifier", "none", "--out", table.path)
        XCTAssertEqual(crossed.status, 0, crossed.err)
        XCTAssertEqual(try PNG.read(table).width, 3 * 16 + 4 * 2, "a corner and two styles along the top")
        XCTAssertEqual(try PNG.read(table).height, 3 * 16 + 4 * 2, "the styles' row and two contents down the side")
        assertFails(try deepgen("sample", run, "--mixing-grid", "--layers", "all"), saying: "'coarse', 'middle' or 'fine'")

        // Held-out images projected in batches, read back by a classifier of the same size; FID
        // of truncated samples.
        let classifier = root.appendingPathComponent("shape-classifier").path
        let taught = try deepgen("train", "classifier", "--dataset", "shapes", "--image-size", "16", "--steps", "2", "--batch-size", "8", "--out", classifier)
        XCTAssertEqual(taught.status, 0, taught.err)
        // The labels are graded by a judge that is not in the projection's loss: without one, PSNR
        // alone and a note; the loss's own classifier is refused as judge.
        let projection = ["eval", run, "--metric", "projection", "--classifier", classifier, "--limit", "3", "--batch-size", "2", "--projection-steps", "3", "--json"]
        let unjudged = try deepgen(projection + ["--judge", root.appendingPathComponent("none-yet").path])
        XCTAssertEqual(unjudged.status, 0, unjudged.err)
        XCTAssert(unjudged.err.contains("no label accuracy without a judge"), unjudged.err)
        XCTAssertNil((try JSONSerialization.jsonObject(with: Data(unjudged.out.utf8)) as! [String: Any])["label_accuracy"])
        assertFails(try deepgen(projection + ["--judge", classifier]), saying: "is the classifier of the projection's loss")
        let judge = root.appendingPathComponent("judge").path
        let judgeTrained = try deepgen("train", "classifier", "--dataset", "shapes", "--image-size", "16", "--steps", "2", "--batch-size", "8",
                                       "--hidden", "8,16", "--seed", "5", "--out", judge)
        XCTAssertEqual(judgeTrained.status, 0, judgeTrained.err)
        let eval = try deepgen(projection + ["--judge", judge])
        XCTAssertEqual(eval.status, 0, eval.err)
        let object = try JSONSerialization.jsonObject(with: Data(eval.out.utf8)) as! [String: Any]
        XCTAssertEqual(object["count"] as? Int, 3)
        XCTAssertEqual(object["unit"] as? String, "dB")
        XCTAssertTrue(try XCTUnwrap(object["value"] as? Double).isFinite)
        XCTAssertNotNil(object["label_accuracy"] as? Double)
        let fid = try deepgen("eval", run, "--metric", "fid", "--classifier", classifier, "--count", "50", "--truncation", "0.5", "--json")
        XCTAssertEqual(fid.status, 0, fid.err)
        assertFails(try deepgen("eval", classifier, "--metric", "projection", "--classifier", classifier), saying: "projection is not a metric of classifier but of stylegan")
    }
}

/// The tensor names of a safetensors file, read from its JSON header.
enum SafeTensorsProbe {
    static func names(_ url: URL) throws -> [String] {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        return header.keys.filter { $0 != "__metadata__" }
    }
}

/// The toy mixtures from the command line: which models take them, the scatter every N steps,
/// `eval --metric modes` and `--metric discriminator`, and the refusals.
final class ToyMixtureCommandTests: TemporaryDirectoryTestCase {
    func deepgen(_ arguments: String...) throws -> Invocation { try Invocation.run(arguments, in: root) }

    func testAGANOnRing8DrawsScattersAndIsMeasured() throws {
        let run = root.appendingPathComponent("ring").path
        let trained = try deepgen("train", "gan", "--dataset", "ring8", "--steps", "20", "--batch-size", "32",
                                  "--sample-every", "10", "--out", run)
        XCTAssertEqual(trained.status, 0, trained.err)
        for step in [10, 20] {
            let scatter = try PNG.read(URL(fileURLWithPath: run).appendingPathComponent("progress/step-\(step).png"))
            XCTAssertEqual(scatter.width, 480)
        }
        let measured = try deepgen("eval", run, "--metric", "modes", "--count", "500", "--json")
        XCTAssertEqual(measured.status, 0, measured.err)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(measured.out.utf8)) as? [String: Any])
        XCTAssertEqual(object["modes_total"] as? Double, 8)
        XCTAssertEqual((object["per_mode"] as? [Any])?.count, 8)
        XCTAssert(FileManager.default.fileExists(atPath: run + "/modes.png"))
        let wrong = try deepgen("eval", run, "--metric", "discriminator")
        XCTAssertEqual(wrong.status, 1)
        XCTAssert(wrong.err.contains("discriminator is measured on mixture1d"), wrong.err)
    }

    func testTheDiscriminatorMetricOnMixture1d() throws {
        let run = root.appendingPathComponent("line").path
        XCTAssertEqual(try deepgen("train", "gan", "--dataset", "mixture1d", "--steps", "10", "--batch-size", "32", "--out", run).status, 0)
        let measured = try deepgen("eval", run, "--metric", "discriminator", "--count", "1000", "--discriminator-steps", "20")
        XCTAssertEqual(measured.status, 0, measured.err)
        XCTAssert(measured.out.contains("after 20 more steps of D alone"), measured.out)
        XCTAssert(FileManager.default.fileExists(atPath: run + "/discriminator.png"))
        let wgan = root.appendingPathComponent("wgan").path
        XCTAssertEqual(try deepgen("train", "wgan", "--architecture", "mlp", "--dataset", "mixture1d", "--steps", "5", "--batch-size", "16", "--out", wgan).status, 0)
        let refused = try deepgen("eval", wgan, "--metric", "discriminator")
        XCTAssertEqual(refused.status, 1)
        XCTAssert(refused.err.contains("discriminator is not a metric of wgan"), refused.err)
    }

    func testModelsThatCannotLearnPointsSaySo() throws {
        for model in ["vae", "dcgan", "pixelcnn", "wgan"] {
            let result = try deepgen("train", model, "--dataset", "grid25", "--steps", "1", "--out", root.appendingPathComponent(model).path)
            XCTAssertEqual(result.status, 1, model)
            XCTAssert(result.err.contains("does not model points"), "\(model): \(result.err)")
        }
        let mnistGAN = root.appendingPathComponent("shapes-gan").path
        XCTAssertEqual(try deepgen("train", "gan", "--dataset", "shapes", "--image-size", "8", "--steps", "2", "--out", mnistGAN).status, 0)
        let refused = try deepgen("eval", mnistGAN, "--metric", "modes")
        XCTAssertEqual(refused.status, 1)
        XCTAssert(refused.err.contains("modes is measured on the toy mixtures"), refused.err)
    }
}

/// The learned decoder variance from the command line: its refusals, its figure, and bits per
/// dimension of dequantised data that count the bins.
final class DecoderVarianceCommandTests: TemporaryDirectoryTestCase {
    func deepgen(_ arguments: String...) throws -> Invocation { try Invocation.run(arguments, in: root) }

    func testLearnedVarianceOnDequantisedShapes() throws {
        let run = root.appendingPathComponent("dv").path
        let small = ["--dataset", "dequantized-shapes", "--image-size", "8", "--hidden", "16", "--latent-dim", "2", "--steps", "5", "--batch-size", "16"]
        let refused = try Invocation.run(["train", "vae", "--decoder-variance", "learned"] + small + ["--out", run], in: root)
        XCTAssertEqual(refused.status, 1)
        XCTAssert(refused.err.contains("add --likelihood gaussian"), refused.err)
        let trained = try Invocation.run(["train", "vae", "--likelihood", "gaussian", "--decoder-variance", "learned"] + small + ["--out", run], in: root)
        XCTAssertEqual(trained.status, 0, trained.err)
        let figure = root.appendingPathComponent("deviation.png").path
        let drawn = try deepgen("sample", run, "--deviation", "--count", "4", "--out", figure)
        XCTAssertEqual(drawn.status, 0, drawn.err)
        XCTAssertGreaterThan(try PNG.read(URL(fileURLWithPath: figure)).width, 2 * 4 * 8)
        // bits per dimension = (nats + D log 256) / (D log 2), D = 64: the bins' widths counted.
        func value(_ metric: String) throws -> Double {
            let out = try deepgen("eval", run, "--metric", metric, "--k", "3", "--limit", "20", "--json").out
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
            return try XCTUnwrap(object["value"] as? Double)
        }
        let nats = try value("nll"), bits = try value("bpd")
        XCTAssertEqual(bits, (nats + 64 * log(256)) / (64 * log(2)), accuracy: 1e-3)
        let binary = root.appendingPathComponent("binary").path
        XCTAssertEqual(try deepgen("train", "vae", "--dataset", "shapes", "--image-size", "8", "--hidden", "16", "--steps", "2", "--out", binary).status, 0)
        let noDeviation = try deepgen("sample", binary, "--deviation")
        XCTAssertEqual(noDeviation.status, 1)
        XCTAssert(noDeviation.err.contains("--deviation is for a vae with a gaussian decoder"), noDeviation.err)
    }
}

/// Training's animation: progress.png holds the grid of every --sample-every, from the same
/// codes, in step order, through a resume; interpolate --animate runs along the lines and back.
final class ProgressAnimationTests: TemporaryDirectoryTestCase {
    func deepgen(_ arguments: [String]) throws -> Invocation { try Invocation.run(arguments, in: root) }

    func testProgressHoldsEveryGridAndInterpolationAnimates() throws {
        let run = root.appendingPathComponent("dcgan").path
        let base = ["train", "dcgan", "--dataset", "shapes", "--image-size", "8", "--features", "4", "--batch-size", "8",
                    "--sample-every", "10", "--checkpoint-every", "10", "--out", run]
        XCTAssertEqual(try deepgen(base + ["--steps", "20"]).status, 0)
        let resumed = try deepgen(base + ["--steps", "30", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        let folder = URL(fileURLWithPath: run)
        let animation = try PNG.decodeAnimation(Data(contentsOf: folder.appendingPathComponent("progress.png")))
        XCTAssertEqual(animation.declaredFrames, 3)
        XCTAssertEqual(animation.sequenceNumbers, [[0], [1, 2], [3, 4]])
        for (frame, step) in zip(animation.frames, [10, 20, 30]) {
            XCTAssertEqual(frame.pixels, try PNG.read(folder.appendingPathComponent("progress/step-\(step).png")).pixels)
        }
        XCTAssertEqual(animation.frames.last?.pixels, try PNG.read(folder.appendingPathComponent("samples.png")).pixels)
        XCTAssertNotEqual(animation.frames[0].pixels, animation.frames[2].pixels, "the grids change as the model learns")

        let animated = try deepgen(["interpolate", run, "--animate", "--pairs", "3", "--steps", "5"])
        XCTAssertEqual(animated.status, 0, animated.err)
        let strip = try PNG.decodeAnimation(Data(contentsOf: folder.appendingPathComponent("interpolation-animated.png")))
        XCTAssertEqual(strip.frames.count, 8, "out along 5 steps and back through 3")
        XCTAssertEqual(strip.frames[1].pixels, strip.frames[7].pixels, "the way back retraces the way out")
        XCTAssertNotEqual(strip.frames[0].pixels, strip.frames[4].pixels)
    }
}

/// `deepgen models` and the shell completion know the catalogue.
final class CatalogueCommandTests: TemporaryDirectoryTestCase {
    func testModelsListsEveryModelAndWhatEachCanDo() throws {
        let list = try Invocation.run(["models"], in: root)
        XCTAssertEqual(list.status, 0, list.err)
        for entry in ModelRegistry.entries {
            XCTAssert(list.out.contains(entry.name + " "), "\(entry.name) missing from:\n\(list.out)")
            let one = try Invocation.run(["models", entry.name], in: root)
            XCTAssertEqual(one.status, 0, "\(entry.name): \(one.err)")
            XCTAssert(one.out.contains("deepgen train \(entry.name) --out runs/\(entry.name)"), one.out)
            // A quick preset's FID ceiling, where it records one, and none where it does not.
            let ceiling = entry.quick.fidCeiling.map { "--preset quick FID ceiling: \(String(format: "%g", $0)) (2,000 samples" }
            XCTAssertEqual(one.out.contains("FID ceiling"), ceiling != nil, entry.name)
            if let ceiling { XCTAssert(one.out.contains(ceiling), one.out) }
        }
        // What each can do comes from its capabilities.
        let vae = try Invocation.run(["models", "vae"], in: root).out
        for expected in ["--metric elbo", "--metric nll", "--manifold", "--deviation", "interpolate"] { XCTAssert(vae.contains(expected), vae) }
        XCTAssertFalse(vae.contains("--metric modes"))
        let stylegan = try Invocation.run(["models", "stylegan"], in: root).out
        XCTAssert(stylegan.contains("deepgen project") && stylegan.contains("--mixing-grid") && !stylegan.contains("--metric nll"), stylegan)
        let unknown = try Invocation.run(["models", "vea"], in: root)
        XCTAssertEqual(unknown.status, 1)
        XCTAssert(unknown.err.contains("unknown model 'vea'"), unknown.err)
    }

    /// FID without a classifier run says how to make one.
    func testFIDWithoutAClassifierSaysHowToMakeOne() throws {
        let run = root.appendingPathComponent("gan").path
        XCTAssertEqual(try Invocation.run(["train", "gan", "--dataset", "shapes", "--steps", "2", "--out", run], in: root).status, 0)
        let result = try Invocation.run(["eval", run, "--metric", "fid"], in: root)
        XCTAssertEqual(result.status, 1)
        XCTAssert(result.err.contains("no classifier at runs/classifier: make one with `deepgen train classifier --dataset mnist --out runs/classifier`"), result.err)
    }

    func testCompletionKnowsModelsDataSetsAndMetrics() throws {
        let script = try Invocation.run(["--generate-completion-script", "bash"], in: root)
        XCTAssertEqual(script.status, 0)
        for word in ["diagonal-bilstm", "pixelcnn++", "binarized-mnist", "ring8", "discriminator", "projection"] {
            XCTAssert(script.out.contains(word), "the completion script does not offer \(word)")
        }
    }
}
