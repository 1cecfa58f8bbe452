// fastfeedforward.h: versions, names, loading and the model's getters. The contract of each
// function is its comment in the header (Sources/CFastFeedforward/include/fastfeedforward.h).

import CFastFeedforward
import FFFFormat
import FFFInference

/// The release; the same as `fffrun --version` and `pyfff.__version__` (Tests/CAPI checks).
private let release = "1.1.0"
nonisolated(unsafe) private let releaseCString: UnsafePointer<CChar> = {
    let bytes = Array(release.utf8)
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, byte) in bytes.enumerated() { pointer[i] = CChar(bitPattern: byte) }
    pointer[bytes.count] = 0
    return UnsafePointer(pointer)
}()

@_cdecl("fff_version")
public func fffVersion() -> UnsafePointer<CChar>? {
    releaseCString
}

@_cdecl("fff_abi_version")
public func fffABIVersion() -> UInt32 {
    UInt32(FFF_ABI_VERSION)
}

@_cdecl("fff_status_name")
public func fffStatusName(_ status: fff_status) -> UnsafePointer<CChar>? {
    statusName(status)
}

// MARK: - Loading

/// Reads a model with `read` and hands the caller a new handle: the part common to both loaders.
private func load(_ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<fff_error>?,
                  _ read: () throws(FFFError) -> FFFModel) -> fff_status {
    out.pointee = nil
    // KernelPath.default stops the process on a bad FFF_KERNEL: report it instead.
    if let problem = KernelPath.environmentProblem {
        return fail(error, FFF_ERR_KERNEL_UNAVAILABLE, "kernel-unavailable: \(problem)")
    }
    let file: FFFModel
    do {
        file = try read()
    } catch let thrown {
        return fail(error, thrown)
    }
    let handle = ModelHandle(consume file, kernel: .default)
    out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    return succeed(error)
}

@_cdecl("fff_model_load_path")
public func fffModelLoadPath(_ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?,
                      _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    guard let model else { return invalid(error, "fff_model_load_path", "model (the result's address) is NULL") }
    model.pointee = nil
    guard let path else { return invalid(error, "fff_model_load_path", "path is NULL") }
    guard let name = String(validatingCString: path) else {
        return invalid(error, "fff_model_load_path",
                       "path is not valid UTF-8; read the file yourself and use fff_model_load_bytes")
    }
    return load(model, error) { () throws(FFFError) in try FFFReader.read(contentsOf: name) }
}

@_cdecl("fff_model_load_bytes")
public func fffModelLoadBytes(_ bytes: UnsafeRawPointer?, _ length: Int, _ model: UnsafeMutablePointer<OpaquePointer?>?,
                       _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    guard let model else { return invalid(error, "fff_model_load_bytes", "model (the result's address) is NULL") }
    model.pointee = nil
    guard length >= 0 else { return invalid(error, "fff_model_load_bytes", "length \(UInt(bitPattern: length)) is beyond any buffer") }
    guard bytes != nil || length == 0 else {
        return invalid(error, "fff_model_load_bytes", "bytes is NULL with a length of \(length)")
    }
    let buffer = UnsafeRawBufferPointer(start: length == 0 ? nil : bytes, count: length)
    return load(model, error) { () throws(FFFError) in try FFFReader.read(bytes: buffer) }
}

@_cdecl("fff_model_free")
public func fffModelFree(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

// MARK: - Shape

/// `value` of the model behind `pointer`, or `empty` for NULL.
@inline(__always)
private func get<R>(_ pointer: OpaquePointer?, _ empty: R, _ value: (ModelHandle) -> R) -> R {
    guard let pointer else { return empty }
    return ModelHandle.with(pointer, value)
}

@_cdecl("fff_model_input_width")
public func fffModelInputWidth(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.inputWidth } }

@_cdecl("fff_model_output_width")
public func fffModelOutputWidth(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.outputWidth } }

@_cdecl("fff_model_depth")
public func fffModelDepth(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.depth } }

@_cdecl("fff_model_leaf_count")
public func fffModelLeafCount(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.leafCount } }

@_cdecl("fff_model_leaf_width")
public func fffModelLeafWidth(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.leafWidth } }

@_cdecl("fff_model_master_width")
public func fffModelMasterWidth(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.masterWidth } }

@_cdecl("fff_model_activation")
public func fffModelActivation(_ model: OpaquePointer?) -> UnsafePointer<CChar>? { get(model, nil) { $0.activation.start } }

@_cdecl("fff_model_weight_type")
public func fffModelWeightType(_ model: OpaquePointer?) -> UnsafePointer<CChar>? { get(model, nil) { $0.weightType.start } }

@_cdecl("fff_model_node_type")
public func fffModelNodeType(_ model: OpaquePointer?) -> UnsafePointer<CChar>? { get(model, nil) { $0.nodeType.start } }

@_cdecl("fff_model_kernel")
public func fffModelKernel(_ model: OpaquePointer?) -> UnsafePointer<CChar>? { get(model, nil) { $0.kernel.start } }

@_cdecl("fff_model_packed_bytes")
public func fffModelPackedBytes(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.model.packedByteCount } }

@_cdecl("fff_model_has_preprocessing")
public func fffModelHasPreprocessing(_ model: OpaquePointer?) -> Int32 { get(model, 0) { $0.model.hasPreprocessing ? 1 : 0 } }

@_cdecl("fff_model_preprocessing")
public func fffModelPreprocessing(_ model: OpaquePointer?, _ feature: Int, _ scale: UnsafeMutablePointer<Float>?,
                           _ offset: UnsafeMutablePointer<Float>?, _ error: UnsafeMutablePointer<fff_error>?) -> fff_status {
    guard let model else { return invalid(error, "fff_model_preprocessing", "model is NULL") }
    guard let scale, let offset else { return invalid(error, "fff_model_preprocessing", "scale or offset is NULL") }
    return ModelHandle.with(model) { handle in
        let width = handle.model.inputWidth
        guard feature >= 0 && feature < width else {
            return invalid(error, "fff_model_preprocessing",
                           "feature \(UInt(bitPattern: feature)) is not below the input width \(width)")
        }
        let value = handle.model.preprocessing(ofFeature: feature) ?? (scale: 1, offset: 0)
        scale.pointee = value.scale
        offset.pointee = value.offset
        return succeed(error)
    }
}

// MARK: - Labels and metadata

@_cdecl("fff_model_label_count")
public func fffModelLabelCount(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.labels.count } }

@_cdecl("fff_model_label")
public func fffModelLabel(_ model: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    let text = get(model, nil) { handle -> CText? in
        index >= 0 && index < handle.labels.count ? handle.labels[index] : nil
    }
    return give(text, length: length)
}

@_cdecl("fff_model_metadata_count")
public func fffModelMetadataCount(_ model: OpaquePointer?) -> Int { get(model, 0) { $0.metadataKeys.count } }

@_cdecl("fff_model_metadata_key")
public func fffModelMetadataKey(_ model: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    let text = get(model, nil) { handle -> CText? in
        index >= 0 && index < handle.metadataKeys.count ? handle.metadataKeys[index] : nil
    }
    return give(text, length: length)
}

@_cdecl("fff_model_metadata_value")
public func fffModelMetadataValue(_ model: OpaquePointer?, _ index: Int, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    let text = get(model, nil) { handle -> CText? in
        index >= 0 && index < handle.metadataValues.count ? handle.metadataValues[index] : nil
    }
    return give(text, length: length)
}

@_cdecl("fff_model_metadata_find")
public func fffModelMetadataFind(_ model: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ length: UnsafeMutablePointer<Int>?) -> UnsafePointer<CChar>? {
    guard let key else { return give(nil, length: length) }
    let text = get(model, nil) { handle -> CText? in
        // Keys are printable ASCII (no NUL), so the C string comparison is byte for byte.
        for (i, candidate) in handle.metadataKeys.enumerated() where sameCString(candidate.start, key) {
            return handle.metadataValues[i]
        }
        return nil
    }
    return give(text, length: length)
}

private func sameCString(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Bool {
    var i = 0
    while true {
        if a[i] != b[i] { return false }
        if a[i] == 0 { return true }
        i += 1
    }
}
