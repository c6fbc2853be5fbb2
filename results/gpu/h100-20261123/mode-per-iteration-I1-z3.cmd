/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 1M -f 64 -n 20 -w 1 -I 1 -z 3 
