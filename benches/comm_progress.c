/* A bare 2-float MPI_Allreduce loop, run by benches/comm-progress.sh. MODE says what the process
 * does before the loop: "world" nothing (the loop runs on MPI_COMM_WORLD); "split_type_freed"
 * creates a shared-memory communicator and frees it at once (the loop still runs on
 * MPI_COMM_WORLD); "dup" loops on a duplicate of MPI_COMM_WORLD made by MPI_Comm_dup;
 * "create_group" on one made by MPI_Comm_create_group (as collbench's are). Prints the time per
 * call. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
    const char *mode = argc > 1 ? argv[1] : "world";
    long iterations = argc > 2 ? atol(argv[2]) : 1000000;
    MPI_Comm comm = MPI_COMM_WORLD;
    if (strcmp(mode, "dup") == 0) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    } else if (strcmp(mode, "create_group") == 0) {
        MPI_Group group;
        MPI_Comm_group(MPI_COMM_WORLD, &group);
        MPI_Comm_create_group(MPI_COMM_WORLD, group, 7, &comm);
        MPI_Group_free(&group);
    } else if (strcmp(mode, "split_type_freed") == 0) {
        MPI_Comm shared;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &shared);
        MPI_Comm_free(&shared);
    } else if (strcmp(mode, "world") != 0) {
        fprintf(stderr, "comm_progress: MODE must be world, split_type_freed, dup or create_group, got '%s'\n", mode);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    float send[2] = {1.0f, 2.0f}, recv[2];
    for (int i = 0; i < 1000; i++) {
        MPI_Allreduce(send, recv, 2, MPI_FLOAT, MPI_SUM, comm);
    }
    double start = MPI_Wtime();
    for (long i = 0; i < iterations; i++) {
        MPI_Allreduce(send, recv, 2, MPI_FLOAT, MPI_SUM, comm);
    }
    double seconds = MPI_Wtime() - start;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        printf("%.3f\n", seconds / (double)iterations * 1e6);
    }
    if (comm != MPI_COMM_WORLD) {
        MPI_Comm_free(&comm);
    }
    MPI_Finalize();
    return 0;
}
