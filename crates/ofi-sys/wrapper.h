/* Every public libfabric header collbench uses. Present in both 1.x (>= 1.14) and 2.x. */
#include <rdma/fabric.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

/* Pointer types of the exported libfabric functions that collbench resolves with dlsym at run time
 * (src/api.rs). Taken from the declarations above with typeof, so the Rust function table cannot
 * drift from the headers it was built against. */
typedef __typeof__(&fi_getinfo) ofi_sys_fi_getinfo_fn;
typedef __typeof__(&fi_freeinfo) ofi_sys_fi_freeinfo_fn;
typedef __typeof__(&fi_dupinfo) ofi_sys_fi_dupinfo_fn;
typedef __typeof__(&fi_fabric) ofi_sys_fi_fabric_fn;
typedef __typeof__(&fi_strerror) ofi_sys_fi_strerror_fn;
typedef __typeof__(&fi_version) ofi_sys_fi_version_fn;
typedef __typeof__(&fi_tostr) ofi_sys_fi_tostr_fn;
