/*
 * A library that passes collbench's NCCL loader (every required symbol) and reports the release
 * FAKE_NCCL_VERSION (e.g. 22703), for tests/gpu/nccl_versions.rs: the version gates of -x and -D
 * run right after loading, before any GPU is touched, so a machine without a GPU reaches them.
 * -DWITH_CONFIG exports ncclCommInitRankConfig; -DWITH_DEVICE_API the device-API symbols.
 * Every call other than ncclGetVersion fails with ncclInternalError: nothing here is NCCL.
 */
#include <stdlib.h>

#define INTERNAL_ERROR 3

int ncclGetVersion(int *version) {
    const char *text = getenv("FAKE_NCCL_VERSION");
    *version = text ? atoi(text) : 0;
    return 0;
}

const char *ncclGetErrorString(int result) {
    (void)result;
    return "fake NCCL: not implemented";
}

const char *ncclGetLastError(void *comm) {
    (void)comm;
    return "";
}

#define FAIL(name) \
    int name(void) { return INTERNAL_ERROR; }

FAIL(ncclGetUniqueId)
FAIL(ncclCommInitRank)
FAIL(ncclCommInitAll)
FAIL(ncclCommDestroy)
FAIL(ncclCommAbort)
FAIL(ncclCommGetAsyncError)
FAIL(ncclCommCount)
FAIL(ncclCommCuDevice)
FAIL(ncclCommUserRank)
FAIL(ncclGroupStart)
FAIL(ncclGroupEnd)
FAIL(ncclAllReduce)
FAIL(ncclReduce)
FAIL(ncclBroadcast)
FAIL(ncclAllGather)
FAIL(ncclReduceScatter)
FAIL(ncclSend)
FAIL(ncclRecv)
#ifdef WITH_CONFIG
FAIL(ncclCommInitRankConfig)
#endif
#ifdef WITH_DEVICE_API
FAIL(ncclDevCommCreate)
FAIL(ncclDevCommDestroy)
FAIL(ncclTeamLsa)
#endif
