//! Which network NCCL actually used, read from its INFO log (`NCCL_DEBUG=INFO`, ideally written to
//! a private `NCCL_DEBUG_FILE`).
//!
//! NCCL names the chosen network once per communicator ("Using network Socket", "Using network
//! IB", "Using network AWS Libfabric" for older aws-ofi-nccl, "Using network Libfabric" for newer
//! ones); the aws-ofi-nccl plugin adds "NET/OFI Selected Provider is efa (found 32 nics)"; and
//! the channel setup lines end in "via NET/<name>/<dev>". A run that silently fell back from EFA
//! to sockets shows up here, not in the bandwidth column. Pure functions, no NCCL needed; always
//! built (the NCCL run uses it; `crate::fabric::nccl_net` re-exports it). `net_capture` makes NCCL
//! write the log this reads.

use crate::report::network::{NetKind, NetSelection};

/// The message part of an NCCL INFO line ("host:pid:tid [dev] NCCL INFO <message>"), with or
/// without a timestamp or an mpirun "[1,0]<stdout>:" prefix.
fn info_message(line: &str) -> Option<&str> {
    const MARK: &str = "NCCL INFO ";
    line.find(MARK).map(|at| line[at + MARK.len()..].trim())
}

fn push_distinct(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// "Selected Provider is efa (found 32 nics)" / older "Selected provider is efa, fabric is efa
/// (found 4 nics)" → (provider, nics).
fn parse_selected_provider(message: &str) -> Option<(String, Option<u32>)> {
    let lower = message.to_ascii_lowercase();
    let key = "selected provider is ";
    let at = lower.find(key)? + key.len();
    let rest = &message[at..];
    let provider: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '(')
        .collect();
    if provider.is_empty() {
        return None;
    }
    let nics = lower.find("(found ").and_then(|start| {
        lower[start + 7..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
    });
    Some((provider, nics))
}

/// "… via NET/AWS Libfabric/0/GDRDMA" → "AWS Libfabric".
fn parse_channel_network(message: &str) -> Option<&str> {
    let at = message.find("via NET/")? + "via NET/".len();
    let rest = &message[at..];
    let name = rest.split('/').next()?.trim();
    (!name.is_empty()).then_some(name)
}

/// Reads one process's NCCL INFO log; `None` when it names no network at all (NCCL_DEBUG was not
/// INFO, the file is someone else's, or NCCL never needed a network: single node, no net).
pub fn selected_network(log_text: &str) -> Option<NetSelection> {
    let mut networks_seen = Vec::new();
    let mut channel_networks = Vec::new();
    let mut ofi: Option<(String, Option<u32>)> = None;
    for message in log_text.lines().filter_map(info_message) {
        if let Some(name) = message.strip_prefix("Using network ") {
            let name = name.trim();
            if !name.is_empty() {
                push_distinct(&mut networks_seen, name);
            }
        } else if message.starts_with("NET/OFI") {
            if let Some(selected) = parse_selected_provider(message) {
                ofi.get_or_insert(selected);
            }
        } else if let Some(name) = parse_channel_network(message) {
            push_distinct(&mut channel_networks, name);
        }
    }
    let network = networks_seen
        .first()
        .or_else(|| channel_networks.first())?
        .clone();
    let kind = NetKind::of(&network);
    // The OFI plugin may have initialised (and logged a provider) even when NCCL then chose
    // another network; only report the provider when libfabric is the selected network.
    let (ofi_provider, ofi_nic_count) = match (&kind, ofi) {
        (NetKind::Libfabric, Some((provider, nics))) => (Some(provider), nics),
        _ => (None, None),
    };
    Some(NetSelection {
        network,
        kind,
        ofi_provider,
        ofi_nic_count,
        networks_seen,
        channel_networks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EFA_LOG: &str = "\
ip-10-1-2-3:12345:12345 [0] NCCL INFO Bootstrap : Using eth0:10.1.2.3<0>
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/Plugin: Loaded net plugin Libfabric (v9)
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.16.3
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/OFI Using Libfabric version 2.1
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/OFI Selected Provider is efa (found 32 nics)
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/OFI Support for global registrations: true
ip-10-1-2-3:12345:12345 [0] NCCL INFO Using network Libfabric
ip-10-1-2-3:12345:12399 [0] NCCL INFO Channel 00/0 : 8[0] -> 0[0] [receive] via NET/Libfabric/0/GDRDMA
ip-10-1-2-3:12345:12399 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/Libfabric/0/GDRDMA
";

    const SOCKET_FALLBACK_LOG: &str = "\
node1:900:900 [0] NCCL INFO NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin.
node1:900:900 [0] NCCL INFO Failed to open libibverbs.so[.1]
node1:900:900 [0] NCCL INFO NET/Socket : Using [0]eth0:10.0.0.1<0>
node1:900:900 [0] NCCL INFO Using network Socket
node1:900:910 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0
";

    #[test]
    fn efa_through_the_ofi_plugin_is_recognised() {
        let net = selected_network(EFA_LOG).expect("network found");
        assert_eq!(net.network, "Libfabric");
        assert_eq!(net.kind, NetKind::Libfabric);
        assert_eq!(net.ofi_provider.as_deref(), Some("efa"));
        assert_eq!(net.ofi_nic_count, Some(32));
        assert_eq!(net.channel_networks, vec!["Libfabric".to_string()]);
        assert!(net.satisfies("efa"));
        assert!(net.satisfies("OFI"));
        assert!(!net.satisfies("socket"));
        assert_eq!(net.describe(), "Libfabric (provider efa, 32 NICs)");
    }

    #[test]
    fn older_plugin_name_and_provider_line_are_recognised() {
        let log = "\
[1,7]<stdout>:ip-172-32-38-1:21471:21471 [7] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 4 nics)
[1,7]<stdout>:ip-172-32-38-1:21471:21471 [7] NCCL INFO Using network AWS Libfabric
[1,7]<stdout>:ip-172-32-38-1:21471:22316 [7] NCCL INFO Ring 00 : 7 -> 8 [send] via NET/AWS Libfabric/0
";
        let net = selected_network(log).expect("network found");
        assert_eq!(net.network, "AWS Libfabric");
        assert_eq!(net.kind, NetKind::Libfabric);
        assert_eq!(net.ofi_provider.as_deref(), Some("efa"));
        assert_eq!(net.ofi_nic_count, Some(4));
        assert!(net.satisfies("efa"));
        assert!(net.satisfies("aws libfabric"));
    }

    #[test]
    fn a_fallback_to_sockets_fails_an_efa_requirement() {
        let net = selected_network(SOCKET_FALLBACK_LOG).expect("network found");
        assert_eq!(net.network, "Socket");
        assert_eq!(net.kind, NetKind::Socket);
        assert_eq!(net.ofi_provider, None);
        assert!(net.satisfies("socket"));
        assert!(!net.satisfies("efa"));
        assert!(!net.satisfies("ib"));
    }

    #[test]
    fn ofi_plugin_over_tcp_is_not_efa() {
        let log = "\
h:1:1 [0] NCCL INFO NET/OFI Selected Provider is tcp (found 1 nics)
h:1:1 [0] NCCL INFO Using network Libfabric
";
        let net = selected_network(log).unwrap();
        assert!(net.satisfies("libfabric"));
        assert!(!net.satisfies("efa"));
    }

    #[test]
    fn ib_is_recognised_and_timestamps_are_tolerated() {
        let log = "\
[2025-11-20 10:00:01] gpu7:4242:4242 [3] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_1:1/IB ; OOB ib0:192.168.1.7<0>
[2025-11-20 10:00:01] gpu7:4242:4242 [3] NCCL INFO Using network IB
[2025-11-20 10:00:02] gpu7:4242:4300 [3] NCCL INFO Channel 01/0 : 3[3] -> 11[3] [send] via NET/IB/1/GDRDMA
";
        let net = selected_network(log).unwrap();
        assert_eq!(net.kind, NetKind::Ib);
        assert!(net.satisfies("IB"));
        assert!(net.satisfies("infiniband"));
        assert!(!net.satisfies("socket"));
    }

    #[test]
    fn provider_logged_before_a_fallback_is_not_reported() {
        // The plugin initialised with efa but NCCL ended on sockets: the provider line must not
        // make the run look like EFA.
        let log = "\
h:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 32 nics)
h:1:1 [0] NCCL INFO Using network Socket
";
        let net = selected_network(log).unwrap();
        assert_eq!(net.kind, NetKind::Socket);
        assert_eq!(net.ofi_provider, None);
        assert!(!net.satisfies("efa"));
    }

    #[test]
    fn the_hpcx_and_google_rdma_plugins_count_as_ib() {
        // As printed with NVIDIA's nccl-rdma-sharp plugin (HPC-X, NGC PyTorch containers).
        let log = "\
gpu40:2899:2929 [0] NCCL INFO Plugin Path : /opt/hpcx/nccl_rdma_sharp_plugin/lib/libnccl-net.so
gpu40:2899:2929 [0] NCCL INFO P2P plugin IBext_v8
gpu40:2899:2929 [0] NCCL INFO NET/IB : Using [0]mlx5_2:1/IB/SHARP [1]mlx5_0:1/IB/SHARP [RO]; OOB ib0:10.159.0.40<0>
gpu40:2899:2929 [0] NCCL INFO Using network IBext_v8
gpu40:2899:2950 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via NET/IBext_v8/0/GDRDMA
";
        let net = selected_network(log).unwrap();
        assert_eq!(net.network, "IBext_v8");
        assert_eq!(net.kind, NetKind::Ib);
        assert!(net.satisfies("ib"));
        assert!(net.satisfies("roce"));
        assert!(net.satisfies("IBext_v8"));
        assert!(!net.satisfies("socket"));
        let older = selected_network("h:1:1 [0] NCCL INFO Using network IBext\n").unwrap();
        assert_eq!(older.kind, NetKind::Ib);
        let google = selected_network("h:1:1 [0] NCCL INFO Using network gIB\n").unwrap();
        assert_eq!(google.kind, NetKind::Ib);
        assert!(google.satisfies("roce") && google.satisfies("gIB"));
        // Only those plugins: another name that merely starts with "ib" stays its own network.
        let other = selected_network("h:1:1 [0] NCCL INFO Using network IBverbsX\n").unwrap();
        assert_eq!(other.kind, NetKind::Other("IBverbsX".into()));
    }

    #[test]
    fn a_channel_over_sockets_breaks_an_ib_requirement() {
        let log = "\
h:1:1 [0] NCCL INFO Using network IB
h:1:2 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[0] [send] via NET/Socket/0
";
        let net = selected_network(log).unwrap();
        assert_eq!(net.channel_networks, vec!["Socket".to_string()]);
        assert!(!net.satisfies("ib"));
    }

    #[test]
    fn logs_without_a_network_give_none() {
        assert_eq!(selected_network(""), None);
        let single_node = "\
h:1:1 [0] NCCL INFO Bootstrap : Using lo:127.0.0.1<0>
h:1:1 [0] NCCL INFO Channel 00/32 :    0   1
h:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM
";
        assert_eq!(selected_network(single_node), None);
    }

    #[test]
    fn unknown_plugins_are_matched_by_name() {
        let net = selected_network("h:1:1 [0] NCCL INFO Using network UCX\n").unwrap();
        assert_eq!(net.kind, NetKind::Other("UCX".into()));
        assert!(net.satisfies("ucx"));
        assert!(!net.satisfies("ib"));
    }
}
