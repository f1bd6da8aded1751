//! `mcp-echo`: the fastest honest MCP server we could write, as the baseline
//! the gateway is compared with. It parses each message once (borrowing, no
//! tree), answers `echo {message}` by splicing the raw JSON string into a
//! prebuilt result, and can expose thousands of synthetic tools (paginated)
//! for the search benchmark. Transports: [`stdio`] and Streamable [`http`].

pub mod http;
pub mod protocol;
pub mod stdio;
pub mod tools;
