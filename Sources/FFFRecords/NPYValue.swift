/// A value of the header dict: the subset of Python literals NumPy writes there.
enum NPYValue: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
    /// A list (a structured dtype's descr); its content is not kept.
    case list
}
