env COLLBENCH_NCCL_LIBRARY=/nonexistent/libnccl.so.2 /work/main/.gpu/allreduce-perf --backend nccl -b 8 -e 8 
