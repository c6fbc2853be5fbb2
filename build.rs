//! Build script. With feature `mpi` it compiles `src/backend/host/mpi_shim.c`, which exports the
//! MPI constants that are C macros (MPI_IN_PLACE) and so cannot be reached through the `mpi` crate.
//! Without the feature it does nothing.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "mpi")]
    build_mpi_shim();
}

#[cfg(feature = "mpi")]
fn build_mpi_shim() {
    const SHIM: &str = "src/backend/host/mpi_shim.c";
    println!("cargo:rerun-if-changed={SHIM}");
    let library = match build_probe_mpi::probe() {
        Ok(library) => library,
        Err(errors) => {
            for error in errors {
                println!("cargo:warning=MPI probe: {error}");
            }
            panic!("feature `mpi` needs an MPI installation with mpicc or pkg-config (Debian: libopenmpi-dev)");
        }
    };
    let mut build = cc::Build::new();
    build.file(SHIM);
    if let Some(mpicc) = library.mpicc {
        build.compiler(mpicc);
    } else {
        for include in &library.include_paths {
            build.include(include);
        }
    }
    build.compile("collbench_mpi_shim");
}
