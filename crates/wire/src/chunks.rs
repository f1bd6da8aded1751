//! A message written as the parts it is made of ([`Chunks`]), for a
//! vectored write: the envelope and small values in buffers of its own, a
//! large value (a tool's result, a call's arguments) as bytes shared with
//! the message it was read from, not copied.
//!
//! Both sides of the gateway write this way: hyper queues each part of a
//! body as its own buffer and sends them with one `writev`, and a stdio
//! backend's line goes to its stdin the same way.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

use crate::Json;

/// Values from this size on are shared, not copied: below it a part of its
/// own costs more (a reference count, an I/O vector entry) than the copy.
pub(crate) const SHARE_FROM: usize = 1024;

/// Where a message is written: one buffer (`Vec<u8>`), or [`Chunks`].
pub(crate) trait Sink {
    /// The buffer small parts are written into.
    fn buf(&mut self) -> &mut Vec<u8>;

    /// A value written as it is; `owner` is the [`Json`] whose text it
    /// lies in, when known.
    fn value(&mut self, text: &str, owner: Option<&Json>) {
        let _ = owner;
        self.buf().extend_from_slice(text.as_bytes());
    }
}

impl Sink for Vec<u8> {
    fn buf(&mut self) -> &mut Vec<u8> {
        self
    }
}

/// A message as parts to write one after the other: a [`Buf`] whose
/// chunks are the parts, so a vectored write takes them all at once.
///
/// Most messages are one part (nothing in them is large enough to share),
/// which is kept without allocating a queue.
#[derive(Debug, Default, Clone)]
pub struct Chunks {
    /// The first part left (empty: none).
    first: Bytes,
    /// The parts after it.
    rest: VecDeque<Bytes>,
    /// Bytes left to write, over all the parts.
    len: usize,
}

impl Chunks {
    /// Bytes left to write.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next part, taken out (none is empty).
    pub fn pop_front(&mut self) -> Option<Bytes> {
        let part = match self.first.is_empty() {
            false => std::mem::take(&mut self.first),
            true => self.rest.pop_front()?,
        };
        self.len -= part.len();
        Some(part)
    }

    /// `other`'s parts after these.
    pub fn append(&mut self, mut other: Chunks) {
        while let Some(part) = other.pop_front() {
            self.push(part);
        }
    }

    /// All of it in one buffer (a copy: for the paths that need one).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for part in self.parts() {
            out.extend_from_slice(part);
        }
        out
    }

    fn parts(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.first)
            .filter(|p| !p.is_empty())
            .chain(&self.rest)
    }

    fn push(&mut self, part: Bytes) {
        if part.is_empty() {
            return;
        }
        self.len += part.len();
        if self.first.is_empty() && self.rest.is_empty() {
            self.first = part;
        } else {
            self.rest.push_back(part);
        }
    }
}

impl From<Bytes> for Chunks {
    fn from(bytes: Bytes) -> Chunks {
        let mut out = Chunks::default();
        out.push(bytes);
        out
    }
}

impl Buf for Chunks {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        self.parts().next().map_or(&[], |p| p)
    }

    fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advanced past the end");
        while n > 0 {
            let front = match self.first.is_empty() {
                false => &mut self.first,
                true => self.rest.front_mut().expect("within the length"),
            };
            if n < front.len() {
                front.advance(n);
                self.len -= n;
                return;
            }
            n -= front.len();
            self.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, part) in dst.iter_mut().zip(self.parts()) {
            *slot = IoSlice::new(part);
            n += 1;
        }
        n
    }
}

/// Writes a message into [`Chunks`]: small parts into a buffer that
/// becomes a part when a shared value comes or the message ends.
pub(crate) struct ChunkWriter {
    done: Chunks,
    pending: Vec<u8>,
}

impl ChunkWriter {
    pub(crate) fn with_capacity(small: usize) -> ChunkWriter {
        ChunkWriter {
            done: Chunks::default(),
            pending: Vec::with_capacity(small),
        }
    }

    pub(crate) fn finish(mut self) -> Chunks {
        self.done.push(Bytes::from(self.pending));
        self.done
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let rest = Vec::with_capacity(64);
            self.done
                .push(Bytes::from(std::mem::replace(&mut self.pending, rest)));
        }
    }
}

impl Sink for ChunkWriter {
    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.pending
    }

    fn value(&mut self, text: &str, owner: Option<&Json>) {
        let shared = owner
            .filter(|_| text.len() >= SHARE_FROM)
            .and_then(|o| o.share(text));
        match shared {
            Some(bytes) => {
                self.flush();
                self.done.push(bytes);
            }
            None => self.pending.extend_from_slice(text.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_read_as_one_buffer_across_their_parts() {
        let mut chunks = Chunks::from(Bytes::from_static(b"abc"));
        chunks.append(Chunks::from(Bytes::new()));
        chunks.append(Chunks::from(Bytes::from_static(b"defg")));
        assert_eq!((chunks.remaining(), chunks.chunk()), (7, &b"abc"[..]));
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(
            chunks.chunks_vectored(&mut slices),
            2,
            "the empty part is not kept"
        );
        assert_eq!((&*slices[0], &*slices[1]), (&b"abc"[..], &b"defg"[..]));

        chunks.advance(4);
        assert_eq!((chunks.remaining(), chunks.chunk()), (3, &b"efg"[..]));
        assert_eq!(chunks.to_vec(), b"efg");
        chunks.advance(3);
        assert!(chunks.is_empty() && chunks.pop_front().is_none());
    }
}
