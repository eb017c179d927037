#include <cblas.h>

// Present in OpenBLAS builds with DYNAMIC_ARCH (Debian's): the names of the kernel sets it can
// switch between at run time. The engine finds them with dlsym, so builds without them still link.
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);
