/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8M -f 8 -g 1 -n 20 -w 1 -G 10 
