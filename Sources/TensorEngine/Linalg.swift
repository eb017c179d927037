#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Dense linear algebra beyond products, on LAPACK.
public enum Linalg {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Eigenvalues (ascending) and eigenvectors (row i of `vectors` belongs to value i) of a
    /// symmetric matrix, by LAPACK's divide-and-conquer `ssyevd`. Only the lower triangle is read.
    public static func symmetricEigen(_ matrix: Tensor) throws -> (values: Tensor, vectors: Tensor) {
        precondition(
            matrix.rank == 2 && matrix.shape[0] == matrix.shape[1], "symmetricEigen: \(matrix.shape) is not square")
        var n = Int32(matrix.shape[0])
        // LAPACK is column-major: the row-major array is the transpose, the same symmetric matrix,
        // and on return column j (row j in our reading) holds eigenvector j.
        var a = matrix.scalars
        var w = [Float](repeating: 0, count: Int(n))
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        var lda = max(n, 1), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery: Float = 0, iworkQuery: Int32 = 0
        call(&jobz, &uplo, &n, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        lwork = Int32(workQuery); liwork = iworkQuery
        var work = [Float](repeating: 0, count: Int(max(lwork, 1)))
        var iwork = [Int32](repeating: 0, count: Int(max(liwork, 1)))
        call(&jobz, &uplo, &n, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw Failure(description: "ssyevd failed (info \(info))") }
        return (Tensor(w), Tensor(shape: matrix.shape, scalars: a))
    }

    /// The same decomposition in double precision, for statistics that need the digits (the
    /// FID's matrix square roots): `matrix` is n x n row-major; row i of `vectors` belongs to
    /// `values[i]`, ascending.
    public static func symmetricEigen(
        _ matrix: [Double], dimension: Int
    ) throws -> (values: [Double], vectors: [Double]) {
        precondition(
            matrix.count == dimension * dimension,
            "symmetricEigen: \(matrix.count) values for a \(dimension) x \(dimension) matrix")
        var n = Int32(dimension), a = matrix
        var w = [Double](repeating: 0, count: dimension)
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        var lda = max(n, 1), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery: Double = 0, iworkQuery: Int32 = 0
        _ = BLAS.configured
        dsyevd_(&jobz, &uplo, &n, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        lwork = Int32(workQuery); liwork = iworkQuery
        var work = [Double](repeating: 0, count: Int(max(lwork, 1)))
        var iwork = [Int32](repeating: 0, count: Int(max(liwork, 1)))
        dsyevd_(&jobz, &uplo, &n, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw Failure(description: "dsyevd failed (info \(info))") }
        return (w, a)
    }

    private static func call(
        _ jobz: UnsafeMutablePointer<Int8>, _ uplo: UnsafeMutablePointer<Int8>, _ n: UnsafeMutablePointer<Int32>,
        _ a: UnsafeMutablePointer<Float>, _ lda: UnsafeMutablePointer<Int32>, _ w: UnsafeMutablePointer<Float>,
        _ work: UnsafeMutablePointer<Float>, _ lwork: UnsafeMutablePointer<Int32>,
        _ iwork: UnsafeMutablePointer<Int32>, _ liwork: UnsafeMutablePointer<Int32>, _ info: UnsafeMutablePointer<Int32>
    ) {
        _ = BLAS.configured
        ssyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
    }
}
