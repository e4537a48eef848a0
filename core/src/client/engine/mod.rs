//! The sans-IO engine: protocol logic that the drivers (the blocking [`Producer`], the std
//! pipelined producer) share. It is handed answers and times (u64 ms) and hands back what to
//! send and what became of it; it never reads, writes, sleeps or reads a clock.
//!
//! [`Producer`]: super::Producer

pub mod produce;
