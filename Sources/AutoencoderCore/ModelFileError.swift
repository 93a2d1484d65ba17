/// Why a model file was refused.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    case io(path: String, reason: String)
    case truncated(path: String, detail: String)
    case corrupt(path: String, detail: String)
    case shapeMismatch(path: String, detail: String)
    case unsupported(path: String, detail: String)
    case wouldOverwrite(path: String)

    public var description: String {
        switch self {
        case .io(let p, let r): return "\(p): \(r)"
        case .truncated(let p, let d): return "\(p): truncated model file: \(d)"
        case .corrupt(let p, let d): return "\(p): not a valid model file: \(d)"
        case .shapeMismatch(let p, let d): return "\(p): tensor shapes do not match the architecture: \(d)"
        case .unsupported(let p, let d): return "\(p): unsupported model file: \(d)"
        case .wouldOverwrite(let p): return "\(p) exists; pass --force to overwrite it"
        }
    }
}
