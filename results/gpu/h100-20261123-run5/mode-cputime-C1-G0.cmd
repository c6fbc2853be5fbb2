/work/main/.gpu/allreduce-perf --backend nccl -b 64M -e 64M -n 20 -w 2 -C 1 -G 0 
