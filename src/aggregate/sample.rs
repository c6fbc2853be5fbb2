//! What one rank measured for one table cell, and its compact wire form for the gather to rank 0.

use crate::data::WrongElement;
use crate::error::{CollbenchError, Result};
use serde::{Deserialize, Serialize};

/// One rank's result for one measurement (one out-of-place or in-place cell of a row).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankSample {
    /// The rank that measured (index into the report's `ranks`).
    pub rank: usize,
    /// Host-clock seconds per operation (`Timing::seconds_per_op`).
    pub seconds_per_op: f64,
    /// Seconds per operation spent launching (`Timing::cpu_seconds_per_op`, printed with `-C`).
    #[serde(default)]
    pub cpu_seconds_per_op: f64,
    /// Wrong elements this rank found; `None` when the cell is not checked.
    pub wrong: Option<u64>,
    pub first_wrong: Option<WrongElement>,
    /// `-I`: every timed iteration, microseconds per operation, including the first `-K` ones
    /// (aggregation drops them). Empty without `-I`.
    pub per_iteration_us: Vec<f64>,
    /// Seconds per operation of each batch of `-n` iterations (`--precision` runs several; one
    /// otherwise). `seconds_per_op` is their mean.
    #[serde(default)]
    pub batch_seconds_per_op: Vec<f64>,
    /// Share (0 to 1) of the timed loop the measuring thread spent waiting for a CPU
    /// ([`crate::measure::run_queue`]); `None` where the kernel does not say.
    #[serde(default)]
    pub run_queue_share: Option<f64>,
}

/// Format tag of [`encode_samples`]; bumped when the layout changes.
const WIRE_VERSION: u8 = 4;
const HAS_WRONG: u8 = 1;
const HAS_FIRST_WRONG: u8 = 2;
const HAS_RUN_QUEUE_SHARE: u8 = 4;

/// Little-endian, length-prefixed bytes of `samples` (a few dozen bytes per sample plus 8 per
/// iteration and per batch), for `World::gather_bytes`. Serde formats would cost more than the aggregation
/// itself at 16k ranks.
pub fn encode_samples(samples: &[RankSample]) -> Vec<u8> {
    let per_iter: usize = samples
        .iter()
        .map(|s| s.per_iteration_us.len() + s.batch_seconds_per_op.len())
        .sum();
    let mut out = Vec::with_capacity(5 + samples.len() * 40 + per_iter * 8);
    out.push(WIRE_VERSION);
    put_len(&mut out, samples.len());
    for s in samples {
        out.extend_from_slice(&(s.rank as u64).to_le_bytes());
        out.extend_from_slice(&s.seconds_per_op.to_le_bytes());
        out.extend_from_slice(&s.cpu_seconds_per_op.to_le_bytes());
        let mut flags = 0;
        if s.wrong.is_some() {
            flags |= HAS_WRONG;
        }
        if s.first_wrong.is_some() {
            flags |= HAS_FIRST_WRONG;
        }
        if s.run_queue_share.is_some() {
            flags |= HAS_RUN_QUEUE_SHARE;
        }
        out.push(flags);
        if let Some(w) = s.wrong {
            out.extend_from_slice(&w.to_le_bytes());
        }
        if let Some(fw) = &s.first_wrong {
            out.extend_from_slice(&(fw.rank as u64).to_le_bytes());
            out.extend_from_slice(&(fw.index as u64).to_le_bytes());
            put_str(&mut out, &fw.expected);
            put_str(&mut out, &fw.got);
        }
        put_series(&mut out, &s.per_iteration_us);
        put_series(&mut out, &s.batch_seconds_per_op);
        if let Some(share) = s.run_queue_share {
            out.extend_from_slice(&share.to_le_bytes());
        }
    }
    out
}

fn put_series(out: &mut Vec<u8>, values: &[f64]) {
    put_len(out, values.len());
    for t in values {
        out.extend_from_slice(&t.to_le_bytes());
    }
}

/// Inverse of [`encode_samples`]. Malformed bytes (truncated, wrong version, bad UTF-8) are an
/// error naming what was wrong and where, never a panic.
pub fn decode_samples(bytes: &[u8]) -> Result<Vec<RankSample>> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u8("format version")?;
    if version != WIRE_VERSION {
        return Err(r.malformed(&format!(
            "format version {version}, expected {WIRE_VERSION} (ranks running different collbench builds?)"
        )));
    }
    let count = r.len("sample count")?;
    // Each sample takes at least 33 bytes: refuse counts the buffer cannot hold before allocating.
    if count > bytes.len() / 33 + 1 {
        return Err(r.malformed(&format!("sample count {count} for {} bytes", bytes.len())));
    }
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let rank = r.u64("rank")? as usize;
        let seconds_per_op = r.f64("seconds per op")?;
        let cpu_seconds_per_op = r.f64("launch seconds per op")?;
        let flags = r.u8("flags")?;
        if flags & !(HAS_WRONG | HAS_FIRST_WRONG | HAS_RUN_QUEUE_SHARE) != 0 {
            return Err(r.malformed(&format!("unknown flags {flags:#x}")));
        }
        let wrong = if flags & HAS_WRONG != 0 {
            Some(r.u64("wrong count")?)
        } else {
            None
        };
        let first_wrong = if flags & HAS_FIRST_WRONG != 0 {
            Some(WrongElement {
                rank: r.u64("first wrong rank")? as usize,
                index: r.u64("first wrong index")? as usize,
                expected: r.string("first wrong expected value")?,
                got: r.string("first wrong value")?,
            })
        } else {
            None
        };
        let per_iteration_us = r.series("iteration")?;
        let batch_seconds_per_op = r.series("batch")?;
        let run_queue_share = match flags & HAS_RUN_QUEUE_SHARE != 0 {
            true => Some(r.f64("run-queue share")?),
            false => None,
        };
        samples.push(RankSample {
            rank,
            seconds_per_op,
            cpu_seconds_per_op,
            wrong,
            first_wrong,
            per_iteration_us,
            batch_seconds_per_op,
            run_queue_share,
        });
    }
    if r.remaining() != 0 {
        return Err(r.malformed(&format!("{} unexpected trailing bytes", r.remaining())));
    }
    Ok(samples)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Lengths beyond u32 cannot occur (iterations and strings are small); saturate rather than wrap.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn malformed(&self, what: &str) -> CollbenchError {
        CollbenchError::Mpi(format!(
            "a rank's gathered result is malformed at byte {} of {}: {what}",
            self.pos,
            self.bytes.len()
        ))
    }

    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let end = self.pos + N;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.malformed(&format!("truncated while reading the {what}")))?;
        self.pos = end;
        let mut buf = [0u8; N];
        buf.copy_from_slice(chunk);
        Ok(buf)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take::<1>(what)?[0])
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(what)?))
    }

    fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.take(what)?))
    }

    fn len(&mut self, what: &str) -> Result<usize> {
        Ok(u32::from_le_bytes(self.take(what)?) as usize)
    }

    /// A count and that many f64 (`what`: `iteration`, `batch`).
    fn series(&mut self, what: &str) -> Result<Vec<f64>> {
        let n = self.len(&format!("{what} count"))?;
        if n > self.remaining() / 8 {
            return Err(self.malformed(&format!(
                "{n} {what} times but {} bytes left",
                self.remaining()
            )));
        }
        // The check above makes every read in bounds.
        (0..n).map(|_| self.f64("time")).collect()
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.len(what)?;
        let end = self.pos + n;
        let raw = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.malformed(&format!("truncated while reading the {what}")))?;
        let s = std::str::from_utf8(raw)
            .map_err(|_| self.malformed(&format!("the {what} is not UTF-8")))?
            .to_string();
        self.pos = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<RankSample> {
        vec![
            RankSample {
                rank: 0,
                seconds_per_op: 1.25e-5,
                cpu_seconds_per_op: 2.5e-6,
                wrong: Some(0),
                first_wrong: None,
                per_iteration_us: vec![12.0, 13.5, 11.25],
                batch_seconds_per_op: vec![1.0e-5, 1.5e-5],
                run_queue_share: Some(0.125),
            },
            RankSample {
                rank: 7,
                seconds_per_op: 3.0e-5,
                cpu_seconds_per_op: 1.0e-6,
                wrong: Some(4),
                first_wrong: Some(WrongElement {
                    rank: 7,
                    index: 1021,
                    expected: "3".into(),
                    got: "0x7e00 (nan) ✗".into(),
                }),
                per_iteration_us: vec![],
                batch_seconds_per_op: vec![3.0e-5],
                run_queue_share: None,
            },
            RankSample::default(),
        ]
    }

    #[test]
    fn round_trip() {
        let s = samples();
        assert_eq!(decode_samples(&encode_samples(&s)).unwrap(), s);
        assert_eq!(decode_samples(&encode_samples(&[])).unwrap(), vec![]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_samples(&samples());
        for cut in 0..bytes.len() {
            let err = decode_samples(&bytes[..cut]).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::MPI);
            assert!(err.to_string().contains("malformed"), "{err}");
        }
    }

    #[test]
    fn wrong_version_trailing_bytes_and_absurd_counts_are_rejected() {
        let mut bytes = encode_samples(&samples());
        bytes[0] = 9;
        let err = decode_samples(&bytes).unwrap_err().to_string();
        assert!(err.contains("format version 9, expected 4"), "{err}");

        let mut bytes = encode_samples(&samples());
        bytes.push(0);
        let err = decode_samples(&bytes).unwrap_err().to_string();
        assert!(err.contains("1 unexpected trailing bytes"), "{err}");

        let mut bytes = vec![WIRE_VERSION];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let err = decode_samples(&bytes).unwrap_err().to_string();
        assert!(err.contains("sample count 4294967295"), "{err}");
    }
}
