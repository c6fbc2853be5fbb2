/work/main/.gpu/allreduce-perf --backend nccl -b 1M -e 1T -f 32 -n 2 -w 1 
