// One import for apps: the model and its file format, and the inference runtime.
@_exported import FFFFormat
@_exported import FFFInference
