//! The sweep runner (see below).
