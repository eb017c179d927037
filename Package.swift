// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DeepGenerative",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "NeuralNetwork", targets: ["NeuralNetwork"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "GenerativeModels", targets: ["GenerativeModels"]),
        .library(name: "GenerativeMetrics", targets: ["GenerativeMetrics"]),
        .executable(name: "deepgen", targets: ["deepgen"]),
        .executable(name: "deepgen-studio", targets: ["deepgen-studio"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Data-parallel training across processes and machines over MPI (Open MPI or MPICH from apt)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // OpenBLAS from Debian's apt on Linux; on macOS the engine uses Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // C loops compiled once per instruction set, the clone picked at load time.
        .target(name: "CKernels"),
        .target(
            name: "TensorEngine",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // JPEG through libjpeg-turbo (Debian's libjpeg62-turbo-dev), with errors that return
        // instead of calling exit().
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg", .when(platforms: [.linux]))]),
        .target(name: "NeuralNetwork", dependencies: ["TensorEngine"]),
        .target(name: "Datasets", dependencies: ["TensorEngine", "CZlib", "CJPEG"]),
        // MPI under the trait only, so the default build needs none: pkg-config's `mpi` names
        // whichever implementation Debian installed.
        .systemLibrary(name: "CMPI", pkgConfig: "mpi", providers: [.apt(["libopenmpi-dev"])]),
        .target(
            name: "GenerativeModels",
            dependencies: ["TensorEngine", "NeuralNetwork", "Datasets", "GenerativeMetrics", .target(name: "CMPI", condition: .when(traits: ["MPI"])),
                           // Each model's flags live beside its options (Registry/).
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.define("DEEPGEN_MPI", .when(traits: ["MPI"]))]
        ),
        // Named apart from swift-metrics' `Metrics` (Hummingbird's), as target names are global.
        .target(name: "GenerativeMetrics", dependencies: ["TensorEngine"]),
        .executableTarget(
            name: "deepgen",
            dependencies: [
                "TensorEngine",
                "NeuralNetwork",
                "Datasets",
                "GenerativeModels",
                "GenerativeMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: [.define("DEEPGEN_MPI", .when(traits: ["MPI"]))]
        ),
        // The web studio (`deepgen serve`): a library and its own executable, so that building
        // deepgen does not build Hummingbird and NIO (about 3 minutes); `deepgen serve` hands over to it.
        .target(
            name: "Studio",
            dependencies: [
                "Datasets", "GenerativeModels", "NeuralNetwork", "TensorEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .executableTarget(
            name: "deepgen-studio",
            dependencies: [
                "Studio", "Datasets", "GenerativeModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Test helpers (gradient checks, temporary directories); linked by the tests only.
        .target(name: "TestSupport", dependencies: ["NeuralNetwork", "TensorEngine"], path: "Tests/Support"),
        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "TestSupport"]),
        .testTarget(name: "NeuralNetworkTests", dependencies: ["NeuralNetwork", "TensorEngine", "TestSupport"]),
        .testTarget(name: "GenerativeModelsTests", dependencies: ["GenerativeModels", "Datasets", "GenerativeMetrics", "NeuralNetwork", "TensorEngine", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GenerativeMetricsTests", dependencies: ["GenerativeMetrics", "NeuralNetwork", "TensorEngine", "TestSupport"], resources: [.copy("Fixtures")]),
        // Its fixtures (golden losses, run directories of an older format) are read from the source tree.
        .testTarget(name: "deepgenTests", dependencies: ["deepgen", "Datasets", "GenerativeModels", "NeuralNetwork", "TensorEngine", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(
            name: "StudioTests",
            dependencies: [
                "Studio", "Datasets", "GenerativeModels", "TensorEngine", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TensorEngine", "TestSupport"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v5]
)
