// libFuzzer target: the FFF model reader and validator (Sources/FFFFormat), see fuzz/README.md.
//
// Compiled in one module with Sources/FFFFormat/**/*.swift (so it can use the internal CRC32).
// For every input, twice: once as given, once with every checksum recomputed ("CRC fix-up", so
// that mutations inside sections and tables reach the checks behind the checksums):
//   1. FFFReader.readFile on a misaligned copy and FFFValidator.validate on the aligned input must
//      agree exactly (same first error, or both valid): alignment independence, determinism.
//   2. An error is never io-error, has a message, and its offset (if any) lies in 0 ... size.
//   3. A successful read: FFFReader.layout(of:) gives the same layout, whose file length is the
//      input size and whose first section is MODL.
//   4. Round trip: FFFWriter.write(model) (options chosen from a hash of the input among
//      zstd-19+shuffle, zstd-1, none+shuffle, none) must validate, read back to a bit-identical
//      model (element types, int8-row scales and q included), and writing that model again must
//      give identical bytes (spec §18 determinism). The file's minor version is 2 exactly when
//      the model has a card or signatures (format 1.2), else 1 exactly when the weights are
//      compact. Compact models (format 1.1): the float32 view re-encoded in
//      the model's float16/bfloat16 types gives the same values (encoding decoded values is
//      exact), and every int8-row value is scale * q with q in -127 ... 127.
//   5. Reading the same bytes from a file with FFFReader.readFile(contentsOf:) gives the same
//      verdict, with a workspace of 1 ... 256 bytes chosen from a hash of the input, so the
//      file is read, decompressed and unshuffled in many pieces.
//   6. Provenance (1.2): the identity message of the file read, of the model and of the file
//      written are the same bytes (the model's own differs only where a newer minor version
//      set reserved MODL/PREP fields), and so are the labels and card payloads; the card and
//      the signature section survive the round trip.
// Any violation aborts (a libFuzzer crash). ASan catches memory errors; Swift runtime traps
// (overflow, bounds, force-unwrap) arrive as SIGILL/SIGTRAP crashes.
//
// Knob (environment): FFF_FUZZ_MAX_DECODED_MB, the reader's decoded-payload budget
// (FFFReader.Options.maxDecodedBytes), default 64. 4096 is the library default; with it, tiny
// zstd inputs can make the reader allocate gigabytes, which libFuzzer's -malloc_limit_mb reports
// as out-of-memory (see fuzz/README.md, "Findings").

#if canImport(Glibc)
import Glibc
#endif

private let readOptions: FFFReader.Options = {
    let megabytes = fuzzEnvironmentInt("FFF_FUZZ_MAX_DECODED_MB", default: 64)
    return FFFReader.Options(maxDecodedBytes: UInt64(max(0, megabytes)) << 20)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelReader(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    checkFile(input, variant: "as given")
    checkFileOnDisk(input, variant: "as given")
    if let fixed = withFixedChecksums(input) {
        fixed.withUnsafeBytes {
            checkFile($0, variant: "with checksums fixed up")
            checkFileOnDisk($0, variant: "with checksums fixed up")
        }
    }
    return 0
}

/// Oracles 1 ... 4 on one byte string.
private func checkFile(_ bytes: UnsafeRawBufferPointer, variant: String) {
    let copy = MisalignedCopy(bytes)
    let result = Result { () throws(FFFError) in try FFFReader.readFile(bytes: copy.bytes, options: readOptions) }
    let verdict = FFFValidator.validate(bytes: bytes, options: readOptions)
    switch result {
    case .failure(let error):
        fuzzRequire(verdict == error, "\(variant): reading a misaligned copy fails with \(error) but validating the aligned bytes gives \(verdict.map { "\($0)" } ?? "valid")")
        fuzzRequire(error.code != .ioError, "\(variant): io-error from bytes in memory: \(error)")
        fuzzRequire(!error.message.isEmpty, "\(variant): empty message for \(error.code.rawValue)")
        if let offset = error.offset {
            fuzzRequire(offset >= 0 && offset <= bytes.count, "\(variant): error offset \(offset) outside the \(bytes.count)-byte file: \(error)")
        }
    case .success(let file):
        fuzzRequire(verdict == nil, "\(variant): reading a misaligned copy succeeds but validating the aligned bytes fails with \(verdict!)")
        fuzzRequire(file.layout.fileLength == bytes.count, "\(variant): layout file length \(file.layout.fileLength) != size \(bytes.count)")
        fuzzRequire(file.layout.sections.first?.type == "MODL", "\(variant): first section is not MODL in a valid file")
        do {
            let layout = try FFFReader.layout(of: bytes)
            fuzzRequire(layout == file.layout, "\(variant): layout(of:) differs from readFile's layout")
        } catch {
            fuzzFail("\(variant): readFile succeeds but layout(of:) fails with \(error)")
        }
        roundTrip(file.model, selector: fuzzHash(bytes), variant: variant)
        checkProvenance(file, variant: variant)
    }
}

/// Oracle 5: FFFReader.readFile(contentsOf:) (which reads a regular file piece by piece with
/// pread) gives the same verdict as reading the bytes in memory.
private func checkFileOnDisk(_ bytes: UnsafeRawBufferPointer, variant: String) {
    let path = scratchPath
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    fuzzRequire(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        fuzzRequire(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
    var options = readOptions
    options.workspaceLimit = 1 + Int((fuzzHash(bytes) >> 8) % 256)
    let fromDisk = Result { () throws(FFFError) in try FFFReader.readFile(contentsOf: path, options: options) }
    let inMemory = FFFValidator.validate(bytes: bytes, options: readOptions)
    let what = "\(variant), workspace \(options.workspaceLimit)"
    switch fromDisk {
    case .success:
        fuzzRequire(inMemory == nil, "\(what): read(contentsOf:) accepts a file that validate(bytes:) rejects with \(inMemory!)")
    case .failure(let error):
        fuzzRequire(inMemory == error, "\(what): read(contentsOf:) fails with \(error); validate(bytes:) gives \(inMemory.map { "\($0)" } ?? "valid")")
    }
}

/// One scratch file per process (libFuzzer runs inputs one at a time), in $TMPDIR or /tmp.
private let scratchPath: String = {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return "\(directory)/fff-fuzz-model-reader-\(getpid()).fff"
}()

private func roundTrip(_ model: FFFModel, selector: UInt64, variant: String) {
    let choices: [FFFWriter.Options] = [
        FFFWriter.Options(),  // the reference: zstd level 19, shuffle
        FFFWriter.Options(codec: .zstd, level: 1, shuffle: false),
        FFFWriter.Options(codec: .none, shuffle: true),
        FFFWriter.Options(codec: .none, shuffle: false),
    ]
    var options = choices[Int(selector % UInt64(choices.count))]
    // zstd level 19 costs ~1 s per MB: keep big models fast.
    if options.codec == .zstd, decodedBytes(model) > 256 << 10 { options.level = 1 }
    let what = "\(variant), writer codec \(options.codec) level \(options.level) shuffle \(options.shuffle)"

    let written = FFFWriter.write(model, options: options)
    if let error = FFFValidator.validate(bytes: written, options: FFFReader.Options(maxDecodedBytes: .max)) {
        fuzzFail("\(what): the writer's output does not validate: \(error)")
    }
    let again: FFFModel
    do {
        again = try FFFReader.read(bytes: written, options: FFFReader.Options(maxDecodedBytes: .max))
    } catch {
        fuzzFail("\(what): the writer's output does not read back: \(error)")
    }
    if let difference = firstDifference(model, again) {
        fuzzFail("\(what): the model read back differs: \(difference)")
    }
    let rewritten = FFFWriter.write(again, options: options)
    fuzzRequire(rewritten == written, "\(what): writing the read-back model gives different bytes (\(rewritten.count) vs \(written.count))")
    let minor: UInt8 = model.card != nil || model.signatures != nil ? 2 : model.weightType == .float32 ? 0 : 1
    fuzzRequire(written[10] == minor && written[11] == 0,
                "\(what): minor version \(written[10]) for weight type \(model.weightType), card \(model.card != nil), signatures \(model.signatures != nil)")
    checkCompact(model, variant: variant)
}

/// The compact types' invariants (format 1.1) on a model read from a file.
private func checkCompact(_ model: FFFModel, variant: String) {
    let nodes = model.depth >= 1
    fuzzRequire(model.nodeType == .float32 || (model.weightType != .float32 && nodes),
                "\(variant): node type \(model.nodeType) with weight type \(model.weightType) at depth \(model.depth)")
    for tensor in WeightTensor.allCases {
        let type = model.elementType(of: tensor)
        let values = model.weights(of: tensor)
        let scales = model.rowScales[tensor]
        switch type {
        case .float32:
            fuzzRequire(scales.isEmpty && model.int8Values(of: tensor) == nil, "\(variant): \(tensor) float32 with int8-row data")
        case .float16, .bfloat16:
            fuzzRequire(scales.isEmpty && model.int8Values(of: tensor) == nil, "\(variant): \(tensor) \(type) with int8-row data")
            for value in values {
                fuzzRequire(value.isFinite, "\(variant): \(tensor) \(type) value \(value)")
                let back = type == .float16 ? WeightEncoding.float(float16: WeightEncoding.float16Bits(value))
                                            : WeightEncoding.float(bfloat16: WeightEncoding.bfloat16Bits(value))
                fuzzRequire(back.bitPattern == value.bitPattern, "\(variant): \(tensor) \(type) value \(value) does not re-encode exactly")
            }
        case .int8Row:
            let present = tensor == .nodes ? nodes : (tensor == .masterHidden || tensor == .masterOutput ? model.masterLeaf != nil : true)
            guard present else { continue }
            guard let q = model.int8Values(of: tensor) else { fuzzFail("\(variant): \(tensor) int8-row without q") }
            fuzzRequire(q.count == values.count, "\(variant): \(tensor) has \(q.count) q for \(values.count) values")
            fuzzRequire(scales.allSatisfy { $0.isFinite && $0 > 0 }, "\(variant): \(tensor) has a scale that is not finite and positive")
            let layout = RowLayout.of(tensor, input: model.inputWidth, output: model.outputWidth, depth: model.depth,
                                      leafWidth: model.leafWidth, masterWidth: model.masterLeaf?.width ?? 0)
            fuzzRequire(scales.count == layout.rows, "\(variant): \(tensor) has \(scales.count) scales for \(layout.rows) rows")
            for k in values.indices {
                let row = (k / (layout.reduced * layout.inner)) * layout.inner + k % layout.inner
                fuzzRequire(q[k] != -128, "\(variant): \(tensor) q[\(k)] is -128")
                let exact = WeightEncoding.dequantize(scale: scales[row], q: q[k])
                fuzzRequire(exact.bitPattern == values[k].bitPattern, "\(variant): \(tensor)[\(k)] is \(values[k]), scale * q is \(exact)")
                if values[k].isFinite {
                    fuzzRequire(Int8((values[k] / scales[row]).rounded(.toNearestOrEven)) == q[k],
                                "\(variant): \(tensor)[\(k)]: (w / scale).rounded() is not q \(q[k])")
                }
            }
        }
    }
}

private func decodedBytes(_ m: FFFModel) -> Int {
    4 * (m.nodeWeights.count + m.leafHiddenWeights.count + m.leafOutputWeights.count + (m.masterLeaf?.hiddenWeights.count ?? 0))
}

/// The first field in which the models differ, comparing floats by bit pattern (so -0.0 vs +0.0
/// counts) and strings by their UTF-8 bytes (Swift's == would merge canonical equivalents).
private func firstDifference(_ a: FFFModel, _ b: FFFModel) -> String? {
    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
    let scalars: [(String, Int, Int)] = [
        ("inputWidth", a.inputWidth, b.inputWidth), ("outputWidth", a.outputWidth, b.outputWidth),
        ("depth", a.depth, b.depth), ("leafWidth", a.leafWidth, b.leafWidth),
        ("activation", Int(a.activation.rawValue), Int(b.activation.rawValue)),
    ]
    for (name, x, y) in scalars where x != y { return "\(name) \(x) vs \(y)" }
    if a.weightType != b.weightType || a.nodeType != b.nodeType {
        return "element types \(a.weightType)/\(a.nodeType) vs \(b.weightType)/\(b.nodeType)"
    }
    for tensor in WeightTensor.allCases {
        if bits(a.rowScales[tensor]) != bits(b.rowScales[tensor]) { return "row scales of \(tensor)" }
        if a.int8Values(of: tensor) != b.int8Values(of: tensor) { return "int8 values of \(tensor)" }
    }
    let tensors: [(String, [Float], [Float])] = [
        ("nodeWeights", a.nodeWeights, b.nodeWeights), ("nodeBiases", a.nodeBiases, b.nodeBiases),
        ("leafHiddenWeights", a.leafHiddenWeights, b.leafHiddenWeights),
        ("leafHiddenBiases", a.leafHiddenBiases, b.leafHiddenBiases),
        ("leafOutputWeights", a.leafOutputWeights, b.leafOutputWeights),
        ("leafOutputBiases", a.leafOutputBiases, b.leafOutputBiases),
        ("preprocessing.scale", a.preprocessing?.scale ?? [], b.preprocessing?.scale ?? []),
        ("preprocessing.offset", a.preprocessing?.offset ?? [], b.preprocessing?.offset ?? []),
        ("master.hiddenWeights", a.masterLeaf?.hiddenWeights ?? [], b.masterLeaf?.hiddenWeights ?? []),
        ("master.hiddenBiases", a.masterLeaf?.hiddenBiases ?? [], b.masterLeaf?.hiddenBiases ?? []),
        ("master.outputWeights", a.masterLeaf?.outputWeights ?? [], b.masterLeaf?.outputWeights ?? []),
        ("master.outputBiases", a.masterLeaf?.outputBiases ?? [], b.masterLeaf?.outputBiases ?? []),
    ]
    for (name, x, y) in tensors where bits(x) != bits(y) { return "\(name) (\(x.count) vs \(y.count) values)" }
    if (a.preprocessing == nil) != (b.preprocessing == nil) { return "preprocessing presence" }
    if (a.masterLeaf == nil) != (b.masterLeaf == nil) { return "master leaf presence" }
    if a.masterLeaf?.width != b.masterLeaf?.width { return "master width" }
    if a.masterLeaf?.mixingLogit.bitPattern != b.masterLeaf?.mixingLogit.bitPattern { return "mixing logit" }
    if a.labels.map({ $0.map { Array($0.utf8) } }) != b.labels.map({ $0.map { Array($0.utf8) } }) { return "labels" }
    if a.metadata.map({ [Array($0.key.utf8), Array($0.value.utf8)] }) != b.metadata.map({ [Array($0.key.utf8), Array($0.value.utf8)] }) {
        return "metadata"
    }
    if a.card?.entries.map({ [Array($0.key.utf8), Array($0.value.utf8)] }) != b.card?.entries.map({ [Array($0.key.utf8), Array($0.value.utf8)] }) {
        return "card"
    }
    if a.signatures != b.signatures { return "signatures" }
    if a != b { return "FFFModel == says they differ" }
    return nil
}

/// The identity message pieces of a file, joined.
private func identityMessage(_ file: FFFFile) -> [UInt8] {
    var bytes: [UInt8] = []
    file.forEachIdentityPiece { bytes.append(contentsOf: $0) }
    return bytes
}

/// Provenance on a valid file: its identity message (from the stored MODL/PREP and the model's
/// re-encoded tensors) starts with the prefix and holds every critical section's decoded length;
/// the model's message equals it when the file is of a minor version this reader implements;
/// a plain rewrite keeps it, and the labels and card payloads.
private func checkProvenance(_ file: FFFFile, variant: String) {
    let message = identityMessage(file)
    fuzzRequire(message.starts(with: IdentityMessage.prefix), "\(variant): identity message prefix")
    let critical = file.layout.sections.filter(\.isCritical)
    let expected = IdentityMessage.prefix.count + critical.reduce(0) { $0 + 12 + $1.decodedLength }
    fuzzRequire(message.count == expected, "\(variant): identity message of \(message.count) bytes; the critical sections make \(expected)")
    var modelMessage: [UInt8] = []
    file.model.forEachIdentityPiece { modelMessage.append(contentsOf: $0) }
    let implemented = file.layout.minorVersion <= 2
    if implemented {
        fuzzRequire(modelMessage == message, "\(variant): the model's identity message differs from the file's")
        fuzzRequire(file.labelsPayload == file.model.labelsPayload, "\(variant): labels payload differs from the writer's")
        fuzzRequire(file.cardPayload == file.model.cardPayload, "\(variant): card payload differs from the writer's")
    }
    let written = FFFWriter.write(file.model, options: FFFWriter.Options(codec: .none, shuffle: false))
    guard let again = try? FFFReader.readFile(bytes: written, options: FFFReader.Options(maxDecodedBytes: .max)) else {
        fuzzFail("\(variant): a plain rewrite does not read back")
    }
    fuzzRequire(identityMessage(again) == modelMessage, "\(variant): a rewrite changes the model's identity message")
    if implemented {
        fuzzRequire(again.cardPayload == file.cardPayload && again.labelsPayload == file.labelsPayload,
                    "\(variant): a rewrite changes the card or labels payload")
    }
}

/// The input with the header checksum, every section checksum whose stored bytes lie inside the
/// input, and the table checksum recomputed; nil if that changes nothing (or there is no header).
/// Reads only what the bounds allow: it must itself never crash on garbage.
private func withFixedChecksums(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
    guard input.count >= 32 else { return nil }
    var bytes = [UInt8](input)
    func u32(_ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
    func u64(_ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
    func put(_ value: UInt32, at: Int) {
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }
    func crc(_ range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
    let count = Int(u32(12))
    if count >= 1, count <= 1024 {
        let entriesEnd = 32 + 40 * count
        if entriesEnd <= bytes.count {
            for index in 0..<count {
                let entry = 32 + 40 * index
                let offset = u64(entry + 8), stored = u64(entry + 16)
                if offset <= UInt64(bytes.count), stored <= UInt64(bytes.count) - offset {
                    put(crc(Int(offset) ..< Int(offset + stored)), at: entry + 36)
                }
            }
            if entriesEnd + 4 <= bytes.count { put(crc(32 ..< entriesEnd), at: entriesEnd) }
        }
    }
    put(crc(0 ..< 28), at: 28)
    return bytes.elementsEqual(input) ? nil : bytes
}
