import Testing
@testable import FFFFormat

/// The validation rules of format 1.1 (compact weights), each on a file built by the
/// independent test encoder, with its code and its place in §16's order.
@Suite struct CompactValidationTests {
    /// A file of the raw model with MODL's bytes 25 ... 27 as given and sections of those types.
    private func file(_ m: RawModel) -> RawFile { m.file }

    private func error(_ bytes: [UInt8]) -> FFFError? { readError(bytes) }

    /// MODL's file offset in a plain file.
    private func modlOffset(_ file: RawFile) -> Int { Raw.sectionOffset(file.bytes, type: "MODL")! }

    // MARK: - Step 12: MODL bytes 25 ... 27

    /// Every pair of types at depth 0, 1 and 2, with and without a master leaf: compact nodes need
    /// compact weights and nodes; everything else reads, with its types.
    @Test func everyTypeCombination() throws {
        for depth: UInt32 in [0, 1, 2] {
            for master: UInt32 in [0, 2] {
                for weight: UInt8 in 0...3 {
                    for node: UInt8 in 0...3 {
                        let m = RawModel(depth: depth, masterWidth: master, weightType: weight, nodeType: node,
                                         mixingLogitBits: master > 0 ? Float(0.5).bitPattern : 0)
                        let f = file(m)
                        let label = "d\(depth) M\(master) weight \(weight) node \(node)"
                        if node != 0 && (weight == 0 || depth == 0) {
                            let e = error(f.bytes)
                            #expect(e?.code == .invalidValue, "\(label): \(String(describing: e))")
                            #expect(e?.offset == modlOffset(f) + 26, "\(label)")
                            continue
                        }
                        let read = try FFFReader.readFile(bytes: f.bytes)
                        #expect(read.model.weightType.rawValue == weight, "\(label)")
                        #expect(read.model.nodeType.rawValue == node, "\(label)")
                        // The same model written again: a file of the same types and payloads.
                        var expected = f
                        expected.minor = weight == 0 ? 0 : 1
                        #expect(FFFWriter.write(read.model, options: .init(codec: .none, shuffle: false)) == expected.bytes, "\(label)")
                    }
                }
            }
        }
    }

    @Test func typeRangesAreUnsupportedFeature() {
        for code: UInt8 in [4, 5, 0x80, 255] {
            let weight = file(RawModel(weightType: code)).bytes
            #expect(error(weight)?.code == .unsupportedFeature)
            #expect(error(weight)?.offset == modlOffset(file(RawModel())) + 25)
            for w: UInt8 in [0, 1, 3] {
                let f = file(RawModel(weightType: w, nodeType: code))
                // The range comes first, before the rule on float32 weights.
                #expect(error(f.bytes)?.code == .unsupportedFeature)
                #expect(error(f.bytes)?.offset == modlOffset(f) + 26)
            }
            // ...and before the rule on depth 0.
            let depth0 = file(RawModel(depth: 0, weightType: 1, nodeType: code))
            #expect(error(depth0.bytes)?.code == .unsupportedFeature)
        }
    }

    /// MODL's fields in table order: activation (24), weight type (25), node type (26: range,
    /// float32 weights, depth 0), reserved byte 27, then the logit.
    @Test func modelHeaderOrder() {
        func first(_ m: RawModel) -> (FFFErrorCode?, Int?) {
            let f = file(m)
            let e = error(f.bytes)
            return (e?.code, e.flatMap { $0.offset.map { $0 - modlOffset(f) } })
        }
        #expect(first(RawModel(activation: 9, weightType: 9)) == (.unsupportedFeature, 24))
        #expect(first(RawModel(weightType: 9, nodeType: 9)) == (.unsupportedFeature, 25))
        #expect(first(RawModel(weightType: 9, nodeType: 1)) == (.unsupportedFeature, 25))
        #expect(first(RawModel(depth: 0, weightType: 0, nodeType: 2)) == (.invalidValue, 26))
        #expect(first(RawModel(weightType: 0, nodeType: 1, reserved27: 1)) == (.invalidValue, 26))
        #expect(first(RawModel(depth: 0, weightType: 2, nodeType: 2, reserved27: 1)) == (.invalidValue, 26))
        #expect(first(RawModel(weightType: 1, nodeType: 1, reserved27: 1)) == (.reservedNonzero, 27))
        #expect(first(RawModel(weightType: 0, nodeType: 1, mixingLogitBits: Float.nan.bitPattern)) == (.invalidValue, 26))
        #expect(first(RawModel(weightType: 1, reserved27: 1, mixingLogitBits: Float.nan.bitPattern)) == (.reservedNonzero, 27))
        #expect(first(RawModel(weightType: 3, mixingLogitBits: Float.nan.bitPattern)) == (.nonFiniteParameter, 28))
        #expect(first(RawModel(weightType: 2, mixingLogitBits: Float(1).bitPattern)) == (.invalidValue, 28))
        // The depth checked at byte 12 comes first of all.
        let deep = readError(RawFile(sections: [RawSection("MODL", RawModel(depth: 25, weightType: 9).modl)]).bytes)
        #expect(deep?.code == .limitExceeded)
        #expect(deep?.message.contains("depth") == true)
        let messages = [
            error(file(RawModel(weightType: 0, nodeType: 1)).bytes)?.message ?? "",
            error(file(RawModel(depth: 0, weightType: 1, nodeType: 1)).bytes)?.message ?? "",
        ]
        #expect(messages[0].contains("weight element type 0"))
        #expect(messages[1].contains("depth 0"))
    }

    /// A 1.2 reader gives bytes 25 and 26 their meaning whatever the minor version; reserved
    /// byte 27 must be zero in files of minor version 0, 1 and 2 only (§2.2).
    @Test func minorVersions() throws {
        for minor: UInt16 in [0, 1, 2, 3, 9] {
            var f = file(RawModel(weightType: 1, nodeType: 1))
            f.minor = minor
            #expect(try FFFReader.readFile(bytes: f.bytes).model.weightType == .float16)
            var reserved = file(RawModel(weightType: 1, nodeType: 1, reserved27: 0x5A))
            reserved.minor = minor
            #expect(error(reserved.bytes)?.code == (minor <= 2 ? .reservedNonzero : nil))
            // A newer minor version does not make byte 26 reserved again.
            var node = file(RawModel(weightType: 0, nodeType: 1))
            node.minor = minor
            #expect(error(node.bytes)?.code == .invalidValue)
        }
    }

    /// §15 with the element sizes, at the end of step 12: float16 halves a tensor's bytes,
    /// int8-row adds 4 bytes per row. Files of MODL alone: passing step 12 means
    /// `missing-section` at step 13.
    @Test func tensorLimitsFollowTheTypes() {
        func verdict(_ m: RawModel) -> FFFError? {
            error(RawFile(sections: [RawSection("MODL", m.modl)]).bytes)
        }
        // MSW1 [2^17][2^16]: 2^35 bytes in float32, 2^34 in float16 or bfloat16.
        let wide = RawModel(input: 1 << 17, output: 1, depth: 0, leafWidth: 1, masterWidth: 1 << 16, mixingLogitBits: 0)
        #expect(verdict(wide)?.code == .limitExceeded)
        #expect(verdict(wide)?.message.contains("MSW1") == true)
        for type: UInt8 in [1, 2] {
            var half = wide
            half.weightType = type
            #expect(verdict(half)?.code == .missingSection)
        }
        var q = wide
        q.weightType = 3  // 2^16 rows * 4 + 2^33: within
        #expect(verdict(q)?.code == .missingSection)
        // LFW1 [2^16][1][2^16]: 2^34 bytes in float32 (the limit), 4 * 2^32 + 2^32 in int8-row.
        let rows = RawModel(input: 1, output: 1, depth: 16, leafWidth: 1 << 16)
        #expect(verdict(rows)?.code == .missingSection)
        var rowsQ = rows
        rowsQ.weightType = 3
        #expect(verdict(rowsQ)?.code == .limitExceeded)
        #expect(verdict(rowsQ)?.message.contains("LFW1") == true)
        // NODW [2^24 - 1][1] in int8-row: 5 (2^24 - 1) bytes, within the limit.
        var nodes = RawModel(input: 1, output: 1, depth: 24, leafWidth: 1)
        nodes.weightType = 3
        nodes.nodeType = 3
        #expect(verdict(nodes)?.code == .missingSection)
    }

    // MARK: - Step 14: decoded lengths

    @Test func decodedLengthsByType() {
        let shapes: [(UInt8, Int)] = [(1, 2 * 12), (2, 2 * 12), (3, 4 * 4 + 12)]  // LFW1 [2][3][2]: 4 rows
        for (type, length) in shapes {
            let m = RawModel(weightType: type, nodeType: type)
            var f = file(m)
            let lfw1 = f.index(of: "LFW1")!
            #expect(f.sections[lfw1].decodedLength == UInt64(length))
            #expect(readError(f.bytes) == nil)
            // float32's length, one byte short, int8-row without its scales.
            for wrong in [4 * 12, length - 1, length + 1, 12] {
                var bad = f
                bad.sections[lfw1] = RawSection("LFW1", [UInt8](repeating: 0x11, count: wrong))
                let e = readError(bad.bytes)
                #expect(e?.code == .shapeMismatch, "type \(type), \(wrong) bytes: \(String(describing: e))")
                #expect(e?.section == "LFW1")
            }
            // Checked before decoding: a corrupt frame of the wrong length is a shape mismatch.
            var frame = RawSection("LFW1", [UInt8](repeating: 0x11, count: length + 2)).zstd()
            frame.stored[frame.stored.count - 1] ^= 0xFF
            f.sections[lfw1] = frame
            #expect(readError(f.bytes)?.code == .shapeMismatch)
            // NODW [1][3] by the node type.
            var nodes = file(m)
            let nodw = nodes.index(of: "NODW")!
            nodes.sections[nodw] = RawSection("NODW", Raw.floats([1, 2, 3]))
            #expect(readError(nodes.bytes)?.code == .shapeMismatch)
            #expect(readError(nodes.bytes)?.section == "NODW")
        }
        // Biases stay float32 in a compact model.
        var biases = file(RawModel(weightType: 1, nodeType: 1))
        let lfb1 = biases.index(of: "LFB1")!
        biases.sections[lfb1] = RawSection("LFB1", [UInt8](repeating: 0, count: 8))
        #expect(readError(biases.bytes)?.code == .shapeMismatch)
    }

    /// Any shuffle unit dividing the decoded length is accepted, for every type; one that does
    /// not is invalid-value (§4.2).
    @Test func shuffleUnitsOnCompactSections() throws {
        // LFW2 [2][2][2]: 16 bytes in float16, 4 * 4 + 8 = 24 in int8-row; NODW [1][3]: 6 and 7.
        for type: UInt8 in [1, 3] {
            let m = RawModel(weightType: type, nodeType: type)
            let plain = try FFFReader.read(bytes: file(m).bytes)
            for unit in [2, 4, 8] {
                var f = file(m)
                let lfw2 = f.index(of: "LFW2")!
                f.sections[lfw2] = f.sections[lfw2].shuffled(unit: unit)
                #expect(try FFFReader.read(bytes: f.bytes) == plain, "type \(type) unit \(unit)")
                f.sections[lfw2] = f.sections[lfw2].zstd()
                #expect(try FFFReader.read(bytes: f.bytes) == plain)
            }
            var odd = file(m)
            let nodw = odd.index(of: "NODW")!
            odd.sections[nodw].filter = 1
            odd.sections[nodw].unit = type == 1 ? 4 : 2  // 6 bytes by 4, 7 bytes by 2
            let e = readError(odd.bytes)
            #expect(e?.code == .invalidValue)
            #expect(e?.section == "NODW")
        }
    }

    // MARK: - Step 15: contents

    /// float16 and bfloat16: an element whose exponent bits are all ones is
    /// non-finite-parameter, first element first, stored in any way; subnormals and -0.0 are
    /// values.
    @Test func sixteenBitElements() throws {
        for (type, bad, good) in [(UInt8(1), [0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF] as [UInt16], [0x0001, 0x8000, 0x7BFF, 0xFBFF, 0x03FF] as [UInt16]),
                                  (2, [0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF], [0x0001, 0x8000, 0x7F7F, 0xFF7F, 0x007F])] {
            let m = RawModel(weightType: type, nodeType: type)
            for (k, pattern) in bad.enumerated() {
                var values = [UInt16](repeating: 0x3C00, count: 8)  // LFW2 [2][2][2]
                values[5] = pattern
                values[7] = bad[(k + 1) % bad.count]  // a later one must not be reported instead
                var f = file(m)
                let lfw2 = f.index(of: "LFW2")!
                f.sections[lfw2] = RawSection("LFW2", values.flatMap { Raw.le($0) })
                let e = readError(f.bytes)
                #expect(e?.code == .nonFiniteParameter, "type \(type) \(pattern)")
                #expect(e?.message.contains("[5]") == true)
                #expect(e?.offset == Raw.sectionOffset(f.bytes, type: "LFW2")! + 10)
                f.sections[lfw2] = f.sections[lfw2].shuffled(unit: 2).zstd()
                #expect(readError(f.bytes)?.code == .nonFiniteParameter)
                f.sections[lfw2] = RawSection("LFW2", values.flatMap { Raw.le($0) }).shuffled(unit: 8)
                #expect(readError(f.bytes)?.code == .nonFiniteParameter)
            }
            var f = file(m)
            let lfw2 = f.index(of: "LFW2")!
            f.sections[lfw2] = RawSection("LFW2", (good + [0x3C00, 0x0000, 0x8001]).flatMap { Raw.le($0) })
            let model = try FFFReader.read(bytes: f.bytes)
            let expected = (good + [0x3C00, 0x0000, 0x8001]).map { type == 1 ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
            #expect(bits(model.leafOutputWeights) == bits(expected))
            #expect(model.leafOutputWeights[0] != 0)  // subnormals are not flushed
        }
    }

    private func int8Payload(scales: [Float], q: [Int8]) -> [UInt8] {
        Raw.floats(scales) + q.map { UInt8(bitPattern: $0) }
    }

    /// int8-row: the decoded values are scale * q; scales checked in row order (non-finite, then
    /// not positive), then q (-128).
    @Test func int8RowContents() throws {
        let m = RawModel(weightType: 3, nodeType: 3)  // LFW1 [2][3][2]: rows a * 2 + c
        func with(_ scales: [Float], _ q: [Int8], zstd: Bool = false) -> [UInt8] {
            var f = file(m)
            let lfw1 = f.index(of: "LFW1")!
            f.sections[lfw1] = RawSection("LFW1", int8Payload(scales: scales, q: q))
            if zstd { f.sections[lfw1] = f.sections[lfw1].zstd() }
            return f.bytes
        }
        let q: [Int8] = [1, -1, 127, -127, 0, 5, 6, 7, 8, 9, 10, 11]
        let scales: [Float] = [0.5, 0.25, .leastNonzeroMagnitude, 3]
        let model = try FFFReader.read(bytes: with(scales, q))
        #expect(model.rowScales.leafHidden == scales)
        #expect(model.int8Values(of: .leafHidden) == q)
        for k in 0..<12 {
            let row = (k / 6) * 2 + k % 2
            #expect(model.leafHiddenWeights[k] == Float(Double(scales[row]) * Double(q[k])))
        }
        #expect(model.leafHiddenWeights[0] == 0.5 && model.leafHiddenWeights[1] == -0.25)
        // Scales: non-finite first, then not positive; the first failing scale decides.
        let lfw1 = Raw.sectionOffset(with(scales, q), type: "LFW1")!
        for (bad, code) in [(Float.nan, FFFErrorCode.nonFiniteParameter), (.infinity, .nonFiniteParameter), (-.infinity, .nonFiniteParameter),
                            (0, .invalidValue), (-0.0, .invalidValue), (-1, .invalidValue), (-.leastNonzeroMagnitude, .invalidValue)] {
            var s = scales
            s[2] = bad
            let e = readError(with(s, q))
            #expect(e?.code == code, "\(bad)")
            #expect(e?.offset == lfw1 + 8)
            #expect(readError(with(s, q, zstd: true))?.code == code)
        }
        #expect(readError(with([0.5, -1, .nan, 1], q))?.code == .invalidValue)        // row order
        #expect(readError(with([0.5, .nan, -1, 1], q))?.code == .nonFiniteParameter)
        // q: -128 is invalid-value, after every scale.
        var minus = q
        minus[7] = -128
        let e = readError(with(scales, minus))
        #expect(e?.code == .invalidValue)
        #expect(e?.offset == lfw1 + 16 + 7)
        #expect(readError(with([1, 1, 1, 0], minus))?.code == .invalidValue)
        #expect(readError(with([1, 1, 1, .nan], minus))?.code == .nonFiniteParameter)
        #expect(readError(with([1, 1, 1, -0.0], minus))?.message.contains("scale") == true)
        // Table order: a bad earlier section (NODW) wins over a bad LFW1.
        var f = file(m)
        let nodw = f.index(of: "NODW")!
        f.sections[nodw] = RawSection("NODW", int8Payload(scales: [1], q: [-128, 0, 0]))
        f.sections[f.index(of: "LFW1")!] = RawSection("LFW1", int8Payload(scales: [.nan, 1, 1, 1], q: q))
        #expect(readError(f.bytes)?.section == "NODW")
        #expect(readError(f.bytes)?.code == .invalidValue)
    }

    /// A scale whose products exceed float32 is valid (§7.2.4): the float32 view is infinite,
    /// the exact values stay in the scales and q, and the file is written again as it was.
    @Test func hugeScalesAreValid() throws {
        var f = file(RawModel(weightType: 3))
        let lfw1 = f.index(of: "LFW1")!
        let q: [Int8] = [1, -1, 127, -127, -2, 5, 6, 7, 8, 9, 10, 11]  // row 0: elements 0, 2, 4
        f.sections[lfw1] = RawSection("LFW1", int8Payload(scales: [.greatestFiniteMagnitude, 1, 1, 1], q: q))
        let model = try FFFReader.read(bytes: f.bytes)
        #expect(model.leafHiddenWeights[0] == .greatestFiniteMagnitude)
        #expect(model.leafHiddenWeights[2] == .infinity)    // FLT_MAX * 127
        #expect(model.leafHiddenWeights[4] == -.infinity)
        #expect(model.leafHiddenWeights[3] == -127)
        #expect(model.int8Values(of: .leafHidden) == q)
        var expected = f
        expected.minor = 1
        #expect(FFFWriter.write(model, options: .init(codec: .none, shuffle: false)) == expected.bytes)
        expectThrows(.invalidValue) { try model.converted(weightType: .bfloat16) }
        expectThrows(.nonFiniteParameter) { try model.converted(weightType: .float32) }
    }

    // MARK: - Budget and bounds

    /// The reader's budget counts decoded lengths in the element types.
    @Test func budgetCountsCompactLengths() throws {
        for type: UInt8 in [1, 2, 3] {
            let bytes = file(RawModel(weightType: type, nodeType: type)).bytes
            let layout = try FFFReader.readFile(bytes: bytes).layout
            let total = UInt64(layout.sections.reduce(0) { $0 + $1.decodedLength })
            #expect(readError(bytes, options: .init(maxDecodedBytes: total)) == nil)
            #expect(readError(bytes, options: .init(maxDecodedBytes: total - 1))?.code == .limitExceeded)
        }
    }
}
