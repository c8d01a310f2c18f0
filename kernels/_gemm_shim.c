/* The GEMM symbols of fastmlp's precompiled kernels.
 *
 * The kernels call fastmlp_cblas_sgemm and fastmlp_cblas_dgemm (the CBLAS
 * signature with 64-bit integers; see blas.py). In the Numba kernels, Numba's
 * linker binds those names to NumPy's OpenBLAS; in the precompiled module they
 * are these two functions, which call through pointers that
 * fastmlp.kernels.precompiled sets to the same library when it loads the
 * module. Until then the pointers are NULL, and precompiled.lookup returns no
 * variant that calls them.
 */
#include <stdint.h>

typedef void (*fastmlp_sgemm_fn)(int32_t, int32_t, int32_t, int64_t, int64_t,
                                 int64_t, float, const void *, int64_t,
                                 const void *, int64_t, float, void *, int64_t);
typedef void (*fastmlp_dgemm_fn)(int32_t, int32_t, int32_t, int64_t, int64_t,
                                 int64_t, double, const void *, int64_t,
                                 const void *, int64_t, double, void *, int64_t);

fastmlp_sgemm_fn fastmlp_sgemm_ptr = 0;
fastmlp_dgemm_fn fastmlp_dgemm_ptr = 0;

void fastmlp_cblas_sgemm(int32_t order, int32_t ta, int32_t tb, int64_t M,
                         int64_t N, int64_t K, float alpha, const void *A,
                         int64_t lda, const void *B, int64_t ldb, float beta,
                         void *C, int64_t ldc)
{
    fastmlp_sgemm_ptr(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                      ldc);
}

void fastmlp_cblas_dgemm(int32_t order, int32_t ta, int32_t tb, int64_t M,
                         int64_t N, int64_t K, double alpha, const void *A,
                         int64_t lda, const void *B, int64_t ldb, double beta,
                         void *C, int64_t ldc)
{
    fastmlp_dgemm_ptr(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C,
                      ldc);
}
