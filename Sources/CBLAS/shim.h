#include <cblas.h>

// Present in OpenBLAS builds with DYNAMIC_ARCH (Debian's): the names of the kernel sets it can
// switch between at run time. The engine finds them with dlsym, so builds without them still link.
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);

// LAPACK (bundled with OpenBLAS): the symmetric eigendecomposition, divide and conquer.
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda, float *w,
             float *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

// Not BLAS, but the same Linux-only shim: glibc's allocator settings (see Storage.allocatorTuned).
#include <malloc.h>
static inline void dg_set_malloc_option(int option, int value) { mallopt(option, value); }
static const int dg_malloc_mmap_threshold = M_MMAP_THRESHOLD;
static const int dg_malloc_trim_threshold = M_TRIM_THRESHOLD;
static const int dg_malloc_top_pad = M_TOP_PAD;
