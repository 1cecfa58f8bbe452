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
        // Identities and Ed25519 signatures of model files (swift-crypto). Separate so that the
        // two products above never link crypto.
        .library(name: "FFFProvenance", targets: ["FFFProvenance"]),
    ],
    dependencies: [
        // Used by the fffrun executable only; the library product never links it.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (.ci/docs) only: a command plugin, never linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // FFFProvenance (and so fffrun) only: SHA-256, Ed25519, and the PEM key encodings of
        // CryptoExtras (Curve25519 PEM appeared in the 4.x series).
        .package(url: "https://github.com/apple/swift-crypto", "4.5.2"..<"5.0.0"),
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
        // ISA-L's inflate: fffrun's gzip input from regular files (zlib's errors kept).
        .systemLibrary(
            name: "CIsal",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
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
        // CSV/TSV lines of plain integer fields: a portable path and an AVX2 one chosen at run
        // time (target attributes, no compiler flags); FFFRecords reads every other line.
        .target(name: "CFFFTextParsing"),
        // Streaming record parsers (CSV/TSV/text, raw binary, IDX, NPY, gzip) used by fffrun.
        .target(
            name: "FFFRecords",
            dependencies: ["CZlib", "CIsal", "CFFFTextParsing"]
        ),
        // Umbrella: `import FastFeedforward` brings both.
        .target(
            name: "FastFeedforward",
            dependencies: ["FFFFormat", "FFFInference"]
        ),
        // A model's identity (SHA-256 of its critical payloads), Ed25519 keys, signing and
        // verification. FFFFormat gives the bytes; this target hashes and signs them.
        .target(
            name: "FFFProvenance",
            dependencies: [
                "FFFFormat",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
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
                "FFFProvenance",
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
            name: "FFFProvenanceTests",
            dependencies: ["FFFProvenance", "FFFFormat", "FFFTestSupport"]
        ),
        .testTarget(
            name: "fffrunTests",
            // fffrun itself for WorkerPoolTests (@testable); the other suites run the binary.
            dependencies: ["FastFeedforward", "fffrun"]
        ),
    ]
)
