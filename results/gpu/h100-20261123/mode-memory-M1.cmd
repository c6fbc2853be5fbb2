/work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 1M -f 64 -M 1 -J /work/main/.gpu/results/mode-memory-M1.json 
