//! stdio transport: newline-delimited JSON-RPC, answered in order on one
//! thread with no async runtime. Output is flushed only when no more input is
//! already buffered, so pipelined requests share one write. Exits at stdin EOF.

use std::io::{BufRead, BufReader, BufWriter, Write};

use super::protocol::Echo;

pub fn run(echo: &Echo) -> std::io::Result<()> {
    let mut input = BufReader::with_capacity(256 * 1024, std::io::stdin().lock());
    let mut output = BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
    let mut line = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            output.flush()?;
            return Ok(());
        }
        let text = line.trim_ascii();
        if !text.is_empty() {
            if let Some(reply) = echo.handle(text) {
                output.write_all(reply.text.as_bytes())?;
                output.write_all(b"\n")?;
            }
        }
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
}
