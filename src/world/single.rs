//! A world of one process: no launcher, no communication. Every collective call is local.

use super::{AbortHandle, Reduction, World};
use crate::error::Result;
use std::sync::Arc;

/// Rank 0 of 1. Used without the `mpi` feature, and by tests.
#[derive(Clone, Debug)]
pub struct SingleProcess {
    host: String,
}

impl SingleProcess {
    pub fn new() -> Self {
        SingleProcess {
            host: super::hostname(),
        }
    }
}

impl Default for SingleProcess {
    fn default() -> Self {
        Self::new()
    }
}

impl World for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn hostname(&self) -> &str {
        &self.host
    }
    fn local_rank(&self) -> usize {
        0
    }
    fn local_size(&self) -> usize {
        1
    }
    fn barrier(&self) -> Result<()> {
        Ok(())
    }
    fn allreduce_f64(&self, values: &[f64], _op: Reduction) -> Result<Vec<f64>> {
        Ok(values.to_vec())
    }
    fn allreduce_u64_sum(&self, values: &[u64]) -> Result<Vec<u64>> {
        Ok(values.to_vec())
    }
    fn gather_bytes(&self, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        Ok(Some(vec![bytes.to_vec()]))
    }
    fn gather_bytes_watched(
        &self,
        bytes: &[u8],
        _watch: &mut dyn FnMut(&[bool]) -> Result<()>,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        // Nobody else to wait for.
        Ok(Some(vec![bytes.to_vec()]))
    }
    fn broadcast_bytes(&self, _bytes: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
    fn launcher(&self) -> String {
        "singleton".to_string()
    }
    fn abort_handle(&self) -> AbortHandle {
        Arc::new(|code| std::process::exit(code))
    }
    fn split(&self, _color: u64, _key: usize) -> Result<Box<dyn World>> {
        Ok(Box::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_process_is_rank_zero_of_one_and_collectives_are_identity() {
        let world = SingleProcess::new();
        assert_eq!((world.rank(), world.size()), (0, 1));
        assert_eq!((world.local_rank(), world.local_size()), (0, 1));
        world.barrier().unwrap();
        assert_eq!(
            world.allreduce_f64(&[1.5, -2.0], Reduction::Max).unwrap(),
            vec![1.5, -2.0]
        );
        assert_eq!(world.allreduce_u64_sum(&[7]).unwrap(), vec![7]);
        assert_eq!(
            world.gather_bytes(b"abc").unwrap(),
            Some(vec![b"abc".to_vec()])
        );
        let mut bytes = b"xyz".to_vec();
        world.broadcast_bytes(&mut bytes).unwrap();
        assert_eq!(bytes, b"xyz");
        let group = world.split(3, 0).unwrap();
        assert_eq!((group.rank(), group.size()), (0, 1));
        assert_eq!(world.launcher(), "singleton");
    }
}
