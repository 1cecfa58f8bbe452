// swift-tools-version: 6.1
// Benchmarks of the FFF inference runtime (see ../BENCHMARKS.md). A separate package so that the
// library's clients never resolve the benchmark harness.
import PackageDescription

let package = Package(
    name: "FFFBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "FastFeedforward", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FFFBenchmarks",
            dependencies: [
                .product(name: "FastFeedforward", package: "FastFeedforward"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/FFFBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
