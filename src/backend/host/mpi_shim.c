/* MPI constants that are preprocessor macros in mpi.h (their value differs between Open MPI and
 * MPICH), exported as functions so Rust can use them. Built by build.rs with feature `mpi`. */
#include <mpi.h>

void *collbench_mpi_in_place(void) { return MPI_IN_PLACE; }
