// fastfeedforward.h: workspaces and inference. Every argument is checked before the runtime is
// called, so that none of InferenceModel's preconditions (which stop the process) can fail; the
// messages are built only on the error path, so a successful call allocates nothing.

import CFastFeedforward
import FFFFormat
import FFFInference

/// The largest batch capacity `fff_workspace_create` accepts, and the most bytes of chunk buffers.
private let maxBatchCapacity = 1 << 16
private let maxWorkspaceBytes = 1 << 32

@_cdecl("fff_workspace_create")
public func fffWorkspaceCreate(_ model: OpaquePointer?, _ batchCapacity: Int, _ workspace: UnsafeMutablePointer<OpaquePointer?>?,
                        _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    guard let workspace else { return invalid(error, "fff_workspace_create", "workspace (the result's address) is NULL") }
    workspace.pointee = nil
    guard let model else { return invalid(error, "fff_workspace_create", "model is NULL") }
    return ModelHandle.with(model) { handle in
        let m = handle.model
        guard batchCapacity >= 0 && batchCapacity <= maxBatchCapacity else {
            return invalid(error, "fff_workspace_create",
                           "batch capacity \(UInt(bitPattern: batchCapacity)) is above the limit of \(maxBatchCapacity)")
        }
        let capacity = batchCapacity == 0 ? Workspace.defaultBatchCapacity(for: m) : batchCapacity
        // Padded inputs, outputs and classify_batch's scores per record, in bytes (widths are at
        // most 2^24 each, so this cannot overflow).
        let perRecord = ((m.inputWidth + 15) / 16 * 16 + 2 * ((m.outputWidth + 15) / 16 * 16)) * 4
        guard capacity <= maxWorkspaceBytes / perRecord else {
            return invalid(error, "fff_workspace_create",
                           "a batch capacity of \(capacity) records of \(perRecord) bytes is above the limit of 4 GiB")
        }
        let created = WorkspaceHandle(for: m, batchCapacity: capacity)
        workspace.pointee = OpaquePointer(Unmanaged.passRetained(created).toOpaque())
        return succeed(error)
    }
}

@_cdecl("fff_workspace_free")
public func fffWorkspaceFree(_ workspace: OpaquePointer?) {
    guard let workspace else { return }
    Unmanaged<WorkspaceHandle>.fromOpaque(UnsafeRawPointer(workspace)).release()
}

@_cdecl("fff_workspace_batch_capacity")
public func fffWorkspaceBatchCapacity(_ workspace: OpaquePointer?) -> Int {
    guard let workspace else { return 0 }
    return WorkspaceHandle.with(workspace) { $0.workspace.batchCapacity }
}

@_cdecl("fff_workspace_fits")
public func fffWorkspaceFits(_ workspace: OpaquePointer?, _ model: OpaquePointer?) -> Int32 {
    guard let workspace, let model else { return 0 }
    return WorkspaceHandle.with(workspace) { w in ModelHandle.with(model) { m in w.workspace.fits(m.model) ? 1 : 0 } }
}

// MARK: - Checks common to the inference calls

/// A call's model and workspace, borrowed, with its checked record layout.
private struct Call {
    let model: InferenceModel
    let handle: WorkspaceHandle
    let form: InputForm
    /// Floats of all the records: count x input width.
    let inputCount: Int
    var workspace: Workspace { handle.workspace }
}

/// Checks what every inference call takes, then runs `body`; or reports the first bad argument.
/// `records` may be NULL only when `count` is 0.
@inline(__always)
private func call(_ function: StaticString, single: Bool = false, _ model: OpaquePointer?, _ workspace: OpaquePointer?,
                  _ records: UnsafePointer<Float>?, count: Int, inputWidth: Int, flags: UInt32,
                  _ error: UnsafeMutablePointer<fff_error>?, _ body: (Call) -> fff_status) -> fff_status {
    guard let model else { return invalid(error, function, "model is NULL") }
    guard let workspace else { return invalid(error, function, "workspace is NULL") }
    return ModelHandle.with(model) { m in
        WorkspaceHandle.with(workspace) { w in
            let inference = m.model
            guard inputWidth == inference.inputWidth else {
                return invalid(error, function, "input_width is \(UInt(bitPattern: inputWidth)); the model has \(inference.inputWidth) inputs")
            }
            guard flags & ~FFF_INPUT_PREPROCESSED == 0 else {
                return invalid(error, function, "flags 0x\(String(flags, radix: 16)) has bits other than FFF_INPUT_PREPROCESSED")
            }
            guard count >= 0 else {
                return invalid(error, function, "count \(UInt(bitPattern: count)) is beyond any buffer")
            }
            let (inputCount, overflow) = count.multipliedReportingOverflow(by: inputWidth)
            guard !overflow else {
                return invalid(error, function, "count \(count) x input_width \(inputWidth) overflows")
            }
            guard records != nil || count == 0 else {
                return invalid(error, function, single ? "record is NULL" : "records is NULL")
            }
            guard w.workspace.fits(inference) else {
                return fail(error, FFF_ERR_WORKSPACE_MISMATCH,
                            "workspace-mismatch: \(function): the workspace was sized for a smaller model than this one (\(inference.inputWidth) inputs, \(inference.outputWidth) outputs, hidden width \(max(inference.leafWidth, inference.masterWidth))); make one with fff_workspace_create for it")
            }
            let form: InputForm = flags & FFF_INPUT_PREPROCESSED != 0 ? .preprocessed : .raw
            return body(Call(model: inference, handle: w, form: form, inputCount: inputCount))
        }
    }
}

/// Checks the output width a caller passes against the model's.
@inline(__always)
private func checkOutputWidth(_ function: StaticString, _ outputWidth: Int, _ model: InferenceModel,
                              _ error: UnsafeMutablePointer<fff_error>?) -> fff_status? {
    guard outputWidth == model.outputWidth else {
        return invalid(error, function, "output_width is \(UInt(bitPattern: outputWidth)); the model has \(model.outputWidth) outputs")
    }
    return nil
}

// MARK: - One record

@_cdecl("fff_predict")
public func fffPredict(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ record: UnsafePointer<Float>?, _ inputWidth: Int,
                _ flags: UInt32, _ output: UnsafeMutablePointer<Float>?, _ outputWidth: Int,
                _ leaf: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_predict", single: true, model, workspace, record, count: 1, inputWidth: inputWidth, flags: flags, error) { c in
        if let bad = checkOutputWidth("fff_predict", outputWidth, c.model, error) { return bad }
        guard let output else { return invalid(error, "fff_predict", "output is NULL") }
        let reached = c.model.predict(UnsafeBufferPointer(start: record, count: c.inputCount),
                                      into: UnsafeMutableBufferPointer(start: output, count: outputWidth),
                                      workspace: c.workspace, input: c.form)
        leaf?.pointee = Int32(truncatingIfNeeded: reached)
        return succeed(error)
    }
}

@_cdecl("fff_classify")
public func fffClassify(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ record: UnsafePointer<Float>?, _ inputWidth: Int,
                 _ flags: UInt32, _ result: UnsafeMutablePointer<fff_classification>?,
                 _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_classify", single: true, model, workspace, record, count: 1, inputWidth: inputWidth, flags: flags, error) { c in
        guard let result else { return invalid(error, "fff_classify", "result is NULL") }
        let answer = c.model.classify(UnsafeBufferPointer(start: record, count: c.inputCount),
                                      workspace: c.workspace, input: c.form)
        result.pointee = fff_classification(answer)
        return succeed(error)
    }
}

@_cdecl("fff_leaf")
public func fffLeaf(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ record: UnsafePointer<Float>?, _ inputWidth: Int,
             _ flags: UInt32, _ leaf: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_leaf", single: true, model, workspace, record, count: 1, inputWidth: inputWidth, flags: flags, error) { c in
        guard let leaf else { return invalid(error, "fff_leaf", "leaf is NULL") }
        leaf.pointee = Int32(truncatingIfNeeded: c.model.leafIndex(UnsafeBufferPointer(start: record, count: c.inputCount),
                                                                   workspace: c.workspace, input: c.form))
        return succeed(error)
    }
}

extension fff_classification {
    init(_ c: Classification) {
        self.init(index: Int32(truncatingIfNeeded: c.index), score: c.score, leaf: Int32(truncatingIfNeeded: c.leaf))
    }
}

// MARK: - Batches

@_cdecl("fff_batch_predict")
public func fffBatchPredict(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ records: UnsafePointer<Float>?, _ count: Int,
                     _ inputWidth: Int, _ flags: UInt32, _ outputs: UnsafeMutablePointer<Float>?, _ outputWidth: Int,
                     _ leaves: UnsafeMutablePointer<Int32>?, _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_batch_predict", model, workspace, records, count: count, inputWidth: inputWidth, flags: flags, error) { c in
        if let bad = checkOutputWidth("fff_batch_predict", outputWidth, c.model, error) { return bad }
        let (outputCount, overflow) = count.multipliedReportingOverflow(by: outputWidth)
        guard !overflow else { return invalid(error, "fff_batch_predict", "count \(count) x output_width \(outputWidth) overflows") }
        guard outputs != nil || count == 0 else { return invalid(error, "fff_batch_predict", "outputs is NULL") }
        guard count > 0 else { return succeed(error) }
        c.model.predictBatch(UnsafeBufferPointer(start: records, count: c.inputCount),
                             into: UnsafeMutableBufferPointer(start: outputs, count: outputCount),
                             leaves: leaves.map { UnsafeMutableBufferPointer(start: $0, count: count) },
                             workspace: c.workspace, input: c.form)
        return succeed(error)
    }
}

@_cdecl("fff_batch_classify")
public func fffBatchClassify(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ records: UnsafePointer<Float>?, _ count: Int,
                      _ inputWidth: Int, _ flags: UInt32, _ results: UnsafeMutablePointer<fff_classification>?,
                      _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_batch_classify", model, workspace, records, count: count, inputWidth: inputWidth, flags: flags, error) { c in
        guard results != nil || count == 0 else { return invalid(error, "fff_batch_classify", "results is NULL") }
        guard count > 0, let records, let results else { return succeed(error) }
        let I = c.model.inputWidth, O = c.model.outputWidth
        let w = c.handle
        // Records per chunk: what the workspace's output buffer holds (at least one record for
        // the model it was made for; for a wider model that it fits, possibly none).
        let chunk = min(c.workspace.batchCapacity, w.scoreCapacity / O)
        guard chunk > 0 else {
            for r in 0..<count {
                let answer = c.model.classify(UnsafeBufferPointer(start: records + r * I, count: I),
                                              workspace: c.workspace, input: c.form)
                results[r] = fff_classification(answer)
            }
            return succeed(error)
        }
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            c.model.predictBatch(UnsafeBufferPointer(start: records + start * I, count: n * I),
                                 into: UnsafeMutableBufferPointer(start: w.scores, count: n * O),
                                 leaves: UnsafeMutableBufferPointer(start: w.leaves, count: n),
                                 workspace: c.workspace, input: c.form)
            for r in 0..<n {
                let answer = Classification(scores: UnsafeBufferPointer(start: w.scores + r * O, count: O),
                                            leaf: Int(w.leaves[r]))
                results[start + r] = fff_classification(answer)
            }
            start += n
        }
        return succeed(error)
    }
}

@_cdecl("fff_batch_leaf")
public func fffBatchLeaf(_ model: OpaquePointer?, _ workspace: OpaquePointer?, _ records: UnsafePointer<Float>?, _ count: Int,
                  _ inputWidth: Int, _ flags: UInt32, _ leaves: UnsafeMutablePointer<Int32>?,
                  _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    call("fff_batch_leaf", model, workspace, records, count: count, inputWidth: inputWidth, flags: flags, error) { c in
        guard leaves != nil || count == 0 else { return invalid(error, "fff_batch_leaf", "leaves is NULL") }
        guard count > 0, let records, let leaves else { return succeed(error) }
        let I = c.model.inputWidth
        for r in 0..<count {
            leaves[r] = Int32(truncatingIfNeeded: c.model.leafIndex(UnsafeBufferPointer(start: records + r * I, count: I),
                                                                    workspace: c.workspace, input: c.form))
        }
        return succeed(error)
    }
}
