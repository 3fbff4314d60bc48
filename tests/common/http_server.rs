//! A small hand-rolled HTTP/1.1 server on 127.0.0.1 (std only), kept for the few client
//! tests that need what `dashscope_glm::testing::ReplayServer` does not do:
//!
//! - close a connection without any response ([`Reply::hang_up`]): a retry before the
//!   response (PITFALL 20);
//! - wait before the status line ([`Reply::head_delay`]): the idle timeout on the
//!   response headers;
//! - count the body bytes written so far ([`Server::written`]): the socket is read only
//!   inside `next_event` (PITFALL 62, TCP flow control);
//! - stall until the client closes its end ([`End::Stall`]; ReplayServer's stall lasts
//!   its full hold): dropping a stream closes the connection.
//!
//! Every other client test uses ReplayServer. Replies are chunked SSE bodies written in
//! pieces, used in order across all connections; a request beyond the script gets a
//! `599`. Requests are counted, not recorded.
#![allow(unreachable_pub, reason = "items of a module included by tests")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What happens after the body's pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The body is complete (the final chunk).
    Finish,
    /// Nothing more is sent; the socket stays open until the client closes it or this
    /// long has passed.
    Stall(Duration),
}

#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    /// The body, one chunk per piece.
    pieces: Vec<Vec<u8>>,
    end: End,
    /// Wait this long before the status line.
    head_delay: Duration,
    /// Close the connection without answering at all.
    hang_up: bool,
}

impl Reply {
    fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            pieces: Vec::new(),
            end: End::Finish,
            head_delay: Duration::ZERO,
            hang_up: false,
        }
    }

    /// Closes the connection without a response.
    pub fn hang_up() -> Self {
        let mut r = Self::new(0);
        r.hang_up = true;
        r
    }

    pub fn head_delay(mut self, d: Duration) -> Self {
        self.head_delay = d;
        self
    }

    /// An SSE stream (chunked) with `x-request-id: req-header-1`, one chunk per piece
    /// of `split` bytes (the whole body when `split` is 0).
    pub fn sse(body: &[u8], split: usize) -> Self {
        let mut reply = Self::new(200);
        reply.headers = vec![
            (
                "content-type".into(),
                "text/event-stream;charset=UTF-8".into(),
            ),
            ("x-request-id".into(), "req-header-1".into()),
        ];
        reply.pieces = if split == 0 {
            vec![body.to_vec()]
        } else {
            body.chunks(split).map(<[u8]>::to_vec).collect()
        };
        reply
    }

    pub fn end(mut self, e: End) -> Self {
        self.end = e;
        self
    }
}

/// The server. Replies are used in order; a request beyond the script gets a 599.
pub struct Server {
    pub addr: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
    /// Body bytes written so far, over all replies.
    pub written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let script = Arc::new(Mutex::new(replies.into_iter()));
        let (r, w, s) = (requests.clone(), written.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, w, script) = (r.clone(), w.clone(), script.clone());
                workers.push(std::thread::spawn(move || serve(conn, &r, &w, &script)));
            }
            for worker in workers {
                let _ = worker.join();
            }
        });
        Self {
            addr,
            requests,
            written,
            stop,
            handle: Some(handle),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

type Script = Mutex<std::vec::IntoIter<Reply>>;

fn serve(conn: TcpStream, requests: &AtomicUsize, written: &AtomicU64, script: &Script) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(conn.try_clone().expect("clone socket"));
    let mut conn = conn;
    loop {
        if read_request(&mut reader).is_none() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let reply = script.lock().unwrap().next().unwrap_or_else(|| {
            let mut reply = Reply::new(599);
            reply.pieces = vec![b"no reply scripted".to_vec()];
            reply
        });
        if !write_reply(&mut conn, &reply, written) {
            return;
        }
    }
}

/// Reads one request (line, headers, a `content-length` body); `None` when the
/// connection closed or the request does not parse.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<()> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()
}

/// Waits until the peer closes the connection (a read gives 0 or fails) or `max` passed.
fn wait_for_close(conn: &mut TcpStream, max: Duration) {
    let start = std::time::Instant::now();
    let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 256];
    while start.elapsed() < max {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Writes one reply; returns whether the connection can carry another request.
fn write_reply(conn: &mut TcpStream, reply: &Reply, written: &AtomicU64) -> bool {
    if reply.hang_up {
        let _ = conn.shutdown(Shutdown::Both);
        return false;
    }
    if !reply.head_delay.is_zero() {
        wait_for_close(conn, reply.head_delay);
    }
    let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("transfer-encoding: chunked\r\n\r\n");
    if conn.write_all(head.as_bytes()).is_err() {
        return false;
    }
    for piece in reply.pieces.iter().filter(|p| !p.is_empty()) {
        let ok = conn
            .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .and_then(|()| conn.write_all(piece))
            .and_then(|()| conn.write_all(b"\r\n"))
            .and_then(|()| conn.flush());
        if ok.is_err() {
            return false;
        }
        written.fetch_add(piece.len() as u64, Ordering::SeqCst);
    }
    match reply.end {
        End::Finish => conn.write_all(b"0\r\n\r\n").is_ok(),
        End::Stall(d) => {
            wait_for_close(conn, d);
            let _ = conn.shutdown(Shutdown::Both);
            false
        }
    }
}
