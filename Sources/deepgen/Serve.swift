import ArgumentParser
import Foundation
import GenerativeModels

#if canImport(Glibc)
import Glibc
#endif

/// `deepgen serve [RUNS_DIR]`: the web studio. It lives in its own binary, `deepgen-studio`,
/// so that building deepgen does not build Hummingbird and NIO; this command hands over to it,
/// building it first (once) when deepgen runs from its package's build folder.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "A local web studio: browse the runs of a folder (curves, figures) and play with their models in the browser: samples, latent sliders, style mixing, drawing for pix2pix, pixel-by-pixel drawing."
    )

    @OptionGroup var options: ServeOptions

    func run() throws {
        let studio = try Self.studioBinary()
        fflush(stdout)
        var argv = ([studio.path] + options.arguments).map { strdup($0) } + [nil]
        execv(studio.path, &argv)
        throw TrainingError("could not start \(studio.path): \(String(cString: strerror(errno)))")
    }

    /// `deepgen-studio` beside this executable, built when it is missing and this executable is
    /// in a build folder of the package.
    static func studioBinary() throws -> URL {
        let me = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
            .resolvingSymlinksInPath()
        let folder = me.deletingLastPathComponent()
        let studio = folder.appendingPathComponent("deepgen-studio")
        if FileManager.default.isExecutableFile(atPath: studio.path) { return studio }
        // <package>/<scratch>/<triple>/<configuration>/deepgen
        let scratch = folder.deletingLastPathComponent().deletingLastPathComponent()
        let package = scratch.deletingLastPathComponent()
        let configuration = folder.lastPathComponent
        let build = [
            "swift", "build", "-c", configuration, "--product", "deepgen-studio", "--scratch-path", scratch.path
        ]
        guard ["release", "debug"].contains(configuration),
            FileManager.default.fileExists(atPath: package.appendingPathComponent("Package.swift").path)
        else {
            throw TrainingError(
                "the studio is a binary of its own, deepgen-studio, and none is beside \(me.path): "
                    + "build it in the package with `swift build -c release --product deepgen-studio`")
        }
        FileHandle.standardError.write(
            Data(
                "building the studio once (Hummingbird and NIO, a few minutes): \(build.joined(separator: " "))\n".utf8)
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = build
        process.currentDirectoryURL = package
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: studio.path) else {
            throw TrainingError("building the studio failed (\(build.joined(separator: " ")) in \(package.path))")
        }
        return studio
    }
}
