//! The environment recorded in a report: only variables that shape a collective benchmark's
//! result (communication libraries, launcher, scheduler, GPU runtime), never the whole
//! environment, and never anything whose name suggests a credential.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Variables starting with one of these are recorded.
pub const ALLOWED_PREFIXES: &[&str] = &[
    "NCCL_",     // NCCL tuning and debug; also NCCL_TESTS_SPLIT / NCCL_TESTS_SPLIT_MASK
    "FI_",       // libfabric (EFA provider settings live here)
    "OFI_NCCL_", // aws-ofi-nccl plugin
    "RDMAV_",    // rdma-core (RDMAV_FORK_SAFE in EFA setups)
    "UCX_",      // UCX transport selection
    "SLURM_",    // job, step, node list, task layout
    "OMPI_",     // Open MPI: OMPI_MCA_* settings and OMPI_COMM_WORLD_* rank layout
    "PMIX_MCA_", // PMIx settings (other PMIX_* are connection internals)
    "CUDA_",     // CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER, …
    "NVIDIA_",   // container runtime: NVIDIA_VISIBLE_DEVICES, driver capabilities
];

/// Variables recorded by exact name.
pub const ALLOWED_NAMES: &[&str] = &[
    "PMIX_RANK",
    "PMIX_NAMESPACE",
    "PMIX_HOSTNAME",
    "PMIX_VERSION",
    "PMI_RANK",
    "PMI_SIZE",
    // Which libnccl / libfabric / libmpi a process loads depends on it.
    "LD_LIBRARY_PATH",
];

/// A name containing one of these (case-insensitive) is never recorded, even under an allowed
/// prefix: a report is shared, a credential must not travel with it. PRECONDITION_TRANSPORTS is
/// Open MPI's per-job transport key.
pub const DENIED_NAME_PARTS: &[&str] = &[
    "TOKEN",
    "KEY",
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "CREDENTIAL",
    "COOKIE",
    "AUTH",
    "PRIVATE",
    "PRECONDITION_TRANSPORTS",
];

/// Values longer than this many bytes are cut (a report is not the place for a 1 MB variable).
pub const MAX_VALUE_BYTES: usize = 4096;

/// Whether a variable of this name is recorded.
pub fn is_allowlisted(name: &str) -> bool {
    let allowed = ALLOWED_NAMES.contains(&name)
        || ALLOWED_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() && name.starts_with(p));
    if !allowed {
        return false;
    }
    let upper = name.to_ascii_uppercase();
    !DENIED_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// The recorded subset of `vars`, sorted by name. Long values are cut at a character boundary and
/// marked.
pub fn allowlisted_environment(
    vars: impl IntoIterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    vars.into_iter()
        .filter(|(name, _)| is_allowlisted(name))
        .map(|(name, value)| (name, bounded(value)))
        .collect()
}

/// Variables collbench set in its own process (the NCCL log capture,
/// `crate::backend::nccl::net_capture`; `CUDA_MODULE_LOADING` in `crate::app`), each with the
/// value the user had (`None`: unset).
static OWN_SETTINGS: Mutex<Vec<(String, Option<String>)>> = Mutex::new(Vec::new());

/// Records the variables collbench set itself, so reports show the user's environment rather than
/// collbench's additions. A variable's first record counts: that is the user's value.
pub fn record_own_settings(user_values: Vec<(String, Option<String>)>) {
    let mut own = OWN_SETTINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    add_new_names(&mut own, user_values);
}

/// Appends the entries of `more` whose name `own` does not hold yet.
fn add_new_names(own: &mut Vec<(String, Option<String>)>, more: Vec<(String, Option<String>)>) {
    for (name, value) in more {
        if !own.iter().any(|(known, _)| *known == name) {
            own.push((name, value));
        }
    }
}

/// This process's environment as (name, value) pairs, skipping entries that are not UTF-8
/// (`std::env::vars` would panic on them), with collbench's own settings replaced by the user's
/// values ([`record_own_settings`]).
pub fn process_environment() -> impl Iterator<Item = (String, String)> {
    let own = OWN_SETTINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    as_the_user_set_it(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        &own,
    )
    .collect::<Vec<_>>()
    .into_iter()
}

/// `vars` with each of `own` (name, the user's value) put back as the user had it.
pub fn as_the_user_set_it<'a>(
    vars: impl Iterator<Item = (String, String)> + 'a,
    own: &'a [(String, Option<String>)],
) -> impl Iterator<Item = (String, String)> + 'a {
    vars.filter_map(
        move |(name, value)| match own.iter().find(|(own_name, _)| *own_name == name) {
            Some((_, Some(user_value))) => Some((name, user_value.clone())),
            Some((_, None)) => None,
            None => Some((name, value)),
        },
    )
}

fn bounded(value: String) -> String {
    if value.len() <= MAX_VALUE_BYTES {
        return value;
    }
    let mut cut = MAX_VALUE_BYTES;
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…[cut, {} bytes in all]", &value[..cut], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keeps_communication_and_scheduler_variables() {
        let got = allowlisted_environment(env(&[
            ("NCCL_DEBUG", "INFO"),
            ("NCCL_TESTS_SPLIT", "MOD 2"),
            ("FI_PROVIDER", "efa"),
            ("FI_EFA_USE_DEVICE_RDMA", "1"),
            ("OFI_NCCL_PROTOCOL", "RDMA"),
            ("SLURM_JOB_ID", "42"),
            ("CUDA_VISIBLE_DEVICES", "0,1"),
            ("OMPI_COMM_WORLD_RANK", "3"),
            ("OMPI_MCA_btl", "^openib"),
            ("UCX_TLS", "rc"),
            ("PMIX_RANK", "3"),
            ("PMIX_MCA_gds", "hash"),
            ("NVIDIA_VISIBLE_DEVICES", "all"),
            ("LD_LIBRARY_PATH", "/opt/amazon/efa/lib"),
            ("RDMAV_FORK_SAFE", "1"),
        ]));
        assert_eq!(got.len(), 15, "{got:?}");
        assert_eq!(got["NCCL_TESTS_SPLIT"], "MOD 2");
        assert_eq!(got["PMIX_RANK"], "3");
    }

    #[test]
    fn drops_everything_else_and_never_credentials() {
        let got = allowlisted_environment(env(&[
            ("HOME", "/root"),
            ("PATH", "/usr/bin"),
            ("AWS_SECRET_ACCESS_KEY", "abc"),
            ("AWS_REGION", "us-east-1"),
            ("GITHUB_TOKEN", "ghp"),
            ("NCCL_", "prefix alone is not a name"),
            ("NCCLX_DEBUG", "not the prefix"),
            ("SLURM_JOB_TOKEN", "t"),
            ("NCCL_IB_KEY_FILE", "/k"),
            ("FI_EFA_Password", "p"),
            ("OMPI_MCA_orte_precondition_transports", "8a1e-77f0"),
            ("UCX_SECRET", "s"),
            ("CUDA_AUTH_HEADER", "h"),
            ("SLURM_JOB_CREDENTIALS", "c"),
            ("PMIX_SERVER_URI21", "pmix-server.1;tcp4://127.0.0.1:1"),
            ("PMIX_SECURITY_MODE", "native"),
            ("SLURM_MUNGE_COOKIE", "x"),
        ]));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_BYTES); // 2 bytes per char
        let got = allowlisted_environment(env(&[("NCCL_ALGO", &long)]));
        let v = &got["NCCL_ALGO"];
        assert!(v.starts_with("éé"));
        assert!(
            v.ends_with(&format!("[cut, {} bytes in all]", long.len())),
            "{v}"
        );
        assert!(v.len() < long.len());
    }

    #[test]
    fn collbench_own_settings_are_reported_as_the_user_set_them() {
        let own = vec![
            ("NCCL_DEBUG".to_string(), None),
            ("NCCL_DEBUG_SUBSYS".to_string(), Some("COLL".to_string())),
        ];
        let got: BTreeMap<String, String> = as_the_user_set_it(
            env(&[
                ("NCCL_DEBUG", "INFO"),
                ("NCCL_DEBUG_SUBSYS", "INIT,NET"),
                ("NCCL_IB_HCA", "mlx5_0"),
            ])
            .into_iter(),
            &own,
        )
        .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got["NCCL_DEBUG_SUBSYS"], "COLL");
        assert_eq!(got["NCCL_IB_HCA"], "mlx5_0");
    }

    #[test]
    fn a_variables_first_record_is_the_users_value() {
        let mut own = vec![("NCCL_DEBUG".to_string(), None)];
        add_new_names(
            &mut own,
            vec![
                ("NCCL_DEBUG".to_string(), Some("INFO".to_string())),
                ("CUDA_MODULE_LOADING".to_string(), Some("LAZY".to_string())),
            ],
        );
        assert_eq!(
            own,
            vec![
                ("NCCL_DEBUG".to_string(), None),
                ("CUDA_MODULE_LOADING".to_string(), Some("LAZY".to_string())),
            ]
        );
    }

    #[test]
    fn process_environment_reads_this_process() {
        // PATH is set in every test environment; it is read but not allowlisted.
        assert!(process_environment().any(|(k, _)| k == "PATH"));
        assert!(!allowlisted_environment(process_environment()).contains_key("PATH"));
    }
}
