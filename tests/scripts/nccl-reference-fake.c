/*
 * A stand-in for libcuda.so.1 and libnccl.so.2 on machines without a GPU, only for
 * tests/scripts/nccl-reference.sh: it lets scripts/nccl-reference.c run its whole control flow
 * here (loading, the sweep, rotation, waiting, error paths) so that a mistake in it shows in CI
 * rather than in the few minutes of a GPU session. The real numbers come only from a real GPU.
 *
 * "Device" memory is host memory; ncclAllReduce on one rank copies send to receive after checking
 * that both ranges lie inside one allocation (an out-of-bounds rotation slot aborts the program).
 * Every call is appended to $FAKE_LOG as "allreduce SEND_OFFSET RECV_OFFSET COUNT".
 * FAKE_ASYNC_ERROR=N: the Nth ncclCommGetAsyncError reports ncclSystemError.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long CUdeviceptr;

static struct {
    char *base;
    size_t bytes;
} allocations[8];
static int allocation_count;
static int queries;
static int async_queries;

static FILE *log_file(void) {
    static FILE *f;
    if (!f) {
        const char *path = getenv("FAKE_LOG");
        f = fopen(path ? path : "/dev/null", "a");
        if (!f) abort();
    }
    return f;
}

/* Offset of [p, p + bytes) inside an allocation; aborts when it is not inside one. */
static long offset_in_allocation(const char *p, size_t bytes, int *which) {
    for (int i = 0; i < allocation_count; i++) {
        char *base = allocations[i].base;
        if (p >= base && p + bytes <= base + allocations[i].bytes) {
            *which = i;
            return (long)(p - base);
        }
    }
    fprintf(stderr, "fake: %zu bytes at %p are outside every allocation\n", bytes, (void *)p);
    abort();
}

int cuInit(unsigned flags) { return (int)flags; }
int cuDeviceGet(int *device, int ordinal) {
    *device = ordinal;
    return ordinal == 0 ? 0 : 101; /* CUDA_ERROR_INVALID_DEVICE */
}
int cuDeviceGetName(char *name, int length, int device) {
    (void)device;
    snprintf(name, (size_t)length, "Fake GPU");
    return 0;
}
int cuDevicePrimaryCtxRetain(void **context, int device) {
    (void)device;
    *context = (void *)1;
    return 0;
}
int cuCtxSetCurrent(void *context) { return context ? 0 : 1; }
int cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
    if (allocation_count == 8) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    char *p = malloc(bytes);
    if (!p) return 2;
    allocations[allocation_count].base = p;
    allocations[allocation_count].bytes = bytes;
    allocation_count++;
    *pointer = (CUdeviceptr)p;
    return 0;
}
int cuMemsetD8Async(CUdeviceptr pointer, unsigned char value, size_t bytes, void *stream) {
    int which;
    (void)stream;
    offset_in_allocation((char *)pointer, bytes, &which);
    memset((void *)pointer, value, bytes);
    return 0;
}
int cuStreamCreate(void **stream, unsigned flags) {
    *stream = (void *)2;
    return flags == 1 ? 0 : 1; /* the probe must ask for a non-blocking stream */
}
/* Every other query is "not ready", so the probe's polling loop runs. */
int cuStreamQuery(void *stream) {
    (void)stream;
    return (queries++ % 2) ? 0 : 600;
}
int cuGetErrorString(int error, const char **text) {
    *text = error == 101 ? "invalid device ordinal" : "fake CUDA error";
    return 0;
}

int ncclGetVersion(int *version) {
    *version = 22809;
    return 0;
}
int ncclCommInitAll(void **comm, int ndev, const int *devices) {
    *comm = (void *)3;
    return (ndev == 1 && devices[0] == 0) ? 0 : 4; /* ncclInvalidArgument */
}
int ncclAllReduce(const void *send, void *recv, size_t count, int type, int op, void *comm,
                  void *stream) {
    (void)comm;
    (void)stream;
    if (type != 7 || op != 0) return 4;
    size_t bytes = count * 4;
    int send_at, recv_at;
    long send_offset = offset_in_allocation(send, bytes, &send_at);
    long recv_offset = offset_in_allocation(recv, bytes, &recv_at);
    fprintf(log_file(), "allreduce %s %ld %ld %zu\n", send == recv ? "in" : "out", send_offset,
            recv_offset, count);
    if (send != recv) memcpy(recv, send, bytes);
    return 0;
}
int ncclCommGetAsyncError(void *comm, int *error) {
    (void)comm;
    const char *at = getenv("FAKE_ASYNC_ERROR");
    *error = (at && ++async_queries == atoi(at)) ? 2 : 0;
    return 0;
}
const char *ncclGetErrorString(int error) {
    return error == 2 ? "unhandled system error (fake)" : "fake NCCL error";
}
