//! `text/event-stream`: an incremental decoder and an encoder.
//!
//! The decoder is fed arbitrary byte chunks (as they come off a socket) and
//! yields complete events. Its buffer is bounded: an event larger than the
//! limit is an error, never unbounded memory.

/// One server-sent event. `data` lines are joined with `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    pub retry_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("server-sent event larger than {limit} bytes")]
pub struct TooLarge {
    pub limit: usize,
}

/// Incremental SSE decoder.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    limit: usize,
    current: Event,
    has_fields: bool,
    /// `data:` lines seen in the current event (an empty first line still counts).
    data_lines: usize,
}

impl Decoder {
    pub fn new(limit: usize) -> Self {
        Decoder {
            buf: Vec::new(),
            limit,
            current: Event::default(),
            has_fields: false,
            data_lines: 0,
        }
    }

    /// Feed a chunk; complete events are appended to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), TooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(pos) = self.buf[start..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
        {
            let end = start + pos;
            // "\r\n" is one line ending; a lone '\r' at the end of the buffer
            // may be half of one, so wait for more bytes.
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(end + 1) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => break,
                }
            }
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.line(&line, out);
            start = next;
        }
        self.buf.drain(..start);
        if self.buf.len() + self.current.data.len() > self.limit {
            self.buf.clear();
            self.current = Event::default();
            self.data_lines = 0;
            return Err(TooLarge { limit: self.limit });
        }
        Ok(())
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            if self.has_fields {
                out.push(std::mem::take(&mut self.current));
                self.has_fields = false;
                self.data_lines = 0;
            }
            return;
        }
        if line.starts_with(':') {
            return; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        self.has_fields = true;
        match field {
            "event" => self.current.event = Some(value.to_owned()),
            "data" => {
                if self.data_lines > 0 {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.data_lines += 1;
            }
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "retry" => self.current.retry_ms = value.parse().ok(),
            _ => {}
        }
    }
}

/// Encode one event. Data is split into one `data:` line per line (`\r\n`,
/// `\r` and `\n` all end a line in SSE); empty data still gets its `data:`
/// line, so a priming event (an id, no payload) reaches the client.
pub fn encode(ev: &Event, out: &mut Vec<u8>) {
    if let Some(e) = &ev.event {
        field(out, "event", e);
    }
    if let Some(id) = &ev.id {
        field(out, "id", id);
    }
    if let Some(ms) = ev.retry_ms {
        field(out, "retry", &ms.to_string());
    }
    let mut rest = ev.data.as_str();
    loop {
        match rest.find(['\r', '\n']) {
            Some(i) => {
                field(out, "data", &rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                field(out, "data", rest);
                break;
            }
        }
    }
    out.push(b'\n');
}

fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_chunks(chunks: &[&str]) -> Vec<Event> {
        let mut d = Decoder::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c.as_bytes(), &mut out).unwrap();
        }
        out
    }

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let evs = decode_chunks(&[
            "event: message\r\nid: 4\r",
            "\ndata: {\"a\":",
            "1}\n\n: keep-alive\n\ndata: x\rdata: y\r\r\n",
        ]);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].event.as_deref(), Some("message"));
        assert_eq!(evs[0].id.as_deref(), Some("4"));
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[1].data, "x\ny");
    }

    #[test]
    fn priming_event_with_id_and_empty_data_and_retry() {
        let evs = decode_chunks(&["id: s1-0\nretry: 1500\ndata:\n\n"]);
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].id.as_deref(), Some("s1-0"));
        assert_eq!(evs[0].retry_ms, Some(1500));
        assert_eq!(evs[0].data, "");
    }

    #[test]
    fn oversize_event_is_an_error() {
        let mut d = Decoder::new(16);
        let mut out = Vec::new();
        assert_eq!(
            d.feed(b"data: 0123456789012345678901234567890", &mut out),
            Err(TooLarge { limit: 16 })
        );
    }

    #[test]
    fn encode_then_decode() {
        let ev = |id: &str, data: &str, retry_ms| Event {
            event: Some("message".into()),
            id: Some(id.into()),
            data: data.into(),
            retry_ms,
        };
        let mut out = Vec::new();
        encode(&ev("7", "line1\r\nline2\rline3", None), &mut out);
        encode(&ev("8", "", Some(1500)), &mut out);
        let evs = decode_chunks(&[std::str::from_utf8(&out).unwrap()]);
        assert_eq!(evs[0].data, "line1\nline2\nline3");
        assert_eq!(evs[0].id.as_deref(), Some("7"));
        assert_eq!(evs[1], ev("8", "", Some(1500)), "a priming event survives");
    }
}
