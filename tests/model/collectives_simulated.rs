//! Runs every collective's `launch` for all ranks against an in-memory simulation of the backend
//! primitives (collective calls, grouped send/recv, local copies), on inputs from `fill_input`, in and
//! out of place, for 1, 2, 3, 4 and 8 ranks, every dtype and op and every root; then checks every
//! rank's output with `check_output` against the collective's `checked` segments (what the backends
//! check): 0 wrong. Receive buffers start poisoned as the backends leave them, so the buffers a
//! collective must not write (`Segment::Untouched`) are checked too. A flipped element must then count
//! as exactly 1 wrong at the right index. This ties counts, in-place layout, launch, segments,
//! generator and checker together.

use crate::support::model::{combine, int_divide, premultiply, round, value};
use collbench::collectives::{Collective, Counts, LaunchArgs, Primitives, Segment, REGISTRY};
use collbench::data::{
    check_output, corrupt_bits, fill_input, format_bits, mulsum_scalar, poison_bits, GenParams,
    POISON_BYTE,
};
use collbench::error::Result;
use collbench::types::{DataType, ReduceOp};

#[derive(Clone, Debug, PartialEq)]
enum Call {
    AllReduce(usize),
    Reduce(usize, usize),
    Broadcast(usize, usize),
    AllGather(usize),
    ReduceScatter(usize),
    AllToAll(usize),
    Gather(usize, usize),
    Scatter(usize, usize),
    GroupStart,
    GroupEnd,
    /// (offset, count, peer, reads the receive buffer)
    Send(usize, usize, usize, bool),
    Recv(usize, usize, usize),
    Copy(usize, usize, usize),
}

#[derive(Default)]
struct Recorder {
    calls: Vec<Call>,
}

impl Primitives for Recorder {
    fn all_reduce(&mut self, _: &LaunchArgs, count: usize) -> Result<()> {
        self.calls.push(Call::AllReduce(count));
        Ok(())
    }
    fn reduce(&mut self, _: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        self.calls.push(Call::Reduce(count, root));
        Ok(())
    }
    fn broadcast(&mut self, _: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        self.calls.push(Call::Broadcast(count, root));
        Ok(())
    }
    fn all_gather(&mut self, _: &LaunchArgs, send_count: usize) -> Result<()> {
        self.calls.push(Call::AllGather(send_count));
        Ok(())
    }
    fn reduce_scatter(&mut self, _: &LaunchArgs, recv_count: usize) -> Result<()> {
        self.calls.push(Call::ReduceScatter(recv_count));
        Ok(())
    }
    fn all_to_all(&mut self, _: &LaunchArgs, count_per_peer: usize) -> Result<()> {
        self.calls.push(Call::AllToAll(count_per_peer));
        Ok(())
    }
    fn gather(&mut self, _: &LaunchArgs, send_count: usize, root: usize) -> Result<()> {
        self.calls.push(Call::Gather(send_count, root));
        Ok(())
    }
    fn scatter(&mut self, _: &LaunchArgs, recv_count: usize, root: usize) -> Result<()> {
        self.calls.push(Call::Scatter(recv_count, root));
        Ok(())
    }
    fn group_start(&mut self) -> Result<()> {
        self.calls.push(Call::GroupStart);
        Ok(())
    }
    fn group_end(&mut self) -> Result<()> {
        self.calls.push(Call::GroupEnd);
        Ok(())
    }
    fn send(&mut self, _: &LaunchArgs, off: usize, count: usize, peer: usize) -> Result<()> {
        self.calls.push(Call::Send(off, count, peer, false));
        Ok(())
    }
    fn recv(&mut self, _: &LaunchArgs, off: usize, count: usize, peer: usize) -> Result<()> {
        self.calls.push(Call::Recv(off, count, peer));
        Ok(())
    }
    fn send_from_recv(
        &mut self,
        _: &LaunchArgs,
        off: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        self.calls.push(Call::Send(off, count, peer, true));
        Ok(())
    }
    fn copy_send_to_recv(
        &mut self,
        _: &LaunchArgs,
        send_off: usize,
        recv_off: usize,
        count: usize,
    ) -> Result<()> {
        self.calls.push(Call::Copy(send_off, recv_off, count));
        Ok(())
    }
}

/// Buffers of all ranks. In place, a rank's send buffer is its receive buffer from `send_base`.
struct Sim {
    p: GenParams,
    elt: usize,
    recv: Vec<Vec<u8>>,
    send: Vec<Vec<u8>>,
    in_place: bool,
    send_base: Vec<usize>,
}

impl Sim {
    fn read_send(&self, rank: usize, off: usize, count: usize) -> Vec<u64> {
        (0..count)
            .map(|j| {
                let (buf, base) = if self.in_place {
                    (&self.recv[rank], self.send_base[rank])
                } else {
                    (&self.send[rank], 0)
                };
                read(buf, self.elt, base + off + j)
            })
            .collect()
    }
    fn read_recv(&self, rank: usize, off: usize, count: usize) -> Vec<u64> {
        (0..count)
            .map(|j| read(&self.recv[rank], self.elt, off + j))
            .collect()
    }
    fn write_recv(&mut self, rank: usize, off: usize, values: &[u64]) {
        for (j, v) in values.iter().enumerate() {
            write(&mut self.recv[rank], self.elt, off + j, *v);
        }
    }

    /// Element-wise reduction over ranks in rank order, in the type.
    fn reduce(&self, columns: &[Vec<u64>]) -> Vec<u64> {
        let (dtype, op, n) = (
            self.p.dtype,
            self.p.op.expect("a reduction has an op"),
            self.p.nranks,
        );
        let len = columns[0].len();
        (0..len)
            .map(|i| {
                let term = |r: usize| match op {
                    ReduceOp::MulSum => {
                        premultiply(dtype, columns[r][i], mulsum_scalar(r, n, dtype))
                    }
                    _ => columns[r][i],
                };
                let combining = match op {
                    ReduceOp::MulSum | ReduceOp::Avg => ReduceOp::Sum,
                    other => other,
                };
                let mut acc = term(0);
                for r in 1..n {
                    acc = combine(dtype, combining, acc, term(r));
                }
                if op == ReduceOp::Avg {
                    if dtype.is_float() {
                        acc = round(dtype, value(dtype, acc) / n as f64);
                    } else {
                        acc = int_divide(dtype, acc, n);
                    }
                }
                acc
            })
            .collect()
    }

    fn run_collective(&mut self, call: &Call) {
        let n = self.p.nranks;
        match *call {
            Call::AllReduce(c) => {
                let cols: Vec<_> = (0..n).map(|r| self.read_send(r, 0, c)).collect();
                let out = self.reduce(&cols);
                (0..n).for_each(|r| self.write_recv(r, 0, &out));
            }
            Call::Reduce(c, root) => {
                let cols: Vec<_> = (0..n).map(|r| self.read_send(r, 0, c)).collect();
                let out = self.reduce(&cols);
                self.write_recv(root, 0, &out);
            }
            Call::Broadcast(c, root) => {
                let data = self.read_send(root, 0, c);
                (0..n).for_each(|r| self.write_recv(r, 0, &data));
            }
            Call::AllGather(c) => {
                let blocks: Vec<_> = (0..n).map(|r| self.read_send(r, 0, c)).collect();
                for r in 0..n {
                    for (s, b) in blocks.iter().enumerate() {
                        self.write_recv(r, s * c, b);
                    }
                }
            }
            Call::ReduceScatter(c) => {
                let outs: Vec<_> = (0..n)
                    .map(|r| {
                        self.reduce(
                            &(0..n)
                                .map(|s| self.read_send(s, r * c, c))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect();
                for (r, out) in outs.iter().enumerate() {
                    let base = if self.in_place { r * c } else { 0 };
                    self.write_recv(r, base, out);
                }
            }
            Call::AllToAll(c) => {
                let blocks: Vec<Vec<Vec<u64>>> = (0..n)
                    .map(|s| (0..n).map(|d| self.read_send(s, d * c, c)).collect())
                    .collect();
                for d in 0..n {
                    for (s, b) in blocks.iter().enumerate() {
                        self.write_recv(d, s * c, &b[d]);
                    }
                }
            }
            Call::Gather(c, root) => {
                let blocks: Vec<_> = (0..n).map(|r| self.read_send(r, 0, c)).collect();
                for (s, b) in blocks.iter().enumerate() {
                    self.write_recv(root, s * c, b);
                }
            }
            Call::Scatter(c, root) => {
                let blocks: Vec<_> = (0..n).map(|r| self.read_send(root, r * c, c)).collect();
                for (r, b) in blocks.iter().enumerate() {
                    let base = if self.in_place { r * c } else { 0 };
                    self.write_recv(r, base, b);
                }
            }
            ref other => panic!("not a collective call: {other:?}"),
        }
    }

    /// One group of point-to-point calls (per rank), executed as NCCL would: all sends read first.
    fn run_group(&mut self, per_rank: &[Vec<Call>]) {
        let n = self.p.nranks;
        // messages[src][dst] = queue of payloads in issue order
        let mut messages: Vec<Vec<std::collections::VecDeque<Vec<u64>>>> =
            vec![vec![Default::default(); n]; n];
        let mut copies = Vec::new();
        for (r, calls) in per_rank.iter().enumerate() {
            for call in calls {
                match *call {
                    Call::Send(off, c, peer, from_recv) => {
                        let data = if from_recv {
                            self.read_recv(r, off, c)
                        } else {
                            self.read_send(r, off, c)
                        };
                        messages[r][peer].push_back(data);
                    }
                    Call::Copy(so, ro, c) => copies.push((r, ro, self.read_send(r, so, c))),
                    _ => {}
                }
            }
        }
        for (r, ro, data) in copies {
            self.write_recv(r, ro, &data);
        }
        for (r, calls) in per_rank.iter().enumerate() {
            for call in calls {
                if let Call::Recv(off, c, peer) = *call {
                    let data = messages[peer][r]
                        .pop_front()
                        .unwrap_or_else(|| panic!("rank {r}: no send from {peer}"));
                    assert_eq!(
                        data.len(),
                        c,
                        "rank {r} receives {c} from {peer}, who sent {}",
                        data.len()
                    );
                    self.write_recv(r, off, &data);
                }
            }
        }
        for (s, row) in messages.iter().enumerate() {
            for (d, q) in row.iter().enumerate() {
                assert!(q.is_empty(), "{} unmatched sends from {s} to {d}", q.len());
            }
        }
    }
}

fn read(buf: &[u8], elt: usize, i: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..elt].copy_from_slice(&buf[i * elt..(i + 1) * elt]);
    u64::from_le_bytes(b)
}

fn write(buf: &mut [u8], elt: usize, i: usize, v: u64) {
    buf[i * elt..(i + 1) * elt].copy_from_slice(&v.to_le_bytes()[..elt]);
}

/// Splits a rank's calls into phases: a group (start..end), or one collective call / copy.
fn phases(calls: &[Call]) -> Vec<Vec<Call>> {
    let mut out = Vec::new();
    let mut group: Option<Vec<Call>> = None;
    for c in calls {
        match c {
            Call::GroupStart => group = Some(Vec::new()),
            Call::GroupEnd => out.push(group.take().expect("group_end without group_start")),
            other => match group.as_mut() {
                Some(g) => g.push(other.clone()),
                None => out.push(vec![other.clone()]),
            },
        }
    }
    assert!(group.is_none(), "group_start without group_end");
    out
}

/// Runs one (collective, dtype, op, size, root, placement) and returns the per-rank outputs.
fn simulate(
    coll: &dyn Collective,
    p: GenParams,
    counts: Counts,
    root: usize,
    in_place: bool,
) -> Vec<Vec<u8>> {
    let n = p.nranks;
    let elt = p.dtype.size_bytes();
    let recv_elems = (0..n)
        .map(|r| {
            (counts.recv_count)
                .max(counts.send_inplace_offset * r + counts.send_count)
                .max(counts.recv_inplace_offset * r + counts.recv_count)
        })
        .max()
        .unwrap_or(0);
    let mut sim = Sim {
        p,
        elt,
        recv: vec![vec![POISON_BYTE; recv_elems * elt]; n],
        send: vec![vec![0u8; counts.send_count * elt]; n],
        in_place,
        send_base: (0..n).map(|r| counts.send_inplace_offset * r).collect(),
    };
    for r in 0..n {
        if in_place {
            let base = sim.send_base[r] * elt;
            fill_input(
                &p,
                r,
                0,
                &mut sim.recv[r][base..base + counts.send_count * elt],
            );
        } else {
            fill_input(&p, r, 0, &mut sim.send[r]);
        }
    }
    let mut per_rank_phases = Vec::new();
    for rank in 0..n {
        let mut rec = Recorder::default();
        let args = LaunchArgs {
            rank,
            nranks: n,
            root,
            dtype: p.dtype,
            op: p.op,
            counts,
        };
        coll.launch(&mut rec, &args).expect("launch");
        per_rank_phases.push(phases(&rec.calls));
    }
    let nphases = per_rank_phases[0].len();
    assert!(
        per_rank_phases.iter().all(|ph| ph.len() == nphases),
        "{}: ranks disagree on phases",
        coll.name()
    );
    for k in 0..nphases {
        let this: Vec<Vec<Call>> = per_rank_phases.iter().map(|ph| ph[k].clone()).collect();
        let is_p2p = this.iter().any(|calls| {
            calls
                .iter()
                .any(|c| matches!(c, Call::Send(..) | Call::Recv(..) | Call::Copy(..)))
                || calls.is_empty()
        });
        if is_p2p {
            sim.run_group(&this);
        } else {
            assert!(
                this.iter().all(|c| c == &this[0]),
                "{}: ranks disagree on {:?}",
                coll.name(),
                this
            );
            sim.run_collective(&this[0][0]);
        }
    }
    // Each rank's output view.
    (0..n)
        .map(|r| {
            let start = if in_place {
                counts.recv_inplace_offset * r * elt
            } else {
                0
            };
            sim.recv[r][start..start + counts.recv_count * elt].to_vec()
        })
        .collect()
}

fn ops_for(coll: &dyn Collective) -> Vec<Option<ReduceOp>> {
    use collbench::collectives::OpColumn;
    match coll.op_column() {
        OpColumn::Reduction => ReduceOp::ALL.iter().map(|o| Some(*o)).collect(),
        OpColumn::Ignored => vec![Some(ReduceOp::Sum), None],
        _ => vec![None],
    }
}

#[test]
fn every_collective_produces_its_expected_output_in_simulation() {
    let mut runs = 0;
    let mut corruptions = 0;
    let mut untouched_corruptions = 0;
    for coll in REGISTRY.iter().copied() {
        for n in [1usize, 2, 3, 4, 8] {
            if coll.rank_count_problem(n).is_some() {
                continue;
            }
            for dtype in DataType::ALL {
                for op in ops_for(coll) {
                    for bytes in [8usize, 1000, 4096 + 48] {
                        let counts = coll.counts(bytes / dtype.size_bytes(), dtype.size_bytes(), n);
                        let roots: Vec<usize> = if coll.uses_root() {
                            (0..n).collect()
                        } else {
                            vec![0]
                        };
                        for root in roots {
                            for in_place in [false, true] {
                                if in_place && !coll.in_place_checked() {
                                    continue;
                                }
                                let p = GenParams {
                                    seed: 42 + bytes as u64,
                                    nranks: n,
                                    dtype,
                                    op,
                                };
                                let outputs = simulate(coll, p, counts, root, in_place);
                                let what = format!(
                                    "{} n={n} {dtype} {op:?} {bytes} B root {root} in_place {in_place}",
                                    coll.name()
                                );
                                for (rank, output) in outputs.iter().enumerate() {
                                    let segments = coll.checked(rank, n, root, &counts, in_place);
                                    let outcome = check_output(&p, rank, &segments, output);
                                    assert_eq!(
                                        outcome.wrong, 0,
                                        "{what} rank {rank}: {:?}",
                                        outcome.first
                                    );
                                    runs += 1;
                                    // Plant one wrong element in the middle of the last segment
                                    // and of every segment that must be left untouched.
                                    let last = segments.len().saturating_sub(1);
                                    for (i, seg) in segments.iter().enumerate() {
                                        let untouched = matches!(seg, Segment::Untouched { .. });
                                        if i != last && !untouched {
                                            continue;
                                        }
                                        let index = seg.dst_offset() + seg.len() / 2;
                                        let elt = dtype.size_bytes();
                                        let mut corrupted = output.clone();
                                        let bits = read(&corrupted, elt, index);
                                        write(
                                            &mut corrupted,
                                            elt,
                                            index,
                                            corrupt_bits(dtype, bits),
                                        );
                                        let outcome = check_output(&p, rank, &segments, &corrupted);
                                        assert_eq!(
                                            outcome.wrong, 1,
                                            "{what} rank {rank}: corruption at {index}"
                                        );
                                        let first = outcome.first.expect("first wrong element");
                                        assert_eq!(
                                            (first.rank, first.index),
                                            (rank, index),
                                            "{what}"
                                        );
                                        assert_ne!(first.expected, first.got, "{what}");
                                        if untouched {
                                            assert_eq!(
                                                first.expected,
                                                format_bits(dtype, poison_bits(dtype)),
                                                "{what}: an untouched element expects the poison"
                                            );
                                            untouched_corruptions += 1;
                                        }
                                        corruptions += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    println!(
        "{runs} rank outputs checked, {corruptions} corruptions detected \
         ({untouched_corruptions} in buffers that must be left untouched)"
    );
    assert!(runs > 10_000 && corruptions > 5_000 && untouched_corruptions > 1_000);
}
