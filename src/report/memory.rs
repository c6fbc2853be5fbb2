//! `-M`: the memory each rank holds once its buffers are allocated, gathered to rank 0, printed
//! under the rank lines and written to the JSON report.

use serde::{Deserialize, Serialize};

/// Where a rank's buffers live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// GPU memory (NCCL backend): free/total are the device's (cuMemGetInfo).
    Device,
    /// Host memory (MPI backend): free/total are the host's (MemAvailable/MemTotal).
    Host,
}

/// One rank's memory after allocation. Byte counts; `None` where the backend cannot know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankMemory {
    pub rank: usize,
    pub kind: MemoryKind,
    /// CUDA device ordinal (device memory only).
    pub device: Option<i32>,
    /// What creating the communicator took (NCCL: device free memory before minus after init).
    pub communicator_bytes: Option<u64>,
    /// Send, receive and scratch buffers of this rank.
    pub buffer_bytes: u64,
    /// Free memory once the buffers were allocated.
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// Peak resident set of the rank's process (host memory: Linux VmHWM).
    pub process_peak_rss_bytes: Option<u64>,
}

/// `#  Memory rank  0 GPU  0: NCCL init used 586 MiB, buffers 4 MiB, 79962 MiB free of 81079 MiB`,
/// or for host memory `#  Memory rank  0 host: buffers 3 MiB, peak RSS 12 MiB, 20100 MiB free of
/// 23998 MiB`. Not `#  Rank`: health-check scripts count rank lines by that prefix.
pub fn memory_line(m: &RankMemory) -> String {
    let mut line = match (m.kind, m.device) {
        (MemoryKind::Device, Some(device)) => {
            format!("#  Memory rank {:>2} GPU {:>2}:", m.rank, device)
        }
        (MemoryKind::Device, None) => format!("#  Memory rank {:>2} GPU:", m.rank),
        (MemoryKind::Host, _) => format!("#  Memory rank {:>2} host:", m.rank),
    };
    let mut parts = Vec::new();
    if let Some(init) = m.communicator_bytes {
        parts.push(format!("NCCL init used {}", mib(init)));
    }
    parts.push(format!("buffers {}", mib(m.buffer_bytes)));
    if let Some(rss) = m.process_peak_rss_bytes {
        parts.push(format!("peak RSS {}", mib(rss)));
    }
    match (m.free_bytes, m.total_bytes) {
        (Some(free), Some(total)) => parts.push(format!("{} free of {}", mib(free), mib(total))),
        (Some(free), None) => parts.push(format!("{} free", mib(free))),
        (None, Some(total)) => parts.push(format!("{} total", mib(total))),
        (None, None) => {}
    }
    line.push(' ');
    line.push_str(&parts.join(", "));
    line.push('\n');
    line
}

/// Whole MiB, rounded to nearest (what `nvidia-smi` users read).
fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// This process's peak resident set (VmHWM in /proc/self/status), where Linux reports it.
pub fn process_peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmHWM:")
}

/// (MemAvailable, MemTotal) of this host from /proc/meminfo.
pub fn host_memory_bytes() -> (Option<u64>, Option<u64>) {
    match std::fs::read_to_string("/proc/meminfo") {
        Ok(meminfo) => (
            kib_field(&meminfo, "MemAvailable:"),
            kib_field(&meminfo, "MemTotal:"),
        ),
        Err(_) => (None, None),
    }
}

/// `NAME:   1234 kB` → 1234 × 1024.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu() -> RankMemory {
        RankMemory {
            rank: 0,
            kind: MemoryKind::Device,
            device: Some(0),
            communicator_bytes: Some(586 << 20),
            buffer_bytes: 4 << 20,
            free_bytes: Some(79962 << 20),
            total_bytes: Some(81079 << 20),
            process_peak_rss_bytes: None,
        }
    }

    #[test]
    fn device_line_keeps_the_gpu_check_wording() {
        assert_eq!(
            memory_line(&gpu()),
            "#  Memory rank  0 GPU  0: NCCL init used 586 MiB, buffers 4 MiB, 79962 MiB free of 81079 MiB\n"
        );
    }

    #[test]
    fn host_line_names_buffers_rss_and_free_memory() {
        let m = RankMemory {
            rank: 12,
            kind: MemoryKind::Host,
            device: None,
            communicator_bytes: None,
            buffer_bytes: 3 << 20,
            free_bytes: Some(100 << 20),
            total_bytes: None,
            process_peak_rss_bytes: Some(12 << 20),
        };
        assert_eq!(
            memory_line(&m),
            "#  Memory rank 12 host: buffers 3 MiB, peak RSS 12 MiB, 100 MiB free\n"
        );
    }

    #[test]
    fn proc_fields_parse_in_bytes() {
        let text = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t 10 kB\n";
        assert_eq!(kib_field(text, "VmHWM:"), Some(2 << 20));
        assert_eq!(kib_field(text, "VmPeak:"), None);
        assert!(process_peak_rss_bytes().unwrap() > 0);
        let (available, total) = host_memory_bytes();
        assert!(available.unwrap() <= total.unwrap());
    }
}
