/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 1M -f 64 -m 8 
