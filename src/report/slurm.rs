//! Slurm job metadata from the environment Slurm gives every task (`srun`, `sbatch`).

use super::SlurmInfo;

/// Reads the job from `vars` (e.g. `report::env::process_environment()` or the recorded
/// environment). `None` outside a Slurm job, i.e. without SLURM_JOB_ID (or the older SLURM_JOBID).
/// Each field takes the current variable name first and Slurm's older spelling second; empty
/// values count as absent.
pub fn from_env<I, K, V>(vars: I) -> Option<SlurmInfo>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut found: Vec<(String, String)> = Vec::new();
    for (k, v) in vars {
        let (k, v) = (k.as_ref(), v.as_ref());
        if k.starts_with("SLURM_") && !v.is_empty() {
            found.push((k.to_string(), v.to_string()));
        }
    }
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| found.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    };
    let job_id = get(&["SLURM_JOB_ID", "SLURM_JOBID"])?;
    Some(SlurmInfo {
        job_id: Some(job_id),
        step_id: get(&["SLURM_STEP_ID", "SLURM_STEPID"]),
        node_list: get(&[
            "SLURM_JOB_NODELIST",
            "SLURM_NODELIST",
            "SLURM_STEP_NODELIST",
        ]),
        nnodes: get(&["SLURM_JOB_NUM_NODES", "SLURM_NNODES"]),
        ntasks: get(&["SLURM_NTASKS", "SLURM_NPROCS"]),
        partition: get(&["SLURM_JOB_PARTITION"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn reads_an_srun_step() {
        let env: BTreeMap<&str, &str> = [
            ("SLURM_JOB_ID", "1234"),
            ("SLURM_STEP_ID", "0"),
            ("SLURM_JOB_NODELIST", "p5-st-[1-2]"),
            ("SLURM_NODELIST", "ignored-older-name"),
            ("SLURM_JOB_NUM_NODES", "2"),
            ("SLURM_NTASKS", "16"),
            ("SLURM_JOB_PARTITION", "gpu"),
            ("HOME", "/root"),
        ]
        .into_iter()
        .collect();
        let info = from_env(&env).expect("in a job");
        assert_eq!(info.job_id.as_deref(), Some("1234"));
        assert_eq!(info.step_id.as_deref(), Some("0"));
        assert_eq!(info.node_list.as_deref(), Some("p5-st-[1-2]"));
        assert_eq!(info.nnodes.as_deref(), Some("2"));
        assert_eq!(info.ntasks.as_deref(), Some("16"));
        assert_eq!(info.partition.as_deref(), Some("gpu"));
    }

    #[test]
    fn older_spellings_and_missing_fields() {
        let env = vec![
            ("SLURM_JOBID".to_string(), "77".to_string()),
            ("SLURM_NPROCS".to_string(), "4".to_string()),
            ("SLURM_STEP_ID".to_string(), "".to_string()),
        ];
        let info = from_env(env).expect("in a job");
        assert_eq!(info.job_id.as_deref(), Some("77"));
        assert_eq!(info.ntasks.as_deref(), Some("4"));
        assert_eq!(info.step_id, None, "empty counts as absent");
        assert_eq!(info.node_list, None);
    }

    #[test]
    fn outside_slurm_is_none() {
        let env = vec![("SLURM_CONF", "/etc/slurm/slurm.conf"), ("HOME", "/root")];
        assert_eq!(from_env(env), None);
        assert_eq!(from_env(Vec::<(String, String)>::new()), None);
    }
}
