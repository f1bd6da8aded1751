//! A message as an HTTP response body: its parts ([`Chunks`]) as frames.
//! hyper queues each frame as a buffer of its own and writes the head and
//! all of them with one `writev`, so a large result goes to the client
//! shared with the backend's answer it came in, not copied.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use mcp_wire::Chunks;

pub struct Parts(pub Chunks);

impl Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .pop_front()
                .map(|part| Ok(Frame::data(part))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use mcp_wire::{Id, Json, Message};

    #[tokio::test]
    async fn a_large_result_is_a_frame_of_its_own_shared_not_copied() {
        let answer = Message::parse_one(format!(
            r#"{{"jsonrpc":"2.0","id":7,"result":{{"text":"{}"}}}}"#,
            "x".repeat(4096)
        ))
        .unwrap();
        let result: &Json = answer.result.as_ref().unwrap();
        let response = Message::response(Id::Num(1), result.clone());
        let mut body = Parts(response.to_chunks());
        assert_eq!(
            body.size_hint().exact(),
            Some(response.to_bytes().len() as u64)
        );

        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            frames.push(frame.unwrap().into_data().unwrap());
        }
        assert_eq!(frames.concat(), response.to_bytes());
        assert_eq!(frames.len(), 3, "envelope, result, closing brace");
        assert_eq!(
            frames[1].as_ptr(),
            result.get().as_ptr(),
            "the result's bytes are the backend answer's own"
        );
        assert!(body.is_end_stream());
    }
}
