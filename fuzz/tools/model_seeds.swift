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
// elements, the row scales and q.

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
