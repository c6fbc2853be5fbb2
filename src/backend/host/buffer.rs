//! Host memory for the host backend: 8-byte aligned (so every element type is naturally aligned),
//! allocated without aborting the process when memory runs out.

use crate::error::{CollbenchError, Result};

/// A zero-initialised byte buffer backed by `u64` words.
#[derive(Default)]
pub struct HostBuffer {
    words: Vec<u64>,
    len: usize,
}

impl HostBuffer {
    /// Allocates `len` bytes. Failure is an error naming the size and what it was for.
    pub fn new(len: usize, what: &str) -> Result<HostBuffer> {
        let words_needed = len.div_ceil(8);
        let mut words = Vec::new();
        words.try_reserve_exact(words_needed).map_err(|_| {
            CollbenchError::Unsupported(format!(
                "cannot allocate {len} bytes of host memory for the {what}; lower -e/--maxbytes"
            ))
        })?;
        words.resize(words_needed, 0);
        Ok(HostBuffer { words, len })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.words)[..self.len]
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
        assert_eq!(b.bytes().as_ptr() as usize % 8, 0);
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
