env COLLBENCH_NCCL_LIBRARY=/lib/x86_64-linux-gnu/libnccl.so.2 /work/main/.gpu/nccl-reference -b 8 -e 4G -f 2 -n 50 -w 5 
