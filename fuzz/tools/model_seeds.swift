// Seed generator for the model_reader fuzz target (run by fuzz/run.sh; see fuzz/README.md).
// Compiled with Sources/FFFFormat/**/*.swift into one module, without sanitizers.
//
// Usage: model_seeds OUTPUT_DIR FILE.fff ...
// For every input file that reads as a valid model, writes it back under the four writer
// settings (zstd-19+shuffle, zstd-1, none+shuffle, none). The uncompressed, unshuffled variants
// matter most: in them libFuzzer's byte mutations land directly on header fields, floats and
// strings instead of inside a zstd frame. Each float32 model is also written in compact types
// (format 1.1: float16, bfloat16 with float16 nodes, int8-row with int8-row nodes, int8-row with
// bfloat16 nodes), plain and with the reference settings, so that mutations reach the 16-bit
// elements, the row scales and q. Each model is also written plain with a model card (every
// typed key, an untyped x- key) and a SIGN section of two signatures (format 1.2; the digests
// and signatures are arbitrary bytes: the reader checks structure only), so that mutations
// reach the card's typed values and the signature fields.

#if canImport(Glibc)
import Glibc
#endif

@main
struct ModelSeeds {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            print("usage: model_seeds OUTPUT_DIR FILE.fff ...")
            exit(64)
        }
        let output = arguments[1]
        let settings: [(String, FFFWriter.Options)] = [
            ("zstd19-shuffle", FFFWriter.Options()),
            ("zstd1", FFFWriter.Options(codec: .zstd, level: 1, shuffle: false)),
            ("none-shuffle", FFFWriter.Options(codec: .none, shuffle: true)),
            ("none", FFFWriter.Options(codec: .none, shuffle: false)),
        ]
        var written = 0
        for path in arguments.dropFirst(2) {
            guard let model = try? FFFReader.read(contentsOf: path) else { continue }
            var base = String(path.split(separator: "/").last ?? "model")
            if base.hasSuffix(".fff") { base.removeLast(4) }
            for (name, options) in settings {
                do {
                    try FFFWriter.write(model, to: "\(output)/\(base).\(name).fff", options: options)
                    written += 1
                } catch {
                    print("model_seeds: \(error)")
                    exit(1)
                }
            }
            do {
                var signed = model
                signed.card = try ModelCard(seedCard)
                signed.signatures = try seedSignatures()
                try FFFWriter.write(signed, to: "\(output)/\(base).card-sign.none.fff", options: settings[3].1)
                written += 1
            } catch {
                print("model_seeds: \(error)")
                exit(1)
            }
            guard model.weightType == .float32 else { continue }
            let compact: [(ElementType, ElementType)] = [(.float16, .float16), (.bfloat16, .float16), (.int8Row, .int8Row), (.int8Row, .bfloat16)]
            for (weightType, nodeType) in compact {
                // At depth 0 the nodes are float32; a value a type cannot hold skips that type.
                guard let converted = try? model.converted(weightType: weightType, nodeType: model.depth == 0 ? .float32 : nodeType) else { continue }
                let types = "\(weightType.name)-\(converted.nodeType.name)"
                for (name, options) in [settings[0], settings[3]] {
                    do {
                        try FFFWriter.write(converted, to: "\(output)/\(base).\(types).\(name).fff", options: options)
                        written += 1
                    } catch {
                        print("model_seeds: \(error)")
                        exit(1)
                    }
                }
            }
        }
        print("model_seeds: wrote \(written) seed files to \(output)")
    }
}

/// A card with every typed key of format 1.2, two metrics and an untyped key.
let seedCard: [MetadataEntry] = [
    ("name", "seed model"), ("version", "1.0.0"), ("description", "a seed\nfor the fuzzer"), ("author", "fuzz"),
    ("license", "(MIT AND BSD-3-Clause) OR GPL-2.0+ WITH Classpath-exception-2.0"),
    ("source.url", "https://example.org/model.pt"), ("source.sha256", String(repeating: "0123456789abcdef", count: 4)),
    ("dataset", "digits"), ("date", "2024-02-29"), ("intended_use", "tests"), ("limitations", "none\tknown"),
    ("metrics.accuracy", "0.9822"), ("metrics.loss", "-1.5e-3"), ("x-note", "anything"),
].map { MetadataEntry(key: $0.0, value: $0.1) }

/// Two signatures (Ed25519 and a later algorithm) over made-up digests.
func seedSignatures() throws(FFFError) -> SignatureSection {
    try SignatureSection(
        identity: (0..<32).map { UInt8($0) }, cardDigest: [UInt8](repeating: 0xCA, count: 32),
        labelsDigest: [UInt8](repeating: 0, count: 32),
        signatures: [
            try SignatureSection.Signature(algorithm: 1, keyID: [UInt8](repeating: 0x44, count: 32), signature: (0..<64).map { UInt8($0) }),
            try SignatureSection.Signature(algorithm: 2, keyID: [UInt8](repeating: 0xAC, count: 32), signature: [UInt8](repeating: 0x5A, count: 64)),
        ])
}
