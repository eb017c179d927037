import Foundation

/// The images of a folder (PNG and JPEG, by name order): directly in it, or in class subfolders
/// (the ImageFolder layout, `folder/cat/*.png`, `folder/dog/*.png`) whose sorted names give the
/// labels 0, 1, ...
public struct ImageFolder {
    public let images: [Image]
    public let labels: [Int]?
    public let classNames: [String]?
    /// Files that are not images the package reads, counted by extension.
    public let skipped: [String: Int]

    public init(_ directory: URL) throws {
        let direct = try Self.listing(directory)
        if !direct.images.isEmpty {
            images = try direct.images.map(ImageFile.read)
            labels = nil; classNames = nil; skipped = direct.skipped
            return
        }
        var images: [Image] = [], labels: [Int] = [], names: [String] = [], skipped = direct.skipped
        for folder in direct.folders {
            let inside = try Self.listing(folder)
            guard !inside.images.isEmpty else { continue }
            names.append(folder.lastPathComponent)
            images += try inside.images.map(ImageFile.read)
            labels += [Int](repeating: names.count - 1, count: inside.images.count)
            skipped.merge(inside.skipped, uniquingKeysWith: +)
        }
        guard !images.isEmpty else {
            throw MNIST.Failure(
                "\(directory.path) holds no .png or .jpg images, neither directly nor in class subfolders")
        }
        self.images = images; self.labels = labels; self.classNames = names; self.skipped = skipped
    }

    /// The image files and the subfolders of a folder, sorted by name; other files by extension.
    static func listing(_ directory: URL) throws -> (images: [URL], folders: [URL], skipped: [String: Int]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw MNIST.Failure("\(directory.path) is not a folder of images")
        }
        let entries = try FileManager.default.contentsOfDirectory(
            at: directory, includingPropertiesForKeys: [.isDirectoryKey]
        )
        .filter { !$0.lastPathComponent.hasPrefix(".") }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var images: [URL] = [], folders: [URL] = [], skipped: [String: Int] = [:]
        for entry in entries {
            if (try? entry.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                folders.append(entry); continue
            }
            let kind = entry.pathExtension.lowercased()
            if ImageFile.extensions.contains(kind) {
                images.append(entry)
            } else {
                skipped[kind.isEmpty ? "(none)" : ".\(kind)", default: 0] += 1
            }
        }
        return (images, folders, skipped)
    }

    /// The image files directly in a folder (the paired and unpaired layouts).
    static func files(in directory: URL) throws -> [URL] {
        let files = try listing(directory).images
        guard !files.isEmpty else { throw MNIST.Failure("\(directory.path) holds no .png or .jpg images") }
        return files
    }
}

/// The shape a folder's images take when the user names none: colour when any image has colour
/// (grey stays grey, colour stays colour), and the images' own size when they all share one
/// square size (else 28, MNIST's).
public struct FolderGeometry {
    public var size: Int
    public var channels: Int

    public static func detect(_ images: [Image], size: Int?, channels: Int?) -> FolderGeometry {
        let colour = images.contains { $0.hasColour }
        let sizes = Set(images.map { [$0.width, $0.height] })
        let common =
            sizes.count == 1 && sizes.first![0] == sizes.first![1] && (4...1024).contains(sizes.first![0])
            ? sizes.first![0] : nil
        return FolderGeometry(size: size ?? common ?? 28, channels: channels ?? (colour ? 3 : 1))
    }

    /// One line per way the images were changed to fit, for the user.
    func notes(for images: [Image], skipped: [String: Int], folder: String) -> [String] {
        var notes: [String] = []
        let resized = images.filter { $0.width != size || $0.height != size }.count
        if resized > 0 {
            notes.append(
                "\(resized) of the \(images.count) images in \(folder) were scaled and centre-cropped to "
                    + "\(size)x\(size)"
            )
        }
        if channels == 1 {
            let coloured = images.filter(\.hasColour).count
            if coloured > 0 { notes.append("\(coloured) colour images in \(folder) were made grey (--channels 1)") }
        }
        if !skipped.isEmpty {
            let kinds = skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            notes.append("\(folder): skipped files that are not PNG or JPEG images (\(kinds))")
        }
        return notes
    }
}

extension Image {
    /// True when some pixel's red, green and blue differ (an RGB file of grey pixels is grey).
    var hasColour: Bool {
        guard channels >= 3 else { return false }
        for p in 0..<(width * height) {
            let base = p * channels
            if pixels[base] != pixels[base + 1] || pixels[base] != pixels[base + 2] { return true }
        }
        return false
    }
}

/// The images of a folder (see `ImageFolder`), fitted to `size` x `size`: scaled so the shorter
/// side fits, then centre-cropped; grey or RGB as asked, or as the images are.
public final class ImageFolderDataset: ByteImageDataset {
    public convenience init(_ directory: URL, size: Int? = nil, channels: Int? = nil) throws {
        let folder = try ImageFolder(directory)
        let geometry = FolderGeometry.detect(folder.images, size: size, channels: channels)
        try self.init(folder, name: directory.lastPathComponent, geometry: geometry)
    }

    init(_ folder: ImageFolder, name: String, geometry: FolderGeometry) throws {
        super.init(
            name: name, pixels: Self.pack(folder.images, size: geometry.size, channels: geometry.channels),
            imageShape: [geometry.channels, geometry.size, geometry.size], labels: folder.labels)
        classNames = folder.classNames
        notes = geometry.notes(for: folder.images, skipped: folder.skipped, folder: name)
    }

    /// Images fitted to `size` and flattened to bytes, [C, H, W] each.
    static func pack(_ images: [Image], size: Int, channels: Int) -> [UInt8] {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(images.count * size * size * channels)
        for image in images {
            pixels += image.fitted(to: size).tensor(channels: channels).scalars.map { UInt8(($0 * 255).rounded()) }
        }
        return pixels
    }
}

/// Image pairs in either pix2pix layout: one folder of images holding A and B side by side
/// (A on the left), or folders `A/` and `B/` with files of the same names. `images` are the A
/// side (the input), `targets` the B side.
public final class PairedFolderDataset: PairedImages {
    public init(_ directory: URL, size: Int? = nil, channels: Int? = nil) throws {
        let (left, right) = try PairedFolderDataset.readPairs(directory)
        let geometry = FolderGeometry.detect(left + right, size: size, channels: channels)
        let inputs = ByteImageDataset(
            name: "A", pixels: ImageFolderDataset.pack(left, size: geometry.size, channels: geometry.channels),
            imageShape: [geometry.channels, geometry.size, geometry.size], labels: nil)
        inputs.notes = geometry.notes(for: left + right, skipped: [:], folder: directory.lastPathComponent)
        super.init(
            name: directory.lastPathComponent, inputs: inputs,
            outputs: ByteImageDataset(
                name: "B", pixels: ImageFolderDataset.pack(right, size: geometry.size, channels: geometry.channels),
                imageShape: [geometry.channels, geometry.size, geometry.size], labels: nil))
    }

    static func readPairs(_ directory: URL) throws -> (a: [Image], b: [Image]) {
        let a = directory.appendingPathComponent("A"), b = directory.appendingPathComponent("B")
        if FileManager.default.fileExists(atPath: a.path) && FileManager.default.fileExists(atPath: b.path) {
            let names = try ImageFolder.files(in: a).map(\.lastPathComponent)
            let partners = Set(try ImageFolder.files(in: b).map(\.lastPathComponent))
            if let missing = names.first(where: { !partners.contains($0) }) {
                throw MNIST.Failure("\(a.path)/\(missing) has no partner of the same name in \(b.path)")
            }
            return (
                try names.map { try ImageFile.read(a.appendingPathComponent($0)) },
                try names.map { try ImageFile.read(b.appendingPathComponent($0)) }
            )
        }
        var left: [Image] = [], right: [Image] = []
        for file in try ImageFolder.files(in: directory) {
            let image = try ImageFile.read(file)
            guard image.width % 2 == 0 else {
                throw MNIST.Failure("\(file.path): width \(image.width) is odd, so it cannot hold A|B side by side")
            }
            left.append(image.cropped(x: 0, width: image.width / 2))
            right.append(image.cropped(x: image.width / 2, width: image.width / 2))
        }
        return (left, right)
    }
}

/// Two unpaired domains in the CycleGAN layout: `trainA/` and `trainB/` (or `testA/`, `testB/`),
/// each any number of images, both fitted to one shape.
public struct UnpairedFolders {
    public let a: ImageFolderDataset, b: ImageFolderDataset

    public init(_ directory: URL, split: MNIST.Split, size: Int? = nil, channels: Int? = nil) throws {
        let folderA = try ImageFolder(directory.appendingPathComponent("\(split.rawValue)A"))
        let folderB = try ImageFolder(directory.appendingPathComponent("\(split.rawValue)B"))
        let geometry = FolderGeometry.detect(folderA.images + folderB.images, size: size, channels: channels)
        a = try ImageFolderDataset(folderA, name: "\(split.rawValue)A", geometry: geometry)
        b = try ImageFolderDataset(folderB, name: "\(split.rawValue)B", geometry: geometry)
    }
}
