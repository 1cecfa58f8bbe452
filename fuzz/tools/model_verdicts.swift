// Prints the Swift reader's verdict on each file: `<code>\t<path>`, code `valid` or the spec's
// error code. Used by fuzz/tools/differential.py to compare with the Python reader
// (tools/pyfff/format.py) over a fuzz corpus. Built by fuzz/run.sh, without sanitizers.
//
// usage: model_verdicts MAX_DECODED_MB FILE...   (or file names on stdin when none are given)

#if canImport(Glibc)
import Glibc
#endif

@main
struct ModelVerdicts {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2, let megabytes = UInt64(arguments[1]) else {
            print("usage: model_verdicts MAX_DECODED_MB FILE...")
            exit(64)
        }
        let options = FFFReader.Options(maxDecodedBytes: megabytes << 20)
        var paths = Array(arguments.dropFirst(2))
        if paths.isEmpty {
            while let line = readLine() { paths.append(line) }
        }
        for path in paths {
            // Read the whole file (not FFFReader.read(contentsOf:), which stops early on a bad
            // header): the verdict is the one for these bytes.
            guard let file = fopen(path, "rb") else {
                print("io-error\t\(path)")
                continue
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = fread(&chunk, 1, chunk.count, file)
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            fclose(file)
            let verdict = FFFValidator.validate(bytes: bytes, options: options)
            print("\(verdict?.code.rawValue ?? "valid")\t\(path)")
        }
    }
}
