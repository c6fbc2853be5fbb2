env NCCL_DEBUG=INFO NCCL_DEBUG_FILE=/work/main/.gpu/results/nccl-user.%h.%p.log /work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8 --require-net socket 
