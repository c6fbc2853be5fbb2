/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8M -f 64 -R 1 
