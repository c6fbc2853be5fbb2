//! The batches each measurement is made of. Both sides call the same functions in the same
//! order; what each does depends on its role.

use super::link::{Control, Link, CTL_RECV, DATA_RECV, DATA_SEND, RMA, RX, TX};
use super::verify::{verify_any_order, verify_in_place, BatchCheck, MismatchLog};
use super::{summarise, Operation, Role, RowResult, SweepPlan};
use crate::error::Result;
use crate::fabric::payload::{self, MessageId, Mismatch};
use crate::fabric::stats::BatchTiming;
use std::time::Instant;

/// Measures one (operation, size) on this side of the link.
pub(super) fn measure(
    link: &mut Link<'_>,
    plan: &SweepPlan,
    operation: Operation,
    size: usize,
    log: &mut MismatchLog,
) -> Result<RowResult> {
    let window = plan.window_for(size);
    let mut latencies_us = Vec::new();
    let mut timings = Vec::new();
    let mut check = BatchCheck::default();
    let warmup = plan.warmup_iterations.min(window);

    // Latency: one operation in flight at a time.
    let latency_batch = |link: &mut Link<'_>,
                         count,
                         samples: Option<&mut Vec<f64>>,
                         check: &mut BatchCheck,
                         log: &mut MismatchLog| match operation {
        Operation::SendRecv => ping_pong_batch(link, size, count, samples, check, log),
        Operation::Write => {
            let pace = Pace::OneAtATime(samples);
            rma_batch(link, size, count, pace, RmaKind::Write, check, log).map(|_| ())
        }
        Operation::Read => {
            let pace = Pace::OneAtATime(samples);
            rma_batch(link, size, count, pace, RmaKind::Read, check, log).map(|_| ())
        }
    };
    if warmup > 0 {
        latency_batch(link, warmup, None, &mut check, log)?;
    }
    let mut remaining = plan.latency_iterations;
    while remaining > 0 {
        let count = remaining.min(window);
        latency_batch(link, count, Some(&mut latencies_us), &mut check, log)?;
        remaining -= count;
    }

    // Bandwidth: a window in flight.
    let bandwidth_batch =
        |link: &mut Link<'_>, check: &mut BatchCheck, log: &mut MismatchLog| match operation {
            Operation::SendRecv => stream_batch(link, size, window, check, log),
            Operation::Write => {
                rma_batch(link, size, window, Pace::Window, RmaKind::Write, check, log)
            }
            Operation::Read => {
                rma_batch(link, size, window, Pace::Window, RmaKind::Read, check, log)
            }
        };
    if plan.warmup_iterations > 0 {
        bandwidth_batch(link, &mut check, log)?;
    }
    for _ in 0..plan.bandwidth_batches {
        if let Some(timing) = bandwidth_batch(link, &mut check, log)? {
            timings.push(timing);
        }
    }

    let mut row = summarise(operation, size, window, &latencies_us, &timings);
    row.verified_messages = check.verified;
    row.wrong_messages = check.wrong;
    Ok(row)
}

/// How RMA operations of a batch are issued.
enum Pace<'a> {
    /// Wait for each operation before the next; record each one's time (when given a vector).
    OneAtATime(Option<&'a mut Vec<f64>>),
    /// Post the whole window, then wait; time the batch.
    Window,
}

fn ids(size: usize, batch: u64, count: usize, sequence: impl Fn(usize) -> u64) -> Vec<MessageId> {
    (0..count)
        .map(|k| MessageId {
            size,
            iteration: batch,
            sequence: sequence(k),
        })
        .collect()
}

/// Writes the payloads of `ids` into consecutive slots of the send buffer.
fn fill_slots(link: &mut Link<'_>, ids: &[MessageId]) -> Result<()> {
    let region = link.endpoint.region_mut(TX)?;
    for (k, id) in ids.iter().enumerate() {
        payload::fill(&mut region[k * id.size..(k + 1) * id.size], *id);
    }
    Ok(())
}

/// Poisons consecutive receive slots against the payloads they should receive.
fn poison_slots(link: &mut Link<'_>, ids: &[MessageId]) -> Result<()> {
    let region = link.endpoint.region_mut(RX)?;
    for (k, id) in ids.iter().enumerate() {
        payload::poison(&mut region[k * id.size..(k + 1) * id.size], *id);
    }
    Ok(())
}

fn post_receives(link: &mut Link<'_>, size: usize, count: usize) -> Result<()> {
    link.set_expected_receive_length(DATA_RECV, size);
    for k in 0..count {
        link.post(
            &|| format!("posting receive {k} of {size} bytes"),
            |ep, _| ep.recv(RX, k * size, size, DATA_RECV),
        )?;
    }
    Ok(())
}

fn post_send(link: &mut Link<'_>, size: usize, k: usize) -> Result<()> {
    link.post(
        &|| format!("posting send {k} of {size} bytes (peer not reachable yet?)"),
        |ep, peer| ep.send(peer, TX, k * size, size, DATA_SEND),
    )
}

/// Receives that completed with a length other than posted count as wrong messages.
fn count_short_receives(
    link: &mut Link<'_>,
    check: &mut BatchCheck,
    log: &mut MismatchLog,
    operation: Operation,
    batch: u64,
) {
    for (label, expected, got) in link.short_receives.drain(..) {
        if label == CTL_RECV {
            continue; // a malformed control message fails expect_control by its content
        }
        check.wrong += 1;
        let id = MessageId {
            size: expected,
            iteration: batch,
            sequence: 0,
        };
        let mismatch = Mismatch {
            offset: got.min(expected),
            expected: 0,
            found: 0,
            wrong_bytes: expected.abs_diff(got),
        };
        log.record(
            operation,
            id,
            &mismatch,
            &format!(" (received {got} bytes instead of {expected})"),
        );
    }
}

/// Test hook: flips one byte of the first received message before verification.
fn maybe_corrupt(link: &mut Link<'_>) -> Result<()> {
    if link.corruption_pending {
        link.corruption_pending = false;
        let region = link.endpoint.region_mut(RX)?;
        region[0] ^= 0x5A;
        eprintln!("collbench fabric: --inject-corruption: flipped byte 0 of the first message of a received window");
    }
    Ok(())
}

/// `count` ping-pongs, one at a time; the initiator records half of each round trip.
fn ping_pong_batch(
    link: &mut Link<'_>,
    size: usize,
    count: usize,
    samples: Option<&mut Vec<f64>>,
    check: &mut BatchCheck,
    log: &mut MismatchLog,
) -> Result<()> {
    let batch = link.next_batch();
    // Pings carry even sequence numbers, pongs odd ones.
    let (mine, theirs) = match link.role {
        Role::Initiator => (0, 1),
        Role::Responder => (1, 0),
    };
    let my_ids = ids(size, batch, count, |k| 2 * k as u64 + mine);
    let peer_ids = ids(size, batch, count, |k| 2 * k as u64 + theirs);
    fill_slots(link, &my_ids)?;
    poison_slots(link, &peer_ids)?;
    let received = link.completed(DATA_RECV);
    let sent = link.completed(DATA_SEND);
    post_receives(link, size, count)?;
    match link.role {
        Role::Responder => {
            link.send_control(Control::Ready, batch)?;
            for k in 0..count {
                link.wait_for(DATA_RECV, received + k as u64 + 1, &|| {
                    format!("waiting for ping {k} of {size} bytes")
                })?;
                post_send(link, size, k)?;
            }
        }
        Role::Initiator => {
            link.expect_control(Control::Ready, batch)?;
            let mut samples = samples;
            for k in 0..count {
                let start = Instant::now();
                post_send(link, size, k)?;
                link.wait_for(DATA_RECV, received + k as u64 + 1, &|| {
                    format!("waiting for pong {k} of {size} bytes")
                })?;
                let round_trip = start.elapsed();
                if let Some(samples) = samples.as_deref_mut() {
                    samples.push(round_trip.as_secs_f64() * 1e6 / 2.0);
                }
            }
        }
    }
    link.wait_for(DATA_SEND, sent + count as u64, &|| {
        format!("waiting for {count} sends of {size} bytes to complete")
    })?;
    link.drain_controls()?;
    count_short_receives(link, check, log, Operation::SendRecv, batch);
    check.add(verify_in_place(
        link.endpoint.region(RX)?,
        &peer_ids,
        Operation::SendRecv,
        log,
    ));
    Ok(())
}

/// One window of sends from the initiator; timed until the responder acknowledges all of it.
fn stream_batch(
    link: &mut Link<'_>,
    size: usize,
    window: usize,
    check: &mut BatchCheck,
    log: &mut MismatchLog,
) -> Result<Option<BatchTiming>> {
    let batch = link.next_batch();
    let window_ids = ids(size, batch, window, |k| k as u64);
    match link.role {
        Role::Initiator => {
            fill_slots(link, &window_ids)?;
            let sent = link.completed(DATA_SEND);
            link.expect_control(Control::Ready, batch)?;
            let start = Instant::now();
            for k in 0..window {
                post_send(link, size, k)?;
            }
            link.expect_control(Control::Ack, batch)?;
            let seconds = start.elapsed().as_secs_f64();
            link.wait_for(DATA_SEND, sent + window as u64, &|| {
                format!("waiting for {window} sends of {size} bytes to complete")
            })?;
            link.drain_controls()?;
            Ok(Some(BatchTiming {
                bytes: (window * size) as u64,
                seconds,
            }))
        }
        Role::Responder => {
            poison_slots(link, &window_ids)?;
            let received = link.completed(DATA_RECV);
            post_receives(link, size, window)?;
            link.send_control(Control::Ready, batch)?;
            link.wait_for(DATA_RECV, received + window as u64, &|| {
                format!("waiting for a window of {window} messages of {size} bytes")
            })?;
            link.send_control(Control::Ack, batch)?;
            link.drain_controls()?;
            count_short_receives(link, check, log, Operation::SendRecv, batch);
            maybe_corrupt(link)?;
            check.add(verify_any_order(
                link.endpoint.region(RX)?,
                &window_ids,
                Operation::SendRecv,
                log,
            ));
            Ok(None)
        }
    }
}

/// `count` RMA operations by the initiator: writes from its send buffer into the responder's
/// receive buffer, or reads from the responder's send buffer into its own. The side whose receive
/// buffer the RMA fills poisons it first and verifies it once the initiator says they completed.
fn rma_batch(
    link: &mut Link<'_>,
    size: usize,
    count: usize,
    pace: Pace<'_>,
    kind: RmaKind,
    check: &mut BatchCheck,
    log: &mut MismatchLog,
) -> Result<Option<BatchTiming>> {
    let batch = link.next_batch();
    let batch_ids = ids(size, batch, count, |k| k as u64);
    let filled_here = matches!(
        (link.role, kind),
        (Role::Responder, RmaKind::Write) | (Role::Initiator, RmaKind::Read)
    );
    if filled_here {
        poison_slots(link, &batch_ids)?;
    } else {
        fill_slots(link, &batch_ids)?;
    }
    let timing = match link.role {
        Role::Initiator => {
            link.expect_control(Control::Ready, batch)?;
            let timing = issue_rma(link, size, count, pace, kind)?;
            link.send_control(Control::Done, batch)?;
            timing
        }
        Role::Responder => {
            link.send_control(Control::Ready, batch)?;
            link.expect_control(Control::Done, batch)?;
            None
        }
    };
    link.drain_controls()?;
    if filled_here {
        let operation = match kind {
            RmaKind::Write => Operation::Write,
            RmaKind::Read => Operation::Read,
        };
        check.add(verify_in_place(
            link.endpoint.region(RX)?,
            &batch_ids,
            operation,
            log,
        ));
    }
    Ok(timing)
}

#[derive(Clone, Copy)]
enum RmaKind {
    Write,
    Read,
}

/// Posts `count` RMA operations of slot k (local k*size <-> remote k*size) at the given pace.
fn issue_rma(
    link: &mut Link<'_>,
    size: usize,
    count: usize,
    pace: Pace<'_>,
    kind: RmaKind,
) -> Result<Option<BatchTiming>> {
    let done = link.completed(RMA);
    let delivery_complete = link.write_delivery_complete;
    let (peer_rx, peer_tx) = (link.peer_card.rx, link.peer_card.tx);
    let post_one = |link: &mut Link<'_>, k: usize| {
        let offset = k * size;
        link.post(
            &|| format!("posting RMA {k} of {size} bytes"),
            |ep, peer| match kind {
                RmaKind::Write => ep.write(
                    peer,
                    TX,
                    offset,
                    size,
                    peer_rx,
                    offset as u64,
                    delivery_complete,
                    RMA,
                ),
                RmaKind::Read => ep.read(peer, RX, offset, size, peer_tx, offset as u64, RMA),
            },
        )
    };
    let what = |k: u64| move || format!("waiting for RMA {k} of {size} bytes to complete");
    match pace {
        Pace::OneAtATime(mut samples) => {
            for k in 0..count {
                let start = Instant::now();
                post_one(link, k)?;
                link.wait_for(RMA, done + k as u64 + 1, &what(k as u64))?;
                if let Some(samples) = samples.as_deref_mut() {
                    samples.push(start.elapsed().as_secs_f64() * 1e6);
                }
            }
            Ok(None)
        }
        Pace::Window => {
            let start = Instant::now();
            for k in 0..count {
                post_one(link, k)?;
            }
            link.wait_for(RMA, done + count as u64, &what(count as u64 - 1))?;
            Ok(Some(BatchTiming {
                bytes: (count * size) as u64,
                seconds: start.elapsed().as_secs_f64(),
            }))
        }
    }
}
