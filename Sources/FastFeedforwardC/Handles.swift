// The objects behind the C API's opaque handles, and how results and errors reach the caller.
//
// A handle is an `Unmanaged` reference to a Swift object: `fff_*_load_*` / `fff_workspace_create`
// retain it once, `fff_*_free` release it. Calls borrow it without retaining it
// (`_withUnsafeGuaranteedRef`), so threads sharing a model do not contend on its reference count.
// Everything the caller can be handed a pointer to (labels, metadata, names) lives in one block
// of NUL-terminated UTF-8 that the model handle owns.

import CFastFeedforward
import FFFFormat
import FFFInference

/// A string in a model's block: `count` UTF-8 bytes at `start`, then a NUL.
struct CText {
    let start: UnsafePointer<CChar>
    let count: Int
}

/// What `fff_model *` points to: the compiled model and its strings.
final class ModelHandle {
    let model: InferenceModel
    let labels: [CText]
    let metadataKeys: [CText]
    let metadataValues: [CText]
    let activation: CText
    let weightType: CText
    let nodeType: CText
    let kernel: CText
    private let block: UnsafeMutablePointer<CChar>

    /// Copies the strings of `file`, then compiles it. Given the only copy of the model, the
    /// runtime releases each weight tensor as soon as it has packed it.
    init(_ file: consuming FFFModel, kernel path: KernelPath) {
        var strings: [String] = []
        strings.append(file.activation.name)
        strings.append(file.weightType.name)
        strings.append(file.nodeType.name)
        strings.append(path.rawValue)
        let labelCount = file.labels?.count ?? 0
        strings += file.labels ?? []
        for entry in file.metadata { strings.append(entry.key) }
        for entry in file.metadata { strings.append(entry.value) }
        let pairCount = file.metadata.count

        var total = 0
        for string in strings { total += string.utf8.count + 1 }
        let block = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        var texts: [CText] = []
        texts.reserveCapacity(strings.count)
        var at = 0
        for string in strings {
            let start = block + at
            var count = 0
            for byte in string.utf8 {
                start[count] = CChar(bitPattern: byte)
                count += 1
            }
            start[count] = 0
            texts.append(CText(start: UnsafePointer(start), count: count))
            at += count + 1
        }
        strings = []
        self.block = block
        activation = texts[0]
        weightType = texts[1]
        nodeType = texts[2]
        kernel = texts[3]
        labels = Array(texts[4 ..< 4 + labelCount])
        metadataKeys = Array(texts[4 + labelCount ..< 4 + labelCount + pairCount])
        metadataValues = Array(texts[4 + labelCount + pairCount ..< 4 + labelCount + 2 * pairCount])
        model = InferenceModel(consume file, kernel: path)
    }

    deinit {
        block.deallocate()
    }

    /// Borrows the model behind a handle for the duration of `body`, without retaining it.
    @inline(__always)
    static func with<R>(_ pointer: OpaquePointer, _ body: (ModelHandle) -> R) -> R {
        Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer))._withUnsafeGuaranteedRef(body)
    }
}

/// What `fff_workspace *` points to: a `Workspace`, and the outputs buffer `fff_batch_classify`
/// computes each chunk into.
final class WorkspaceHandle {
    let workspace: Workspace
    /// `scoreCapacity` floats: at least one chunk of outputs of the model the workspace was made for.
    let scores: UnsafeMutablePointer<Float>
    let scoreCapacity: Int
    /// `workspace.batchCapacity` leaves of one chunk.
    let leaves: UnsafeMutablePointer<Int32>

    init(for model: InferenceModel, batchCapacity: Int?) {
        workspace = Workspace(for: model, batchCapacity: batchCapacity)
        let capacity = workspace.batchCapacity
        // Rows of a multiple of 16 outputs: every model this workspace fits has at most that many.
        let row = (model.outputWidth + 15) / 16 * 16
        scoreCapacity = capacity * row
        scores = .allocate(capacity: scoreCapacity)
        scores.initialize(repeating: 0, count: scoreCapacity)
        leaves = .allocate(capacity: capacity)
        leaves.initialize(repeating: 0, count: capacity)
    }

    deinit {
        scores.deallocate()
        leaves.deallocate()
    }

    @inline(__always)
    static func with<R>(_ pointer: OpaquePointer, _ body: (WorkspaceHandle) -> R) -> R {
        Unmanaged<WorkspaceHandle>.fromOpaque(UnsafeRawPointer(pointer))._withUnsafeGuaranteedRef(body)
    }
}

// MARK: - Statuses and errors

extension fff_status {
    /// The status of a spec error code: the code's number in spec/FORMAT.md §17.
    init(_ code: FFFErrorCode) {
        self.init(rawValue: numericCast(code.number))
    }
}

/// The names `fff_status_name` returns: the spec's codes by number (1 ... 20), then this API's
/// own. Made once, kept for the life of the process. (nonisolated(unsafe): pointers to memory
/// that is written once, before the first read, and never again.)
nonisolated(unsafe) let specStatusNames: [UnsafePointer<CChar>] = FFFErrorCode.allCases.map { staticCString($0.rawValue) }
nonisolated(unsafe) let statusNameOK = staticCString("ok")
nonisolated(unsafe) let statusNameInvalidArgument = staticCString("invalid-argument")
nonisolated(unsafe) let statusNameWorkspaceMismatch = staticCString("workspace-mismatch")
nonisolated(unsafe) let statusNameKernelUnavailable = staticCString("kernel-unavailable")
nonisolated(unsafe) let statusNameUnknown = staticCString("unknown")

/// A NUL-terminated copy of `string` that lives as long as the process.
private func staticCString(_ string: String) -> UnsafePointer<CChar> {
    let bytes = Array(string.utf8)
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, byte) in bytes.enumerated() { pointer[i] = CChar(bitPattern: byte) }
    pointer[bytes.count] = 0
    return UnsafePointer(pointer)
}

func statusName(_ status: fff_status) -> UnsafePointer<CChar> {
    switch status {
    case FFF_OK: return statusNameOK
    case FFF_ERR_INVALID_ARGUMENT: return statusNameInvalidArgument
    case FFF_ERR_WORKSPACE_MISMATCH: return statusNameWorkspaceMismatch
    case FFF_ERR_KERNEL_UNAVAILABLE: return statusNameKernelUnavailable
    default:
        let number = Int(status.rawValue)
        return number >= 1 && number <= specStatusNames.count ? specStatusNames[number - 1] : statusNameUnknown
    }
}

/// Writes success into the caller's error struct, if any. O(1): four stores.
@inline(__always)
func succeed(_ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    if let error {
        error.pointee.code = FFF_OK
        error.pointee.section.0 = 0
        error.pointee.offset = -1
        error.pointee.message.0 = 0
    }
    return FFF_OK
}

/// Writes a failure into the caller's error struct, if any, and returns its status. The message
/// starts with the status's name, as `FFFError.description` does for the spec's codes.
func fail(_ error: UnsafeMutablePointer<fff_error>?, _ status: fff_status, _ message: String,
          section: String? = nil, offset: Int? = nil) -> fff_status {
    guard let error else { return status }
    error.pointee.code = status
    error.pointee.offset = Int64(offset ?? -1)
    withUnsafeMutableBytes(of: &error.pointee.section) { copyUTF8(section ?? "", into: $0) }
    withUnsafeMutableBytes(of: &error.pointee.message) { copyUTF8(message, into: $0) }
    return status
}

/// A spec error from the reader.
func fail(_ error: UnsafeMutablePointer<fff_error>?, _ thrown: FFFError) -> fff_status {
    fail(error, fff_status(thrown.code), thrown.description, section: thrown.section, offset: thrown.offset)
}

/// An argument error of function `function`: "invalid-argument: function: what".
func invalid(_ error: UnsafeMutablePointer<fff_error>?, _ function: StaticString, _ what: String) -> fff_status {
    fail(error, FFF_ERR_INVALID_ARGUMENT, "invalid-argument: \(function): \(what)")
}

/// Copies `string`'s UTF-8 into `buffer` with a terminating NUL, cut at a character boundary
/// when it does not fit.
private func copyUTF8(_ string: String, into buffer: UnsafeMutableRawBufferPointer) {
    guard buffer.count > 0 else { return }
    let bytes = Array(string.utf8)
    var count = min(bytes.count, buffer.count - 1)
    if count < bytes.count {
        // Do not end inside a character: drop continuation bytes (10xxxxxx) and their lead.
        while count > 0 && bytes[count] & 0xC0 == 0x80 { count -= 1 }
    }
    for i in 0..<count { buffer[i] = bytes[i] }
    buffer[count] = 0
}

/// Passes `text` to the caller: its start, and its length in `*length` when asked.
@inline(__always)
func give(_ text: CText?, length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    length?.pointee = text?.count ?? 0
    return text?.start
}
