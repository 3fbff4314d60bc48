//! A small HTTP/1.1 server on 127.0.0.1 for the client tests (std only).
//!
//! It records every request (method, path, headers, body) and answers each with the
//! next scripted [`Reply`]: a status, headers and a body written in chosen pieces
//! (chunked transfer encoding, a content-length, or close-delimited), with pauses
//! between pieces, and then a clean end, a stall, or the socket closed mid-body.
#![allow(dead_code, reason = "each includer uses a different subset")]
#![allow(
    unreachable_pub,
    reason = "items of a module included by tests and benches"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Chunked,
    ContentLength,
    /// No length: the body ends when the server closes the connection.
    Close,
}

/// A piece of the body, or a pause before the next.
#[derive(Debug, Clone)]
pub enum Part {
    Bytes(Vec<u8>),
    Pause(Duration),
}

/// What happens after the scripted parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The body is complete (final chunk, or all content-length bytes, or close).
    Finish,
    /// The socket is closed before the body is complete.
    CloseMidBody,
    /// Nothing more is sent; the socket stays open until the client closes it or this
    /// long has passed.
    Stall(Duration),
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
    pub framing: Framing,
    pub end: End,
    /// Wait this long before the status line.
    pub head_delay: Duration,
    /// Close the connection without answering at all.
    pub hang_up: bool,
    /// Content-length bytes promised beyond the parts (a body cut short).
    pub promise_more: usize,
}

impl Reply {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            parts: Vec::new(),
            framing: Framing::Chunked,
            end: End::Finish,
            head_delay: Duration::ZERO,
            hang_up: false,
            promise_more: 0,
        }
    }

    /// Announces `n` more content-length bytes than the parts hold.
    pub fn promise_more(mut self, n: usize) -> Self {
        self.promise_more = n;
        self
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

    /// An SSE stream (chunked), one chunk per piece of `splits` bytes (the whole body
    /// when `splits` is 0).
    pub fn sse(body: &[u8], split: usize) -> Self {
        Self::new(200)
            .header("content-type", "text/event-stream;charset=UTF-8")
            .header("x-request-id", "req-header-1")
            .body_split(body, split)
    }

    pub fn json(status: u16, body: &str) -> Self {
        Self::new(status)
            .header("content-type", "application/json")
            .framing(Framing::ContentLength)
            .body_split(body.as_bytes(), 0)
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn body_split(mut self, body: &[u8], split: usize) -> Self {
        if split == 0 || body.is_empty() {
            self.parts.push(Part::Bytes(body.to_vec()));
        } else {
            for piece in body.chunks(split) {
                self.parts.push(Part::Bytes(piece.to_vec()));
            }
        }
        self
    }

    pub fn part(mut self, bytes: &[u8]) -> Self {
        self.parts.push(Part::Bytes(bytes.to_vec()));
        self
    }

    pub fn pause(mut self, d: Duration) -> Self {
        self.parts.push(Part::Pause(d));
        self
    }

    pub fn framing(mut self, f: Framing) -> Self {
        self.framing = f;
        self
    }

    pub fn end(mut self, e: End) -> Self {
        self.end = e;
        self
    }
}

/// The server. Replies are used in order; a request beyond the script gets a 599.
pub struct Server {
    pub addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Body bytes written so far, over all replies.
    pub written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
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

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
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

fn serve(conn: TcpStream, requests: &Mutex<Vec<Recorded>>, written: &AtomicU64, script: &Script) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(conn.try_clone().expect("clone socket"));
    let mut conn = conn;
    loop {
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        requests.lock().unwrap().push(request);
        let reply = script.lock().unwrap().next().unwrap_or_else(|| {
            Reply::json(599, r#"{"code":"NoScript","message":"no reply scripted"}"#)
        });
        if !write_reply(&mut conn, &reply, written) {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
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
    let total: usize = reply
        .parts
        .iter()
        .map(|p| match p {
            Part::Bytes(b) => b.len(),
            Part::Pause(_) => 0,
        })
        .sum();
    let mut head = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match reply.framing {
        Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
        Framing::ContentLength => head.push_str(&format!(
            "content-length: {}\r\n",
            total + reply.promise_more
        )),
        Framing::Close => head.push_str("connection: close\r\n"),
    }
    head.push_str("\r\n");
    if conn.write_all(head.as_bytes()).is_err() {
        return false;
    }
    for part in &reply.parts {
        match part {
            Part::Pause(d) => std::thread::sleep(*d),
            Part::Bytes(b) if b.is_empty() => {}
            Part::Bytes(b) => {
                let ok = if reply.framing == Framing::Chunked {
                    conn.write_all(format!("{:x}\r\n", b.len()).as_bytes())
                        .and_then(|()| conn.write_all(b))
                        .and_then(|()| conn.write_all(b"\r\n"))
                } else {
                    conn.write_all(b)
                };
                if ok.and_then(|()| conn.flush()).is_err() {
                    return false;
                }
                written.fetch_add(b.len() as u64, Ordering::SeqCst);
            }
        }
    }
    match reply.end {
        End::Finish => {
            if reply.framing == Framing::Chunked && conn.write_all(b"0\r\n\r\n").is_err() {
                return false;
            }
            if reply.framing == Framing::Close {
                let _ = conn.shutdown(Shutdown::Both);
                return false;
            }
            true
        }
        End::CloseMidBody => {
            let _ = conn.shutdown(Shutdown::Both);
            false
        }
        End::Stall(d) => {
            wait_for_close(conn, d);
            let _ = conn.shutdown(Shutdown::Both);
            false
        }
    }
}
