// swift-tools-version: 6.1
// An example client of the FastFeedforward library: load a model file, classify one record.
import PackageDescription

let package = Package(
    name: "ClassifyRecord",
    dependencies: [
        .package(name: "FastFeedforward", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "ClassifyRecord",
            dependencies: [.product(name: "FastFeedforward", package: "FastFeedforward")]
        ),
    ]
)
