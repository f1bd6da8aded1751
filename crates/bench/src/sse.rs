//! Just enough of a `text/event-stream` decoder for the load generator: it
//! turns chunks into the `data` of each complete event (multi-line data
//! joined with `\n`), accepting LF, CRLF and CR line ends. Event names, ids
//! and retry fields are ignored.

#[derive(Default)]
pub struct Decoder {
    /// Bytes of a line not yet terminated.
    line: Vec<u8>,
    /// Data lines of the event being read.
    data: Vec<u8>,
    has_data: bool,
    /// The previous chunk ended in CR: a following LF belongs to it.
    after_cr: bool,
}

impl Decoder {
    /// Bytes held for an incomplete event.
    pub fn buffered(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// Feeds one chunk; returns the data of every event it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if self.after_cr && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        self.after_cr = false;
        while let Some(i) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&rest[..i]);
            let cr = rest[i] == b'\r';
            rest = &rest[i + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            self.end_line(&mut out);
        }
        self.line.extend_from_slice(rest);
        out
    }

    fn end_line(&mut self, out: &mut Vec<Vec<u8>>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                out.push(std::mem::take(&mut self.data));
                self.has_data = false;
            }
            return;
        }
        if let Some(value) = line.strip_prefix(b"data") {
            let value = match value {
                [b':', b' ', v @ ..] | [b':', v @ ..] => v,
                [] => &[][..],
                _ => return, // a field named e.g. "database"
            };
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
        self.line = line;
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut d = Decoder::default();
        chunks
            .iter()
            .flat_map(|c| d.feed(c))
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn events_across_chunks_and_line_ends() {
        assert_eq!(
            all(&[
                b"event: message\ndata: {\"a\"",
                b":1}\n\n: comment\n\ndata:x\r\ndata: y\r\n\r\n"
            ]),
            ["{\"a\":1}", "x\ny"]
        );
        assert_eq!(all(&[b"data: 1\r", b"\n\r", b"\n"]), ["1"]);
        assert_eq!(all(&[b"id: 4\nretry: 10\n\n", b"data\n\n"]), [""]);
        assert_eq!(all(&[b"database: 1\n\n"]), Vec::<String>::new());
    }
}
