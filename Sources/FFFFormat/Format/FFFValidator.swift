/// Validation without keeping the model: the reader already checks everything spec/FORMAT.md
/// requires, so validating is reading and discarding.
public enum FFFValidator {
    /// The first problem of the file's bytes in §16's order, or `nil` if the file is valid.
    /// - Complexity: O(file size + decoded size); the model is built and dropped.
    public static func validate(bytes: UnsafeRawBufferPointer, options: FFFReader.Options = .init()) -> FFFError? {
        do {
            _ = try FFFReader.readFile(bytes: bytes, options: options)
            return nil
        } catch {
            return error
        }
    }

    /// The first problem of the file's bytes, or `nil` if the file is valid.
    public static func validate(bytes: some Collection<UInt8>, options: FFFReader.Options = .init()) -> FFFError? {
        do {
            _ = try FFFReader.readFile(bytes: bytes, options: options)
            return nil
        } catch {
            return error
        }
    }

    /// The first problem of the file at `path` (`io-error` if it cannot be read), or `nil`.
    public static func validate(contentsOf path: String, options: FFFReader.Options = .init()) -> FFFError? {
        do {
            _ = try FFFReader.readFile(contentsOf: path, options: options)
            return nil
        } catch {
            return error
        }
    }
}
