env COLLBENCH_TEST_CORRUPT=0:3 /work/main/.gpu/allreduce-perf --backend nccl -b 1M -e 1M -d float 
