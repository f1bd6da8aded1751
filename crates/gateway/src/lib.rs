//! mcp-gateway: one MCP endpoint in front of many MCP servers.
#![forbid(unsafe_code)]

pub mod config;
