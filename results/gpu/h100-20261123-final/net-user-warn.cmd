env NCCL_DEBUG=WARN /work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8 --require-net socket 
