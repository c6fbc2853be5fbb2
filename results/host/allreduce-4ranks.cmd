# 2026-11-22T17:57:41Z, commit 9884d76, 2 cores shared with other builds (load 2.88 3.85 4.60); built with: cargo build --release --features mpi
mpirun --allow-run-as-root --oversubscribe -np 4 target/release/allreduce-perf -b 8 -e 16M -f 2 -J results/host/allreduce-4ranks.json > results/host/allreduce-4ranks.txt
