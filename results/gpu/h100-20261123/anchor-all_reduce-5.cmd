/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 4G -f 2 -g 1 -n 50 -w 5 -J /work/main/.gpu/results/anchor-all_reduce-5.json 
