// libFuzzer targets for the record parsers (Sources/FFFRecords), see fuzz/README.md.
//
// Compiled in one module with Sources/FFFRecords/*.swift and one of -D FUZZ_TEXT, FUZZ_IDX,
// FUZZ_NPY, FUZZ_RAW, giving records_text, records_idx, records_npy, records_raw.
//
// Input: byte 0 chooses the settings, byte 1 the record width (text and raw formats; IDX and NPY
// take the width from their own header when it parses), the rest is the stream.
//   byte 0 bits 0-1: how the second reader's source hands out bytes (1 byte at a time, random
//                    1 ... 7, random 1 ... 4099, fixed 4097)
//          bit 2:    allowNonFinite
//          bits 3-4: header policy (auto, skip, none, auto)           [text]
//          bits 5-6: format: auto, csv, tsv, text                      [text]
//                    f32, f64, u8, auto                               [raw]
//                    the format itself, or auto (bit 5)               [idx, npy]
//          bit 7:    detectGzip off
// Oracles:
//   1. Chunking independence: a reader over the whole stream and one over the same bytes handed
//      out in small or odd chunks return the same records (bit for bit) and the same final error
//      (kind, record, column, offset, message), and the same detected format and declared count.
//   2. With allowNonFinite off, every value returned is finite.
//   3. IDX/NPY: never more records than the header declares.
//   4. Error places: a record number is at most (records returned + 1); a byte offset is at most
//      the (decompressed) stream length; the message is not empty.
//   5. [text] DecimalParser agrees with Float(String) on every token it accepts (bit for bit,
//      any NaN for NaN); its `next` lies inside the token.
//   6. [text] The integer-line fast paths (Sources/CFFFTextParsing) on every line, with ',' and
//      tab: the portable one and, where the CPU has AVX2, the AVX2 one take and refuse the same
//      lines and give the same count and values; each value is Float(String) of its field; with
//      a smaller capacity, the same count and nothing written past the capacity.
// Any violation aborts. ASan and Swift's runtime checks catch the rest.

#if canImport(Glibc)
import Glibc
#endif
#if FUZZ_TEXT
import CFFFTextParsing
#endif

/// At most this many records are read per input, so one input cannot run for long.
private let maxRecords = 4096

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecords(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard input.count >= 2 else { return 0 }
    let control = input[0]
    let data = [UInt8](input[2...])
    #if FUZZ_TEXT
    checkDecimalParser(data)
    checkDigitFieldPaths(data)
    #endif

    let (format, width) = formatAndWidth(control: control, widthByte: input[1], data: data)
    let options = RecordReaderOptions(
        allowNonFinite: control & 4 != 0,
        header: [.auto, .skip, .none, .auto][Int(control >> 3) & 3],
        bufferSize: 4096,
        detectGzip: control & 0x80 == 0)
    let seed = fuzzHash(input)
    let chunking: MemorySource.Chunking = [
        .fixed(1), .random(seed: seed, maxChunk: 7), .random(seed: seed, maxChunk: 4099), .fixed(4097),
    ][Int(control & 3)]

    let whole = readAll(data, .whole, format: format, width: width, options: options)
    let chunked = readAll(data, chunking, format: format, width: width, options: options)
    let setting = "format \(format.rawValue), width \(width), \(chunking), allowNonFinite \(options.allowNonFinite), header \(options.header), detectGzip \(options.detectGzip)"

    fuzzRequire(whole.records == chunked.records,
                "\(setting): \(whole.records.count) records from the whole stream, \(chunked.records.count) chunked; first difference at record \(zip(whole.records, chunked.records).enumerated().first(where: { $0.element.0 != $0.element.1 }).map { $0.offset + 1 } ?? min(whole.records.count, chunked.records.count) + 1)")
    fuzzRequire(whole.error == chunked.error,
                "\(setting): whole stream ends with \(describe(whole.error)), chunked with \(describe(chunked.error))")
    fuzzRequire(whole.format == chunked.format && whole.declared == chunked.declared,
                "\(setting): detected format/declared count \(String(describing: whole.format))/\(String(describing: whole.declared)) vs \(String(describing: chunked.format))/\(String(describing: chunked.declared))")

    if !options.allowNonFinite {
        for (index, record) in whole.records.enumerated() {
            if let bad = record.firstIndex(where: { !Float(bitPattern: $0).isFinite }) {
                fuzzFail("\(setting): record \(index + 1) value \(bad + 1) is \(Float(bitPattern: record[bad])) with allowNonFinite off")
            }
        }
    }
    if let declared = whole.declared {
        fuzzRequire(whole.records.count <= declared, "\(setting): \(whole.records.count) records, header declares \(declared)")
    }
    if let error = whole.error {
        fuzzRequire(!error.message.isEmpty, "\(setting): empty message for \(error.kind)")
        if let number = error.recordNumber {
            fuzzRequire(number >= 1 && number <= whole.records.count + 1,
                        "\(setting): error names record \(number) after \(whole.records.count) records: \(error)")
        }
        if let offset = error.byteOffset, !whole.compressed, error.kind != .corruptCompression {
            fuzzRequire(offset >= 0 && offset <= data.count, "\(setting): error offset \(offset) beyond the \(data.count)-byte stream: \(error)")
        }
    }
    return 0
}

private struct Outcome {
    var records: [[UInt32]] = []
    var error: RecordError?
    var format: RecordFormat?
    var declared: Int?
    var compressed = false
}

private func readAll(_ data: [UInt8], _ chunking: MemorySource.Chunking, format: RecordFormat, width: Int,
                     options: RecordReaderOptions) -> Outcome {
    var outcome = Outcome()
    let reader: RecordReader
    switch Result(catching: { () throws(RecordError) -> RecordReader in
        try RecordReader(source: MemorySource(data, chunking: chunking), format: format, expectedWidth: width, options: options)
    }) {
    case .success(let made): reader = made
    case .failure(let error):
        outcome.error = error
        return outcome
    }
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: width)
    while outcome.records.count < maxRecords {
        let step = Result(catching: { () throws(RecordError) -> Bool in try reader.next(into: buffer) })
        guard case .success(let found) = step else {
            if case .failure(let error) = step { outcome.error = error }
            break
        }
        if !found { break }
        outcome.records.append(buffer.map(\.bitPattern))
    }
    buffer.deallocate()
    outcome.format = reader.format
    outcome.declared = reader.declaredRecordCount
    outcome.compressed = reader.isCompressed
    return outcome
}

private func describe(_ error: RecordError?) -> String {
    guard let error else { return "no error" }
    return "\(error.kind) record \(error.recordNumber.map(String.init) ?? "-") column \(error.column.map(String.init) ?? "-") offset \(error.byteOffset.map(String.init) ?? "-"): \(error.message)"
}

/// The format and record width this input asks for.
private func formatAndWidth(control: UInt8, widthByte: UInt8, data: [UInt8]) -> (RecordFormat, Int) {
    let smallWidth = 1 + Int(widthByte) % 64
    let choice = Int(control >> 5)
    #if FUZZ_TEXT
    return ([.auto, .csv, .tsv, .text][choice & 3], smallWidth)
    #elseif FUZZ_RAW
    return ([.f32, .f64, .u8, .auto][choice & 3], smallWidth)
    #elseif FUZZ_IDX
    let format: RecordFormat = choice & 1 == 0 ? .idx : .auto
    let width = data.withUnsafeBytes { bytes -> Int? in
        guard bytes.count >= 4, let length = try? IDXHeader.length(announcedBy: bytes), bytes.count >= length,
              let header = try? IDXHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[..<length])) else { return nil }
        return header.recordWidth
    }
    return (format, min(width ?? smallWidth, 1 << 16))
    #elseif FUZZ_NPY
    let format: RecordFormat = choice & 1 == 0 ? .npy : .auto
    let width = data.withUnsafeBytes { bytes -> Int? in
        guard let length = try? NPYHeader.length(announcedBy: UnsafeRawBufferPointer(rebasing: bytes.prefix(12))),
              bytes.count >= length,
              let header = try? NPYHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[..<length])) else { return nil }
        let shape = header.shape
        return shape.count == 1 ? (widthByte & 1 == 0 ? 1 : shape[0]) : shape.dropFirst().reduce(1, *)
    }
    return (format, min(max(width ?? smallWidth, 1), 1 << 16))
    #else
    #error("compile with one of -D FUZZ_TEXT, FUZZ_IDX, FUZZ_NPY, FUZZ_RAW")
    #endif
}

#if FUZZ_TEXT
/// Oracle 5: at every token start (the start, or after a blank, comma or newline), if
/// DecimalParser accepts a number, Float(String) of the same bytes gives the same value.
private func checkDecimalParser(_ data: [UInt8]) {
    data.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return }
        var tokensChecked = 0
        for i in 0..<buffer.count where tokensChecked < 256 {
            if i > 0, ![0x20, 0x09, 0x2C, 0x0A, 0x0D].contains(buffer[i - 1]) { continue }
            // Stop the token at the next separator, as the line parser does.
            var stop = i
            while stop < buffer.count, ![0x20, 0x09, 0x2C, 0x0A, 0x0D].contains(buffer[stop]) { stop += 1 }
            guard stop > i else { continue }
            tokensChecked += 1
            guard let (value, next) = DecimalParser.parse(base + i, base + stop) else { continue }
            fuzzRequire(next > base + i && next <= base + stop, "DecimalParser.next outside the token at \(i)")
            let token = String(decoding: UnsafeBufferPointer(start: base + i, count: next - (base + i)), as: UTF8.self)
            guard let expected = Float(token) else {
                fuzzFail("DecimalParser accepts \(token.debugDescription) as \(value) but Float(String) does not")
            }
            let same = expected.isNaN ? value.isNaN : expected.bitPattern == value.bitPattern
            fuzzRequire(same, "DecimalParser gives \(value) (\(String(value.bitPattern, radix: 16))) for \(token.debugDescription); Float(String) gives \(expected) (\(String(expected.bitPattern, radix: 16)))")
        }
    }
}

/// Oracle 6 on the first 64 lines of `data`.
private func checkDigitFieldPaths(_ data: [UInt8]) {
    data.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return }
        var start = 0
        for _ in 0..<64 where start <= buffer.count {
            var end = start
            while end < buffer.count && buffer[end] != 0x0A { end += 1 }
            for sep: UInt8 in [0x2C, 0x09] { checkDigitFields(base + start, end - start, sep: sep) }
            start = end + 1
        }
    }
}

private func checkDigitFields(_ line: UnsafePointer<UInt8>, _ count: Int, sep: UInt8) {
    // A line of n bytes has at most n / 2 + 1 fields; 8 guard values follow the capacity.
    let capacity = count / 2 + 1, small = capacity / 3
    let guardBits: UInt32 = 0x7FC0_1234
    func run(_ parse: (UnsafePointer<UInt8>, Int64, UInt8, UnsafeMutablePointer<Float>, Int64) -> Int64,
             capacity: Int) -> (Int64, [Float]) {
        var out = [Float](repeating: Float(bitPattern: guardBits), count: capacity + 8)
        let fields = out.withUnsafeMutableBufferPointer { parse(line, Int64(count), sep, $0.baseAddress!, Int64(capacity)) }
        fuzzRequire(out[capacity...].allSatisfy { $0.bitPattern == guardBits },
                    "fff_parse_digit_fields wrote past capacity \(capacity)")
        return (fields, out)
    }
    let (fields, values) = run(fff_parse_digit_fields, capacity: capacity)
    let (fewer, _) = run(fff_parse_digit_fields, capacity: small)
    fuzzRequire(fewer == fields, "fff_parse_digit_fields: \(fields) fields with capacity \(capacity), \(fewer) with \(small)")
    if fff_text_has_avx2() != 0 {
        let (wide, wideValues) = run(fff_parse_digit_fields_avx2, capacity: capacity)
        let (wideFewer, _) = run(fff_parse_digit_fields_avx2, capacity: small)
        fuzzRequire(wide == fields && wideFewer == fields,
                    "line of \(count) bytes, separator \(sep): portable \(fields) fields, AVX2 \(wide) (\(wideFewer) with capacity \(small))")
        if fields > 0 {
            fuzzRequire(wideValues[..<Int(fields)].map(\.bitPattern) == values[..<Int(fields)].map(\.bitPattern),
                        "line of \(count) bytes, separator \(sep): portable and AVX2 values differ")
        }
    }
    guard fields >= 0 else { return }
    var bytes = Array(UnsafeBufferPointer(start: line, count: count))
    if bytes.last == 0x0D { bytes.removeLast() }
    let tokens = bytes.split(separator: sep, omittingEmptySubsequences: false)
    fuzzRequire(tokens.count == Int(fields), "fff_parse_digit_fields: \(fields) fields for \(tokens.count) tokens")
    for (k, token) in tokens.enumerated() {
        let text = String(decoding: token, as: UTF8.self)
        fuzzRequire(Float(text)?.bitPattern == values[k].bitPattern,
                    "fff_parse_digit_fields: field \(k + 1) \(text.debugDescription) read as \(values[k])")
    }
}
#endif
