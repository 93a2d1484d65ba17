import CBLAS

/// The few BLAS calls the model needs, on row-major flat buffers.
enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, all row-major. op(A) is m×k, op(B) is k×n, C is m×n.
    @inline(__always)
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     beta: Float, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(transA ? m : k), b, Int32(transB ? k : n), beta, c, Int32(n))
    }

    /// y = Aᵀ·x + y for a row-major A of rows×cols: a one-row `gemm`, about 3× cheaper at M = 1.
    @inline(__always)
    static func gemvTransposed(rows: Int, cols: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>,
                               y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, a, Int32(cols), x, 1, 1, y, 1)
    }


    /// Our parallelism is across requests and processes; OpenBLAS threads only add jitter and
    /// make summation order depend on the machine. One thread keeps training bit-reproducible.
    static func useOneThread() {
        openblas_set_num_threads(1)
    }
}

extension Autoencoder {
    /// Makes OpenBLAS single-threaded. The server calls it at start: its parallelism comes from
    /// libmicrohttpd's threads, and OpenBLAS threads would only compete with them.
    public static func useSingleThreadedBLAS() { BLAS.useOneThread() }
}
