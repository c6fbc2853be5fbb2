env TMPDIR=/work/main/.gpu/results/net-tmp /work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8 --require-net efa 
