// The header declares every function this target defines with @_cdecl. Swift does not compare
// the two, so this file does: each imported C declaration (fff_predict, ...) and its Swift
// definition (fffPredict, ...) must have the same type, or the target does not compile. Never
// called; it only has to type-check.

import CFastFeedforward

private func same<T>(_ declared: T, _ defined: T) {}

@available(*, deprecated, message: "compile-time check only")
private func headerMatchesDefinitions() {
    same(fff_version, fffVersion)
    same(fff_abi_version, fffABIVersion)
    same(fff_status_name, fffStatusName)
    same(fff_model_load_path, fffModelLoadPath)
    same(fff_model_load_bytes, fffModelLoadBytes)
    same(fff_model_free, fffModelFree)
    same(fff_model_input_width, fffModelInputWidth)
    same(fff_model_output_width, fffModelOutputWidth)
    same(fff_model_depth, fffModelDepth)
    same(fff_model_leaf_count, fffModelLeafCount)
    same(fff_model_leaf_width, fffModelLeafWidth)
    same(fff_model_master_width, fffModelMasterWidth)
    same(fff_model_activation, fffModelActivation)
    same(fff_model_weight_type, fffModelWeightType)
    same(fff_model_node_type, fffModelNodeType)
    same(fff_model_kernel, fffModelKernel)
    same(fff_model_packed_bytes, fffModelPackedBytes)
    same(fff_model_has_preprocessing, fffModelHasPreprocessing)
    same(fff_model_preprocessing, fffModelPreprocessing)
    same(fff_model_label_count, fffModelLabelCount)
    same(fff_model_label, fffModelLabel)
    same(fff_model_metadata_count, fffModelMetadataCount)
    same(fff_model_metadata_key, fffModelMetadataKey)
    same(fff_model_metadata_value, fffModelMetadataValue)
    same(fff_model_metadata_find, fffModelMetadataFind)
    same(fff_workspace_create, fffWorkspaceCreate)
    same(fff_workspace_free, fffWorkspaceFree)
    same(fff_workspace_batch_capacity, fffWorkspaceBatchCapacity)
    same(fff_workspace_fits, fffWorkspaceFits)
    same(fff_predict, fffPredict)
    same(fff_classify, fffClassify)
    same(fff_leaf, fffLeaf)
    same(fff_batch_predict, fffBatchPredict)
    same(fff_batch_classify, fffBatchClassify)
    same(fff_batch_leaf, fffBatchLeaf)
}
