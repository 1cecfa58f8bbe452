import CFFFKernels

extension InferenceModel {
    /// Evaluates one record and writes its `O` outputs (spec §14). Returns the leaf index.
    ///
    /// - Parameters:
    ///   - record: ``inputWidth`` features, raw or preprocessed according to `input`.
    ///   - output: room for exactly ``outputWidth`` floats.
    ///   - workspace: scratch memory sized for this model, used by this thread only.
    ///   - input: ``InputForm/raw`` (default) applies the model's preprocessing first.
    /// - Precondition: `record.count == inputWidth`, `output.count == outputWidth` and
    ///   `workspace.fits(self)`; otherwise the process stops with a message naming the widths.
    /// - Complexity: O(d·I + (H + M)·(I + O)); no allocation.
    @discardableResult
    public func predict(_ record: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                        workspace: Workspace, input: InputForm = .raw) -> Int {
        checkRecord(record.count)
        precondition(output.count == outputWidth,
                     "output has room for \(output.count) values; the model has \(outputWidth) outputs")
        checkWorkspace(workspace)
        return Int(fff_predict_one(plan, workspace.pointer, record.baseAddress!,
                                   input == .preprocessed ? 1 : 0, output.baseAddress!))
    }

    /// Array form of ``predict(_:into:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_)``: writes into `output` (which must hold
    /// ``outputWidth`` elements) and returns the leaf index. Allocates nothing when `output` is
    /// uniquely referenced.
    /// - Complexity: as the unsafe form.
    @discardableResult
    public func predict(_ record: [Float], into output: inout [Float], workspace: Workspace,
                        input: InputForm = .raw) -> Int {
        record.withUnsafeBufferPointer { r in
            output.withUnsafeMutableBufferPointer { o in
                predict(r, into: o, workspace: workspace, input: input)
            }
        }
    }

    /// Array form returning a new array of ``outputWidth`` outputs (one allocation: the result).
    /// - Precondition: `record.count == inputWidth`.
    /// - Complexity: as ``predict(_:into:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_)``.
    public func predict(_ record: [Float], workspace: Workspace, input: InputForm = .raw) -> [Float] {
        var output = [Float](repeating: 0, count: outputWidth)
        predict(record, into: &output, workspace: workspace, input: input)
        return output
    }

    /// The predicted class of one record: the argmax of its outputs, that output and the leaf.
    /// The outputs are computed into the workspace; nothing is allocated.
    /// - Precondition: `record.count == inputWidth` and `workspace.fits(self)`.
    /// - Complexity: as ``predict(_:into:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_)`` plus O(O).
    public func classify(_ record: UnsafeBufferPointer<Float>, workspace: Workspace,
                         input: InputForm = .raw) -> Classification {
        checkRecord(record.count)
        checkWorkspace(workspace)
        let leaf = fff_predict_one(plan, workspace.pointer, record.baseAddress!,
                                   input == .preprocessed ? 1 : 0, workspace.scores)
        return Classification(scores: UnsafeBufferPointer(start: workspace.scores, count: outputWidth),
                              leaf: Int(leaf))
    }

    /// Array form of ``classify(_:workspace:input:)-(UnsafeBufferPointer<Float>,_,_)``; allocates nothing.
    public func classify(_ record: [Float], workspace: Workspace, input: InputForm = .raw) -> Classification {
        record.withUnsafeBufferPointer { classify($0, workspace: workspace, input: input) }
    }

    /// The leaf (`0 ..< leafCount`) a record descends to, without evaluating any leaf.
    /// - Precondition: `record.count == inputWidth` and `workspace.fits(self)`.
    /// - Complexity: O(d·I); no allocation.
    public func leafIndex(_ record: UnsafeBufferPointer<Float>, workspace: Workspace,
                          input: InputForm = .raw) -> Int {
        checkRecord(record.count)
        checkWorkspace(workspace)
        return Int(fff_leaf_one(plan, workspace.pointer, record.baseAddress!, input == .preprocessed ? 1 : 0))
    }

    /// Array form of ``leafIndex(_:workspace:input:)-(UnsafeBufferPointer<Float>,_,_)``; allocates nothing.
    public func leafIndex(_ record: [Float], workspace: Workspace, input: InputForm = .raw) -> Int {
        record.withUnsafeBufferPointer { leafIndex($0, workspace: workspace, input: input) }
    }

    func checkRecord(_ count: Int) {
        precondition(count == inputWidth, "record has \(count) values; the model expects \(inputWidth)")
    }

    func checkWorkspace(_ workspace: Workspace) {
        precondition(workspace.fits(self), "the workspace was sized for a smaller model")
    }
}
