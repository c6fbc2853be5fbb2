env COLLBENCH_TEST_STREAM_HANG=0 /work/main/.gpu/allreduce-perf --backend nccl -b 1M -e 1M -T 3 
