//! Dropping a `testing::ReplayServer` leaves no thread behind, even with a stalled reply,
//! an idle client and a finished connection (Linux: counts the threads in
//! `/proc/self/task` whose name carries the server's port, so that other tests' servers
//! running meanwhile do not count).
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dashscope_glm::testing::{ReplayServer, Reply};

/// The live threads of the server on `port` (named `replay-PORT-...`).
fn threads(port: u16) -> usize {
    let prefix = format!("replay-{port}-");
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(&prefix))
        .count()
}

#[test]
fn drop_joins_every_thread() {
    for _ in 0..3 {
        let server = ReplayServer::builder()
            .route(
                "/stall",
                Reply::sse("data:1\n\n").stall_after(3, Duration::MAX),
            )
            .fallback(Reply::new(200))
            .start()
            .unwrap();
        let mut stalled = TcpStream::connect(server.addr()).unwrap();
        stalled.write_all(b"GET /stall HTTP/1.1\r\n\r\n").unwrap();
        let _idle = TcpStream::connect(server.addr()).unwrap();
        let mut done = TcpStream::connect(server.addr()).unwrap();
        done.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        done.read_to_end(&mut Vec::new()).unwrap();
        // The acceptor and the stalled connection's thread at least.
        while server.request_count() < 2 {
            std::thread::yield_now();
        }
        let port = server.addr().port();
        assert!(threads(port) >= 2);
        drop(server);
        // A joined thread can linger in /proc for a moment while the kernel reaps it.
        let deadline = Instant::now() + Duration::from_secs(1);
        while threads(port) != 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(threads(port), 0);
        stalled
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let _ = stalled.read_to_end(&mut Vec::new());
    }
}
