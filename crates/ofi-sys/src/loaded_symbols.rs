// Shared by build.rs (which keeps these out of bindgen's extern block) and src/api.rs (which
// resolves them with dlsym), so the two lists cannot drift apart.

/// Exported libfabric functions collbench resolves at run time, in the table's order.
pub const LOADED_SYMBOLS: &[&str] = &[
    "fi_getinfo",
    "fi_freeinfo",
    "fi_dupinfo",
    "fi_fabric",
    "fi_strerror",
    "fi_version",
    "fi_tostr",
];
