import AutoencoderCore

/// Any bytes as a model file: a model or a `ModelFileError`, never a crash. A file that loads
/// must also write back and load again to the same model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let model = try? ModelFile.decode(bytes) else { return 0 }
    let again = try? ModelFile.decode(ModelFile.encode(model))
    precondition(again?.network == model.network && again?.featureNames == model.featureNames, "a loaded model does not survive a round trip")
    return 0
}
