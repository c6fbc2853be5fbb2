//! collbench: a collective-communication benchmark suite (nccl-tests compatible).
//!
//! Data flows one way — command line → validated plan → world → backend → timed loop → sweep →
//! aggregation → sinks → verdict → exit code — and the modules are layered the same way: a module
//! imports only from the layers below it (the `module-cycles` suite of `make test` checks that
//! the library's import graph has no cycle). From the bottom:
//!
//! ```text
//!  commands   app (dispatch, signals, world start)   accept  compare  plot  fabric
//!     │
//!  parsing    cli (clap from the flag table; flags → plan; NCCL_TESTS_* read once)
//!     │
//!  lifecycle  lifecycle (agree, faults, groups, backend, memory cap, sinks, sweep, exit code)
//!     │
//!  driving    sweep (runner, memory cap)        faults (test hooks as decorators, built at the edge)
//!     │
//!  judging    verdict (criteria → checks)
//!  writing    sinks (text, JSON, CSV, Markdown, JSON Lines, Prometheus, …)      io (console, atomic
//!  combining  aggregate (samples across ranks → rows)                          files, path checks)
//!     │
//!  running    backend (host MPI, NCCL GPU: buffers, launches, checks)
//!  timing     measure (timed loop, -T watchdog)
//!     │
//!  results    report (the result model: rows, verdict, network)
//!  ranks      world (processes, hosts, MPI or one process)
//!  plan       plan (the flag table; the validated plan: sweep, gpu, timing, outputs, acceptance)
//!     │
//!  model      collectives, data (expected values, checks)
//!  base       types (element types, operators, value parsers), error, dynlib
//! ```
//!
//! One arrow points sideways rather than down: `plot` reads result files through `compare`'s
//! loader (both read every format collbench and nccl-tests write). `docs/architecture.md` walks
//! through adding a collective, a flag, an output format and a fault hook.

pub mod accept;
pub mod aggregate;
pub mod app;
pub mod backend;
pub mod cli;
pub mod collectives;
pub mod compare;
pub mod data;
pub mod dynlib;
pub mod error;
pub mod fabric;
pub mod faults;
pub mod io;
pub mod lifecycle;
pub mod measure;
pub mod plan;
pub mod plot;
pub mod report;
pub mod sinks;
pub mod sweep;
pub mod types;
pub mod verdict;
pub mod world;

pub use error::{CollbenchError, Result};
