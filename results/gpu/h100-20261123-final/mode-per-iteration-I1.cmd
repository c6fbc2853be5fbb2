/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8M -f 8 -n 20 -w 1 -I 1 
