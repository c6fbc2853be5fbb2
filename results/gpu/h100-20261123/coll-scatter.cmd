/work/main/.gpu/collbench run scatter --backend nccl -b 8 -e 1M -f 32 -d all -o all -n 3 -w 1 -J /work/main/.gpu/results/coll-scatter.json 
