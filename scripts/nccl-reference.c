/*
 * nccl-reference: the smallest program that times ncclAllReduce the way nccl-tests does, so that
 * `make gpu-check` can put collbench's numbers beside a reference measured on the same machine,
 * in the same minute, with the same libnccl (the nccl-tests anchors were measured on another
 * H100 on another day, and its 8 B row swings by 30 % between sweeps).
 *
 * One process, one GPU, float sum, all_reduce. For each size, out of place then in place, as
 * nccl-tests' TimeTest/BenchTime with -c 1: warm-up at the largest then the smallest size; per
 * size and placement a fill of the buffers (a memset standing in for the data initialisation),
 * one operation and a wait, then ITERS operations timed by the host's monotonic clock from the
 * first launch to the stream's completion, then the check's extra operation and wait. Each
 * operation moves to the next slot of the buffers (offset = size × (iteration mod
 * (MAXBYTES / size))), as nccl-tests does, so large sizes do not time the L2 cache.
 *
 * Nothing is linked but libdl: the CUDA driver (libcuda.so.1) and NCCL are opened at run time, so
 * the binary built on a machine without CUDA runs on one with it. NCCL is COLLBENCH_NCCL_LIBRARY
 * if set (gpu-check sets it to the file collbench loaded), else libnccl.so.2 through the loader.
 *
 * Output: nccl-tests' row layout (size count type redop root, then time algbw busbw #wrong out of
 * place and in place; #wrong is N/A: nothing is checked), so the same scripts compare it.
 *
 * Usage: nccl-reference [-b MINBYTES] [-e MAXBYTES] [-f FACTOR] [-n ITERS] [-w WARMUP] [-d DEVICE]
 * Sizes take K/M/G suffixes (binary). Exit codes as collbench's: 2 CUDA, 3 NCCL, 6 usage.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_CUDA = 2, EXIT_NCCL = 3, EXIT_USAGE = 6 };

/* The few CUDA driver and NCCL entry points used, with their C types spelled out (no headers
 * needed to build). Values from cuda.h and nccl.h. */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUstream;
typedef unsigned long long CUdeviceptr;
enum { CUDA_SUCCESS = 0, CUDA_ERROR_NOT_READY = 600, CU_STREAM_NON_BLOCKING = 1 };

typedef void *ncclComm_t;
typedef int ncclResult_t;
enum { ncclSuccess = 0, ncclInProgress = 7, ncclFloat32 = 7, ncclSum = 0 };

static struct {
    CUresult (*init)(unsigned);
    CUresult (*device_get)(CUdevice *, int);
    CUresult (*device_get_name)(char *, int, CUdevice);
    CUresult (*primary_ctx_retain)(CUcontext *, CUdevice);
    CUresult (*ctx_set_current)(CUcontext);
    CUresult (*mem_alloc)(CUdeviceptr *, size_t);
    CUresult (*memset_d8_async)(CUdeviceptr, unsigned char, size_t, CUstream);
    CUresult (*stream_create)(CUstream *, unsigned);
    CUresult (*stream_query)(CUstream);
    CUresult (*get_error_string)(CUresult, const char **);
} cu;

static struct {
    ncclResult_t (*get_version)(int *);
    ncclResult_t (*comm_init_all)(ncclComm_t *, int, const int *);
    ncclResult_t (*all_reduce)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
    ncclResult_t (*comm_get_async_error)(ncclComm_t, ncclResult_t *);
    const char *(*get_error_string)(ncclResult_t);
} nccl;

static void *symbol(void *lib, const char *lib_name, const char *name, int exit_code) {
    void *f = dlsym(lib, name);
    if (!f) {
        fprintf(stderr, "nccl-reference: %s has no symbol %s (%s)\n", lib_name, name, dlerror());
        exit(exit_code);
    }
    return f;
}

#define CU_SYMBOL(field, name) \
    *(void **)&cu.field = symbol(lib, "libcuda.so.1", name, EXIT_CUDA)
#define NCCL_SYMBOL(field, name) \
    *(void **)&nccl.field = symbol(lib, path, name, EXIT_NCCL)

static void load_cuda(void) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr,
                "nccl-reference: could not load the CUDA driver libcuda.so.1 (%s); is an NVIDIA "
                "driver installed and is this a GPU node?\n",
                dlerror());
        exit(EXIT_CUDA);
    }
    CU_SYMBOL(init, "cuInit");
    CU_SYMBOL(device_get, "cuDeviceGet");
    CU_SYMBOL(device_get_name, "cuDeviceGetName");
    CU_SYMBOL(primary_ctx_retain, "cuDevicePrimaryCtxRetain");
    CU_SYMBOL(ctx_set_current, "cuCtxSetCurrent");
    CU_SYMBOL(mem_alloc, "cuMemAlloc_v2");
    CU_SYMBOL(memset_d8_async, "cuMemsetD8Async");
    CU_SYMBOL(stream_create, "cuStreamCreate");
    CU_SYMBOL(stream_query, "cuStreamQuery");
    CU_SYMBOL(get_error_string, "cuGetErrorString");
}

static const char *load_nccl(void) {
    const char *path = getenv("COLLBENCH_NCCL_LIBRARY");
    if (!path || !*path) path = "libnccl.so.2";
    void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr,
                "nccl-reference: could not load NCCL %s (%s); set COLLBENCH_NCCL_LIBRARY to the "
                "libnccl.so.2 to use\n",
                path, dlerror());
        exit(EXIT_NCCL);
    }
    NCCL_SYMBOL(get_version, "ncclGetVersion");
    NCCL_SYMBOL(comm_init_all, "ncclCommInitAll");
    NCCL_SYMBOL(all_reduce, "ncclAllReduce");
    NCCL_SYMBOL(comm_get_async_error, "ncclCommGetAsyncError");
    NCCL_SYMBOL(get_error_string, "ncclGetErrorString");
    return path;
}

static void cu_check(CUresult r, const char *what) {
    if (r == CUDA_SUCCESS) return;
    const char *text = "unknown error";
    if (cu.get_error_string) cu.get_error_string(r, &text);
    fprintf(stderr, "nccl-reference: %s failed: CUDA error %d: %s\n", what, r, text);
    exit(EXIT_CUDA);
}

static void nccl_check(ncclResult_t r, const char *what) {
    if (r == ncclSuccess) return;
    fprintf(stderr, "nccl-reference: %s failed: NCCL error %d: %s\n", what, r,
            nccl.get_error_string(r));
    exit(EXIT_NCCL);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* nccl-tests' testStreamSynchronize: poll the stream, and the communicator for an async error. */
static void wait_stream(CUstream stream, ncclComm_t comm) {
    for (;;) {
        CUresult r = cu.stream_query(stream);
        if (r == CUDA_SUCCESS) return;
        if (r != CUDA_ERROR_NOT_READY) cu_check(r, "cuStreamQuery");
        ncclResult_t async_error = ncclSuccess;
        nccl_check(nccl.comm_get_async_error(comm, &async_error), "ncclCommGetAsyncError");
        if (async_error != ncclSuccess && async_error != ncclInProgress)
            nccl_check(async_error, "the NCCL communicator (asynchronous error)");
    }
}

/* Parses a size: digits with an optional K/M/G suffix (powers of 1024); 0 on error. */
static size_t parse_size(const char *text) {
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-') return 0;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    default: return 0;
    }
    if (*end != '\0' || value > (SIZE_MAX >> shift)) return 0;
    return (size_t)(value << shift);
}

static long parse_count(const char *text, const char *flag, long min) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || value < min) {
        fprintf(stderr, "nccl-reference: %s '%s': accepted: an integer >= %ld\n", flag, text, min);
        exit(EXIT_USAGE);
    }
    return value;
}

struct sweep {
    size_t min_bytes, max_bytes;
    long factor, iters, warmup;
    int device;
};

static struct sweep parse_args(int argc, char **argv) {
    struct sweep s = {8, 4ull << 30, 2, 50, 5, 0};
    int opt;
    while ((opt = getopt(argc, argv, "b:e:f:n:w:d:h")) != -1) {
        switch (opt) {
        case 'b':
        case 'e': {
            size_t bytes = parse_size(optarg);
            if (bytes < 4) {
                fprintf(stderr,
                        "nccl-reference: -%c '%s': accepted: a size of at least 4 bytes, digits "
                        "with an optional K/M/G suffix\n",
                        opt, optarg);
                exit(EXIT_USAGE);
            }
            if (opt == 'b') s.min_bytes = bytes; else s.max_bytes = bytes;
            break;
        }
        case 'f': s.factor = parse_count(optarg, "-f", 2); break;
        case 'n': s.iters = parse_count(optarg, "-n", 1); break;
        case 'w': s.warmup = parse_count(optarg, "-w", 0); break;
        case 'd': s.device = (int)parse_count(optarg, "-d", 0); break;
        case 'h':
            printf("usage: %s [-b MINBYTES] [-e MAXBYTES] [-f FACTOR] [-n ITERS] [-w WARMUP] "
                   "[-d DEVICE]\n",
                   argv[0]);
            exit(0);
        default:
            fprintf(stderr, "nccl-reference: accepted flags: -b -e -f -n -w -d -h\n");
            exit(EXIT_USAGE);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nccl-reference: unexpected argument '%s'; accepted: flags only\n",
                argv[optind]);
        exit(EXIT_USAGE);
    }
    if (s.min_bytes > s.max_bytes) {
        fprintf(stderr, "nccl-reference: -b %zu is larger than -e %zu; accepted: -b <= -e\n",
                s.min_bytes, s.max_bytes);
        exit(EXIT_USAGE);
    }
    return s;
}

struct target {
    ncclComm_t comm;
    CUstream stream;
    CUdeviceptr send, recv;
    size_t max_bytes;
};

/* Operation number `index` of `bytes`, in or out of place, on its rotation slot. */
static void launch(const struct target *t, size_t bytes, int in_place, long index) {
    size_t steps = t->max_bytes / bytes;
    size_t offset = bytes * ((size_t)index % steps);
    void *recv = (void *)(uintptr_t)(t->recv + offset);
    const void *send = in_place ? recv : (const void *)(uintptr_t)(t->send + offset);
    nccl_check(nccl.all_reduce(send, recv, bytes / sizeof(float), ncclFloat32, ncclSum, t->comm,
                               t->stream),
               "ncclAllReduce");
}

/* One placement of one size: fill, one operation, the timed loop, the check's operation.
 * Returns the time per operation in seconds. */
static double bench(const struct target *t, size_t bytes, int in_place, long iters) {
    cu_check(cu.memset_d8_async(t->send, 1, bytes, t->stream), "cuMemsetD8Async");
    cu_check(cu.memset_d8_async(t->recv, 2, bytes, t->stream), "cuMemsetD8Async");
    launch(t, bytes, in_place, 0);
    wait_stream(t->stream, t->comm);
    double start = now_seconds();
    for (long i = 0; i < iters; i++) launch(t, bytes, in_place, i);
    wait_stream(t->stream, t->comm);
    double per_operation = (now_seconds() - start) / (double)iters;
    launch(t, bytes, in_place, 0);
    wait_stream(t->stream, t->comm);
    return per_operation;
}

/* nccl-tests' number format for a time in µs: %7.0f from 10000, %7.1f from 100, else %7.2f. */
static void print_time(double us) {
    printf("  %7.*f", us >= 10000.0 ? 0 : us >= 100.0 ? 1 : 2, us);
}

int main(int argc, char **argv) {
    struct sweep s = parse_args(argc, argv);
    s.min_bytes -= s.min_bytes % sizeof(float);
    s.max_bytes -= s.max_bytes % sizeof(float);
    setvbuf(stdout, NULL, _IOLBF, 0);

    load_cuda();
    const char *nccl_path = load_nccl();
    cu_check(cu.init(0), "cuInit");
    CUdevice device;
    cu_check(cu.device_get(&device, s.device), "cuDeviceGet");
    char name[256] = "";
    cu_check(cu.device_get_name(name, (int)sizeof name, device), "cuDeviceGetName");
    CUcontext context;
    cu_check(cu.primary_ctx_retain(&context, device), "cuDevicePrimaryCtxRetain");
    cu_check(cu.ctx_set_current(context), "cuCtxSetCurrent");

    struct target t = {0};
    t.max_bytes = s.max_bytes;
    nccl_check(nccl.comm_init_all(&t.comm, 1, &s.device), "ncclCommInitAll");
    cu_check(cu.stream_create(&t.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    cu_check(cu.mem_alloc(&t.send, s.max_bytes), "cuMemAlloc (send buffer)");
    cu_check(cu.mem_alloc(&t.recv, s.max_bytes), "cuMemAlloc (receive buffer)");

    int version = 0;
    nccl_check(nccl.get_version(&version), "ncclGetVersion");
    printf("# nccl-reference: all_reduce float sum, 1 rank on device %d (%s), NCCL %d (%s)\n",
           s.device, name, version, nccl_path);
    printf("# minBytes %zu maxBytes %zu step: %ld(factor) warmup iters: %ld iters: %ld\n",
           s.min_bytes, s.max_bytes, s.factor, s.warmup, s.iters);

    for (long i = 0; i < s.warmup; i++) launch(&t, s.max_bytes, 0, i);
    wait_stream(t.stream, t.comm);
    for (long i = 0; i < s.warmup; i++) launch(&t, s.min_bytes, 0, i);
    wait_stream(t.stream, t.comm);

    for (size_t bytes = s.min_bytes; bytes <= s.max_bytes; bytes *= (size_t)s.factor) {
        printf("%12zu  %12zu  %8s  %6s  %6i", bytes, bytes / sizeof(float), "float", "sum", -1);
        for (int in_place = 0; in_place <= 1; in_place++) {
            double seconds = bench(&t, bytes, in_place, s.iters);
            double algbw = (double)bytes / 1e9 / seconds;
            print_time(seconds * 1e6);
            /* busbw = algbw × 2(n-1)/n = 0 on one rank, as nccl-tests prints it. */
            printf("  %6.2f  %6.2f  %6s", algbw, 0.0, "N/A");
        }
        printf("\n");
        if (bytes > SIZE_MAX / (size_t)s.factor) break;
    }
    return 0;
}
