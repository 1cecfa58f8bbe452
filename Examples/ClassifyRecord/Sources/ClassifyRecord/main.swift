// ClassifyRecord: the FastFeedforward inference API from a client's seat.
//
//   swift run ClassifyRecord MODEL.fff 0,0,12,255,...        record on the command line
//   echo "0 0 12 255 ..." | swift run ClassifyRecord MODEL.fff  record on standard input
//   swift run ClassifyRecord --preprocessed MODEL.fff ...     record already preprocessed
//
// Numbers are separated by commas and/or whitespace. Prints the predicted class (its label when
// the model has labels), its score, the leaf the record reached, and every output.

import FastFeedforward
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ClassifyRecord: \(message)\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var input = InputForm.raw
if let flag = arguments.firstIndex(of: "--preprocessed") {
    input = .preprocessed
    arguments.remove(at: flag)
}
guard let modelPath = arguments.first else {
    fail("usage: ClassifyRecord [--preprocessed] MODEL.fff [NUMBERS]  (numbers from stdin when omitted)")
}

// 1. Read and validate the file: every error carries the spec's code and where it is.
let file: FFFModel
do {
    file = try FFFReader.read(contentsOf: modelPath)
} catch {
    fail("\(modelPath): \(error)")
}

// 2. Compile it for inference (repacks the weights; picks the fastest kernel path, or FFF_KERNEL's)
//    and make one workspace for this thread.
let model = InferenceModel(file)
let workspace = model.makeWorkspace()

// 3. Parse the record. The runtime traps on a width mismatch, so check it here first.
var text = arguments.dropFirst().joined(separator: " ")
if text.isEmpty {
    while let line = readLine() { text += line + " " }
}
let fields = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" })
var record: [Float] = []
for field in fields {
    guard let value = Float(field), value.isFinite else { fail("'\(field)' is not a finite number") }
    record.append(value)
}
guard record.count == model.inputWidth else {
    fail("the record has \(record.count) numbers; the model expects \(model.inputWidth)")
}

// 4. Classify (argmax, score, leaf), and get every output.
let result = model.classify(record, workspace: workspace, input: input)
let outputs = model.predict(record, workspace: workspace, input: input)
let name = model.labels?[result.index] ?? String(result.index)
print("class: \(name) (index \(result.index))")
print("score: \(result.score)")
print("leaf: \(result.leaf) of \(model.leafCount)")
print("kernel: \(model.kernel)")
print("outputs: " + outputs.map { "\($0)" }.joined(separator: " "))
