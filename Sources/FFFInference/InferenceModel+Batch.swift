import CFFFKernels

extension InferenceModel {
    /// Evaluates many records stored contiguously, row-major: record `r`'s feature `i` is
    /// `records[r * inputWidth + i]`, and its output `o` goes to `outputs[r * outputWidth + o]`.
    ///
    /// Faster per record than one call per record: the records of a chunk
    /// (``Workspace/batchCapacity``) that reach the same node or leaf are evaluated together, so
    /// each weight row loaded feeds several records. The results are bitwise identical to
    /// ``predict(_:into:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_)`` on the same model.
    ///
    /// - Parameters:
    ///   - records: the records, `count * inputWidth` floats, raw or preprocessed according to `input`.
    ///   - outputs: room for `count * outputWidth` floats.
    ///   - leaves: when given, receives each record's leaf index.
    ///   - workspace: scratch memory sized for this model, used by this thread only.
    ///   - input: ``InputForm/raw`` (default) applies the model's preprocessing first.
    /// - Precondition: `records.count` is a multiple of ``inputWidth``; with
    ///   `count = records.count / inputWidth`, `outputs.count == count * outputWidth` and
    ///   `leaves?.count == count`; `workspace.fits(self)`.
    /// - Complexity: O(count · (d·I + (H + M)·(I + O))); no allocation.
    public func predictBatch(_ records: UnsafeBufferPointer<Float>, into outputs: UnsafeMutableBufferPointer<Float>,
                             leaves: UnsafeMutableBufferPointer<Int32>? = nil, workspace: Workspace,
                             input: InputForm = .raw) {
        let count = checkedBatchCount(values: records.count, outputs: outputs, leaves: leaves, workspace: workspace)
        guard count > 0 else { return }
        fff_predict_batch(plan, workspace.pointer, records.baseAddress!, Int64(count),
                          input == .preprocessed ? 1 : 0, outputs.baseAddress!, leaves?.baseAddress)
    }

    /// ``predictBatch(_:into:leaves:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_,_)`` for
    /// records of unsigned bytes (0 ... 255, as IDX and raw u8 files hold them): record `r`'s
    /// feature `i` is `records[r * inputWidth + i]`. Each byte is widened to `Float` (exactly) as
    /// the kernels copy the record in, so the results are bitwise those of the `Float` form on the
    /// same values, without a `Float` copy of the records.
    ///
    /// - Precondition: as the `Float` form, with `records.count` bytes.
    /// - Complexity: as the `Float` form; no allocation.
    public func predictBatch(_ records: UnsafeBufferPointer<UInt8>, into outputs: UnsafeMutableBufferPointer<Float>,
                             leaves: UnsafeMutableBufferPointer<Int32>? = nil, workspace: Workspace,
                             input: InputForm = .raw) {
        let count = checkedBatchCount(values: records.count, outputs: outputs, leaves: leaves, workspace: workspace)
        guard count > 0 else { return }
        fff_predict_batch_u8(plan, workspace.pointer, records.baseAddress!, Int64(count),
                             input == .preprocessed ? 1 : 0, outputs.baseAddress!, leaves?.baseAddress)
    }

    /// The records in a batch of `values` inputs, after the preconditions of the batch calls
    /// (whole records, room for every output and leaf, a workspace that fits).
    private func checkedBatchCount(values: Int, outputs: UnsafeMutableBufferPointer<Float>,
                                   leaves: UnsafeMutableBufferPointer<Int32>?, workspace: Workspace) -> Int {
        precondition(values % inputWidth == 0,
                     "\(values) values are not a whole number of records of \(inputWidth) features")
        let count = values / inputWidth
        precondition(outputs.count == count * outputWidth,
                     "outputs have room for \(outputs.count) values; \(count) records need \(count * outputWidth)")
        if let leaves {
            precondition(leaves.count == count, "leaves have room for \(leaves.count) indices; \(count) records need \(count)")
        }
        checkWorkspace(workspace)
        return count
    }

    /// Array form of ``predictBatch(_:into:leaves:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_,_)`` returning the outputs
    /// (`count * outputWidth` floats, record-major) and the leaf of each record.
    /// - Complexity: as the unsafe form, plus the two result arrays.
    public func predictBatch(_ records: [Float], workspace: Workspace,
                             input: InputForm = .raw) -> (outputs: [Float], leaves: [Int]) {
        precondition(records.count % inputWidth == 0,
                     "\(records.count) values are not a whole number of records of \(inputWidth) features")
        let count = records.count / inputWidth
        var outputs = [Float](repeating: 0, count: count * outputWidth)
        var leaves = [Int32](repeating: 0, count: count)
        records.withUnsafeBufferPointer { r in
            outputs.withUnsafeMutableBufferPointer { o in
                leaves.withUnsafeMutableBufferPointer { l in
                    predictBatch(r, into: o, leaves: l, workspace: workspace, input: input)
                }
            }
        }
        return (outputs, leaves.map { Int($0) })
    }
}
