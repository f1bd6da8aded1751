//! Tool vectors on disk (`meta_mcp.embeddings.cache`), so a restart does
//! not embed every tool again. One file, written whole (to a temporary
//! name, then renamed) after a refresh that changed the vectors, read
//! once when the embedder is configured.
//!
//! Layout, little-endian: the magic `MCPGWEMB`, a format version (u32),
//! the endpoint's identity (32 bytes: SHA-256 of what shapes a vector —
//! URL, model, prefixes, `input_type`), the dimension (u32), the count
//! (u32), then per vector its text key (u64), scale (f32) and values
//! (`dimension` × i8). A file for another endpoint, another version, or
//! that does not add up is ignored with a warning.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::Embeddings;
use crate::search::meaning::Quantized;

const MAGIC: &[u8; 8] = b"MCPGWEMB";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 32 + 4 + 4;
/// Larger files are not read (about 150,000 tools of 384 dimensions).
pub const MAX_FILE: u64 = 64 << 20;

/// What makes two endpoints' vectors comparable.
pub fn identity(config: &Embeddings) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [
        config.url.as_str(),
        config.model.as_str(),
        config.query_prefix.as_str(),
        config.document_prefix.as_str(),
        if config.input_type { "input_type" } else { "" },
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// The key a tool's vector is kept under: a hash of its text, the same in every run.
pub fn key(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

pub fn encode(identity: &[u8; 32], vectors: &HashMap<u64, Arc<Quantized>>) -> Vec<u8> {
    let dims = vectors.values().map(|v| v.len()).next().unwrap_or(0);
    let kept: Vec<(&u64, &Arc<Quantized>)> =
        vectors.iter().filter(|(_, v)| v.len() == dims).collect();
    let mut out = Vec::with_capacity(HEADER + kept.len() * (12 + dims));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(identity);
    out.extend_from_slice(&(dims as u32).to_le_bytes());
    out.extend_from_slice(&(kept.len() as u32).to_le_bytes());
    for (k, v) in kept {
        out.extend_from_slice(&k.to_le_bytes());
        out.extend_from_slice(&v.scale().to_le_bytes());
        out.extend(v.values().iter().map(|x| x.to_le_bytes()[0]));
    }
    out
}

pub fn decode(identity: &[u8; 32], bytes: &[u8]) -> Result<HashMap<u64, Arc<Quantized>>, String> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a vector cache".into());
    }
    if u32_at(8) != VERSION {
        return Err(format!(
            "format version {} (this gateway writes {VERSION})",
            u32_at(8)
        ));
    }
    if &bytes[12..44] != identity {
        return Err("made with another endpoint, model or prefixes".into());
    }
    let (dims, count) = (u32_at(44) as usize, u32_at(48) as usize);
    let record = 12 + dims;
    if bytes.len() != HEADER + count * record {
        return Err(format!(
            "{} bytes, not {count} vectors of {dims}",
            bytes.len()
        ));
    }
    let mut out = HashMap::with_capacity(count);
    for r in bytes[HEADER..].chunks_exact(record) {
        let k = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
        let scale = f32::from_le_bytes(r[8..12].try_into().expect("4 bytes"));
        if !scale.is_finite() || scale <= 0.0 {
            return Err("a vector has no usable scale".into());
        }
        let values = r[12..].iter().map(|b| i8::from_le_bytes([*b])).collect();
        out.insert(k, Arc::new(Quantized::from_parts(scale, values)));
    }
    Ok(out)
}

/// The vectors kept at `path` for `identity`; none (with a warning) when
/// the file is missing, unreadable, too large or for another endpoint.
pub fn load(path: &Path, identity: &[u8; 32]) -> HashMap<u64, Arc<Quantized>> {
    let read = std::fs::metadata(path).and_then(|m| {
        if m.len() > MAX_FILE {
            Err(std::io::Error::other(format!(
                "larger than {MAX_FILE} bytes"
            )))
        } else {
            std::fs::read(path)
        }
    });
    let result = match read {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HashMap::new(),
        Err(e) => Err(e.to_string()),
        Ok(bytes) => decode(identity, &bytes),
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(path = %path.display(), error = %e, "tool vector cache not used; tools are embedded again");
        HashMap::new()
    })
}

/// Write an [`encode`]d file to `path` whole: a temporary file beside it, then a rename.
pub fn save(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "tool vector cache not written");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> HashMap<u64, Arc<Quantized>> {
        [(7u64, [0.6f32, -0.8, 0.0]), (9, [0.0, 1.0, 0.0])]
            .into_iter()
            .map(|(k, v)| (k, Arc::new(Quantized::new(&v))))
            .collect()
    }

    #[test]
    fn vectors_come_back_as_written_for_the_same_endpoint_only() {
        let config = Embeddings::new("http://127.0.0.1:8000/v1/embeddings");
        let id = identity(&config);
        let bytes = encode(&id, &vectors());
        assert_eq!(bytes.len(), HEADER + 2 * (12 + 3));
        assert_eq!(decode(&id, &bytes).unwrap(), vectors());

        let other = Embeddings {
            model: "another".into(),
            ..config.clone()
        };
        assert!(decode(&identity(&other), &bytes)
            .unwrap_err()
            .contains("another endpoint"));
        // What does not change a vector does not change the identity.
        let tuned = Embeddings {
            weight: 0.2,
            batch_size: 4,
            ..config
        };
        assert_eq!(identity(&tuned), id);
    }

    #[test]
    fn damaged_files_are_refused() {
        let id = identity(&Embeddings::new("http://h/"));
        let bytes = encode(&id, &vectors());
        assert!(decode(&id, &bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("not 2 vectors of 3"));
        assert!(decode(&id, b"MCPGW")
            .unwrap_err()
            .contains("not a vector cache"));
        let mut newer = bytes.clone();
        newer[8] = 2;
        assert!(decode(&id, &newer)
            .unwrap_err()
            .contains("format version 2"));
        let mut zero_scale = bytes;
        zero_scale[HEADER + 8..HEADER + 12].copy_from_slice(&0f32.to_le_bytes());
        assert!(decode(&id, &zero_scale).unwrap_err().contains("scale"));
    }

    #[test]
    fn files_are_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vectors.bin");
        let id = identity(&Embeddings::new("http://h/"));
        assert!(load(&path, &id).is_empty(), "no file yet: nothing, quietly");
        save(&path, &encode(&id, &vectors()));
        assert_eq!(load(&path, &id), vectors());
        assert!(!path.with_extension("tmp").exists());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(load(&path, &id).is_empty());
    }

    #[test]
    fn keys_are_the_same_in_every_run() {
        // The first 8 bytes of SHA-256("abc"), ba 78 16 bf 8f 01 cf ea, little-endian.
        assert_eq!(key("abc"), 0xeacf_018f_bf16_78ba);
        assert_ne!(key("a"), key("b"));
    }
}
