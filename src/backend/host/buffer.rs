//! Host memory for the host backend: page-aligned, like the buffers of OSU and IMB, and allocated
//! without aborting the process when memory runs out.
//!
//! Alignment matters beyond the element types' 8 bytes: a copy whose destination lies a few bytes
//! past its source modulo 4096 stalls on every load (the CPU takes the loads for reads of the
//! stores just made, "4K aliasing"); a 64 KiB memcpy on an EPYC took 22-28 µs that way instead of
//! 1.3 µs. Separately allocated buffers land at arbitrary offsets from each other; page-aligned
//! ones are always 0 apart modulo 4096.

use crate::error::{CollbenchError, Result};

/// Bytes of the alignment of every buffer's first byte.
pub const ALIGNMENT: usize = 4096;
const WORD: usize = std::mem::size_of::<u64>();

/// A zero-initialised byte buffer backed by `u64` words, starting on a page boundary.
#[derive(Default)]
pub struct HostBuffer {
    /// One page of slack before the aligned start.
    words: Vec<u64>,
    /// Index of the first word of the buffer (the first word on a page boundary).
    start: usize,
    len: usize,
}

impl HostBuffer {
    /// Allocates `len` bytes. Failure is an error naming the size and what it was for.
    pub fn new(len: usize, what: &str) -> Result<HostBuffer> {
        let error = || {
            CollbenchError::Unsupported(format!(
                "cannot allocate {len} bytes of host memory for the {what}; lower -e/--maxbytes"
            ))
        };
        let words_needed = len.div_ceil(WORD);
        let slack = if len == 0 { 0 } else { ALIGNMENT / WORD };
        let capacity = words_needed.checked_add(slack).ok_or_else(error)?;
        let mut words = Vec::new();
        words.try_reserve_exact(capacity).map_err(|_| error())?;
        words.resize(capacity, 0);
        // Fewer than ALIGNMENT / WORD words: the vector is 8-byte aligned, so a page boundary is
        // at most 4088 bytes ahead.
        let start = words.as_ptr().align_offset(ALIGNMENT).min(slack);
        Ok(HostBuffer { words, start, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words[self.start..])[..self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words[self.start..])[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_zeroed_aligned_and_exactly_sized() {
        let mut b = HostBuffer::new(13, "test").unwrap();
        assert_eq!(b.len(), 13);
        assert!(b.bytes().iter().all(|&x| x == 0));
        assert_eq!(b.bytes().as_ptr() as usize % ALIGNMENT, 0);
        for len in [1, 8, 4095, 4096, 65536, 65537] {
            let mut b = HostBuffer::new(len, "test").unwrap();
            assert_eq!(b.bytes().as_ptr() as usize % ALIGNMENT, 0, "{len} bytes");
            assert_eq!(b.bytes_mut().len(), len);
        }
        b.bytes_mut()[12] = 7;
        assert_eq!(b.bytes()[12], 7);
        assert!(HostBuffer::new(0, "empty").unwrap().is_empty());
    }

    #[test]
    fn impossible_allocations_are_errors_not_aborts() {
        let error = HostBuffer::new(usize::MAX - 7, "receive buffer")
            .err()
            .unwrap();
        assert!(error.to_string().contains("receive buffer"), "{error}");
    }
}
