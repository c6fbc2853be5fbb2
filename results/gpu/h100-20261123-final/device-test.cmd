env COLLBENCH_REQUIRE_GPU=1 COLLBENCH_ANCHORS=/work/main/.gpu/anchors /work/main/.gpu/gpu_device --nocapture --test-threads 1 
