//! `StreamDecoder`'s two phases (feed or end, then `ready` / `take_event`) in the shape
//! an async client's `next_event` has, which lends each event from inside its read
//! loop: every transcript, delivered in two pieces cut at every offset and one byte at a
//! time, gives the events and the outcome of the whole-input run
//! (`transcripts::run`).
#![cfg(feature = "chat")]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::data::{Transcript, transcripts};
use crate::transcripts::{render_event, run};

use dashscope_glm::Error;
use dashscope_glm::chat::{Accumulator, Completion, StreamDecoder, StreamEvent};

/// A body that reads asynchronously, as `tokio::io::AsyncRead` does: `Ok(0)` at its
/// end.
trait AsyncBody {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize>;
}

/// The body as the transport delivered it: these pieces, one per read (a read buffer
/// smaller than a piece takes it in several), and pending once before each.
struct Pieces<'a> {
    pieces: Vec<&'a [u8]>,
    next: usize,
    offset: usize,
}

impl AsyncBody for Pieces<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Yield(false).await;
        let Some(piece) = self.pieces.get(self.next) else {
            return Ok(0);
        };
        let rest = &piece[self.offset..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.offset += n;
        if self.offset == piece.len() {
            self.next += 1;
            self.offset = 0;
        }
        Ok(n)
    }
}

/// Pending once, then ready: an executor must poll again, as a socket makes it.
struct Yield(bool);

impl Future for Yield {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// An async client's event stream over `StreamDecoder`, as its type docs show it.
struct Events<B> {
    body: B,
    decoder: StreamDecoder,
    buf: Vec<u8>,
    ended: bool,
}

impl<B: AsyncBody> Events<B> {
    /// The next event, lent from inside the read loop; `Ok(None)` once the body is used
    /// up. This compiles only because `ready` holds no borrow.
    async fn next_event(&mut self) -> Result<Option<StreamEvent<'_>>, Error> {
        loop {
            if self.decoder.ready()? {
                return Ok(self.decoder.take_event());
            }
            if self.ended {
                return Ok(None);
            }
            let n = if self.decoder.accumulator().received_done() {
                0
            } else {
                let read = self.body.read(&mut self.buf).await;
                read.map_err(|e| Error::transport("reading the body", e))?
            };
            if n == 0 {
                self.ended = true;
                self.decoder.end()?;
            } else {
                self.decoder.feed(&self.buf[..n]);
            }
        }
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// The transcript delivered as `pieces`, read into a buffer of `buffer` bytes.
fn run_async(
    t: &Transcript,
    pieces: Vec<&[u8]>,
    buffer: usize,
) -> (Vec<String>, Result<Completion, Error>) {
    let decoder =
        StreamDecoder::from_accumulator(Accumulator::new(t.protocol).cumulative(t.cumulative));
    let mut events = Events {
        body: Pieces {
            // An empty read is the end of the body: a transport never delivers one.
            pieces: pieces.into_iter().filter(|p| !p.is_empty()).collect(),
            next: 0,
            offset: 0,
        },
        decoder,
        buf: vec![0; buffer],
        ended: false,
    };
    let mut seen = Vec::new();
    let drained = block_on(async {
        while let Some(event) = events.next_event().await? {
            seen.push(render_event(&event));
        }
        Ok::<_, Error>(())
    });
    let outcome = drained.and_then(|()| events.decoder.finish());
    (seen, outcome)
}

#[test]
fn the_async_shaped_loop_gives_the_whole_run_at_every_split() {
    let mut splits = 0;
    for t in transcripts() {
        let whole = run(&t, &[]);
        let bytes = t.bytes.as_slice();
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(
            run_async(&t, bytewise, 16 * 1024),
            whole,
            "{} byte by byte",
            t.name
        );
        assert_eq!(
            run_async(&t, vec![bytes], 7),
            whole,
            "{} in 7-byte reads",
            t.name
        );
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            let got = run_async(&t, vec![a, b], 16 * 1024);
            assert_eq!(got, whole, "{} cut at {cut}", t.name);
            splits += 1;
        }
    }
    assert!(
        splits > 10_000,
        "{splits} splits: the transcripts are missing"
    );
}
