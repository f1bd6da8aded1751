//! What this crate's tests share: a seeded generator, and the edits that
//! break JSON text where a careless reader slips.

/// `text`, which a test knows to be JSON, as a [`crate::Json`].
pub(crate) fn json(text: &str) -> crate::Json {
    crate::Json::parse(text).expect("a test's JSON")
}

/// A tiny xorshift generator: the same texts on every run.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// `text` with one or two bytes changed, inserted or cut: brackets,
    /// quotes, escapes, digits, whitespace and control characters. `None`
    /// when the edit left the text not UTF-8.
    pub(crate) fn mutated(&mut self, text: &str) -> Option<String> {
        const PIECES: [u8; 22] = [
            b'{', b'}', b'[', b']', b'"', b'\\', b',', b':', b'0', b'1', b'-', b'.', b'e', b'+',
            b'u', b'a', b' ', b'\n', b'\t', 0x01, 0x1f, b't',
        ];
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..1 + self.below(2) {
            let at = self.below(bytes.len() + 1);
            let piece = PIECES[self.below(PIECES.len())];
            match self.below(3) {
                0 if at < bytes.len() => bytes[at] = piece,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, piece),
            }
        }
        String::from_utf8(bytes).ok()
    }
}
