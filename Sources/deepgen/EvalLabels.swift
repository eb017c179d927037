import Foundation
import GenerativeModels
import TensorEngine

extension Eval {
    /// A class-conditional model's samples, `--count` of them drawn for the classes in turn
    /// (`--batch-size` at a time): the share the classifier reads as the class each was drawn
    /// for, overall and per class.
    func labelAgreement(_ config: RunConfig, _ model: AutoregressiveModel) throws {
        guard model.classes > 0 else { throw TrainingError("labels is a metric of class-conditional models (gated-pixelcnn --classes 10); \(runDir) is unconditional") }
        let network = try loadClassifier(classifier, for: model.imageShape)
        let progress = Progress(total: count, label: "labels", unit: "images")
        var generator = RandomGenerator(seed: seed)
        var (kept, done) = ([Int](repeating: 0, count: model.classes), 0)
        while done < count {
            let wanted = (done..<min(done + batchSize, count)).map { $0 % model.classes }
            let samples = withoutGradients { model.sample(labels: wanted, count: wanted.count, generator: &generator) }
            let read = withoutGradients { network.predictions(centreCrop(samples, to: network.imageShape)) }
            for (r, w) in zip(read, wanted) where r == w { kept[w] += 1 }
            done += wanted.count
            progress.update(done, figures: [("agreement", 100 * Double(kept.reduce(0, +)) / Double(done))])
        }
        progress.finish()
        let value = 100 * Double(kept.reduce(0, +)) / Double(count)
        let perClass = (0..<model.classes).map { c in
            100 * Double(kept[c]) / Double(max(1, (0..<count).filter { $0 % model.classes == c }.count))
        }
        if json {
            printJSON(model: config.model, value: value, unit: "percent", dataset: config.dataset, split: "samples", count: count, k: 1,
                      extra: [Figure("per_class", list: perClass)])
        } else {
            print("\(config.model): the classifier reads \(String(format: "%.2f", value))% of \(count) samples as the class they were drawn for")
            print("per class: " + perClass.enumerated().map { String(format: "%d: %.0f%%", $0.offset, $0.element) }.joined(separator: ", "))
        }
    }
}
