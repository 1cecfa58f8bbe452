// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "FastFeedforward",
    products: [
        // What apps embed: loading, validation and inference. Depends on libzstd only.
        .library(name: "FastFeedforward", targets: ["FastFeedforward"]),
        .executable(name: "fffrun", targets: ["fffrun"]),
        // The C API (Sources/CFastFeedforward/include/fastfeedforward.h) as a shared library,
        // libfastfeedforward_c.so, for any language that can call C. Depends on libzstd only.
        .library(name: "fastfeedforward_c", type: .dynamic, targets: ["FastFeedforwardC"]),
    ],
    dependencies: [
        // Used by the fffrun executable only; the library product never links it.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (.ci/docs) only: a command plugin, never linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // gzip input streams for fffrun; the library products never link it.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Inference kernels in C: AVX-512F, AVX2+FMA and portable paths chosen at run time
        // through per-function target attributes (no compiler flags).
        .target(
            name: "CFFFKernels",
            linkerSettings: [.linkedLibrary("m")]
        ),
        // The model, its file format (spec/FORMAT.md): reader, writer, validator.
        .target(
            name: "FFFFormat",
            dependencies: ["CZstd"]
        ),
        // Allocation-free inference over a loaded model.
        .target(
            name: "FFFInference",
            dependencies: ["FFFFormat", "CFFFKernels"]
        ),
        // Streaming record parsers (CSV/TSV/text, raw binary, IDX, NPY, gzip) used by fffrun.
        .target(
            name: "FFFRecords",
            dependencies: ["CZlib"]
        ),
        // Umbrella: `import FastFeedforward` brings both.
        .target(
            name: "FastFeedforward",
            dependencies: ["FFFFormat", "FFFInference"]
        ),
        // fastfeedforward.h, the C API's one public header (types and declarations, no code).
        .target(name: "CFastFeedforward"),
        // The C API's implementation: @_cdecl functions over FFFFormat and FFFInference.
        .target(
            name: "FastFeedforwardC",
            dependencies: ["CFastFeedforward", "FFFFormat", "FFFInference"]
        ),
        .executableTarget(
            name: "fffrun",
            dependencies: [
                "FastFeedforward",
                "FFFRecords",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Deterministic test data shared by the test targets; no product exposes it.
        .target(
            name: "FFFTestSupport",
            path: "Tests/FFFTestSupport"
        ),
        .testTarget(
            name: "FFFFormatTests",
            dependencies: ["FFFFormat", "FFFTestSupport"]
        ),
        .testTarget(
            name: "FFFInferenceTests",
            dependencies: ["FFFInference", "FFFFormat", "FFFTestSupport"]
        ),
        .testTarget(
            name: "FFFRecordsTests",
            dependencies: ["FFFRecords", "CZlib", "FFFTestSupport"]
        ),
        .testTarget(
            name: "fffrunTests",
            dependencies: ["FastFeedforward"]
        ),
    ]
)
