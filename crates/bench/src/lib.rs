//! The mcp-gateway benchmark suite: `mcp-bench`, a closed-loop MCP load
//! generator over Streamable HTTP, and `mcp-echo`, the fast echo backend the
//! gateway is compared with. `scripts/bench.sh` drives both; BENCHMARKS.md
//! explains the numbers.
#![forbid(unsafe_code)]

pub mod callgrind;
pub mod cli;
pub mod client;
pub mod echo;
pub mod histogram;
pub mod load;
pub mod procinfo;
pub mod record;
pub mod report;
pub mod sse;
pub mod startup;
