// MPI for Swift. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE) are
// macros over addresses of global structures, which Swift's importer cannot see, and MPICH's
// are integers of other values: these accessors give Swift whichever the installed library has.
#include <mpi.h>

static inline MPI_Comm deepgen_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm deepgen_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype deepgen_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Op deepgen_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Info deepgen_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline void *deepgen_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int deepgen_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int deepgen_mpi_success(void) { return MPI_SUCCESS; }
static inline int deepgen_mpi_errors_return(MPI_Comm comm) { return MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN); }
