env COLLBENCH_NCCL_DISABLE=ncclAlltoAll\,ncclGather\,ncclScatter /work/main/.gpu/collbench run gather --backend nccl -b 8 -e 1M -f 32 -d all -n 3 -w 1 
