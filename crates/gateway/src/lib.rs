//! mcp-gateway: one MCP endpoint in front of many MCP servers.
//!
//! Read it in the order a message travels:
//! - [`server`]: the fronts (Streamable HTTP `/mcp`, `/mcp/{backend}`, legacy
//!   SSE, stdio, `/health`) and the one place errors become wire errors.
//! - [`session`]: per-client state.
//! - [`router`]: method dispatch and the meta-tools.
//! - [`catalog`] and [`search`]: the merged, atomically swapped view of all
//!   tools, and ranking over it (pure); [`embed`] fetches the vectors that
//!   search by meaning ranks on.
//! - [`gateway`]: the set of backends and the catalog built from them.
//! - [`upstream`]: one actor per backend and its transports.
//! - [`config`]: gateway.yaml in, validated [`config::Config`] out;
//!   [`reload`] watches it and applies changes while running.
//!
//! The JSON-RPC envelope itself lives in the `mcp-wire` crate; [`mention`] is
//! the look for a key that saves the hot path a parse.
#![forbid(unsafe_code)]

pub mod catalog;
pub mod config;
pub mod embed;
pub mod gateway;
pub mod headers;
pub mod mention;
pub mod modern;
pub mod reload;
pub mod router;
pub mod search;
pub mod server;
pub mod session;
pub mod timers;
pub mod upstream;
