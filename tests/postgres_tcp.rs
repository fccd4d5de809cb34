//! The catalogue's connections to PostgreSQL over TCP send each message at once
//! (`TCP_NODELAY`). Without it, a message written in more than one segment waits
//! for the server's delayed acknowledgement, 40 ms on Linux: every plan against a
//! PostgreSQL catalogue took about 50 ms longer than on SQLite (BENCHMARKS.md,
//! "PostgreSQL over TCP against a Unix socket"). sqlx 0.9.0 does not set it; the
//! patched `vendor/sqlx-core` does, until a release carries the fix.
//!
//! Its own test binary: it looks at every socket of the process, which other
//! tests running beside it would open and close.

mod common;

use std::io::Write;
use std::path::Path;

use actionsync::store::{self, Store};

#[tokio::test]
async fn postgres_connections_over_tcp_send_without_delay() {
    let Some(url) = common::postgres_url().await else {
        return;
    };
    if url.contains("host=/") {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {} names a Unix socket; TCP_NODELAY is a TCP option",
            common::POSTGRES_ENV
        );
        return;
    }
    let port = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(5432);
    let catalogue = store::open(&url, Path::new("."))
        .await
        .expect("open postgres");
    // A query, so that the pool holds an open connection.
    catalogue.sources().await.expect("list the sources");

    let sockets = tcp_sockets_to_port(port);
    assert!(
        !sockets.is_empty(),
        "no TCP connection to port {port} found among the process's descriptors"
    );
    for (fd, nodelay) in &sockets {
        assert!(
            *nodelay,
            "the connection on descriptor {fd} to PostgreSQL (port {port}) waits for \
             acknowledgements before sending (TCP_NODELAY is off)"
        );
    }
}

/// Each of the process's TCP sockets connected to `port`, with whether it has
/// `TCP_NODELAY` set.
fn tcp_sockets_to_port(port: u16) -> Vec<(i32, bool)> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd");
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if peer_port(fd) != Some(port) {
            continue;
        }
        if let Some(nodelay) = int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY) {
            found.push((fd, nodelay != 0));
        }
    }
    found
}

/// The remote port of `fd` when it is a connected IPv4 or IPv6 stream socket.
fn peer_port(fd: i32) -> Option<u16> {
    if int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE) != Some(libc::SOCK_STREAM) {
        return None;
    }
    // SAFETY: an all-zero sockaddr_storage is valid; `getpeername` writes at
    // most `len` bytes into it.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` is large enough for any address, as `len` says.
    let rc = unsafe {
        libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let v4 =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(u16::from_be(v4.sin_port))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let v6 =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(u16::from_be(v6.sin6_port))
        }
        _ => None,
    }
}

/// An integer socket option of `fd`, or `None` when `fd` has no such option
/// (not a socket, not TCP, or closed since).
fn int_option(fd: i32, level: libc::c_int, name: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `getsockopt` writes at most `len` bytes into `value`, a c_int of
    // that size; an fd without the option only makes it fail.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(value)
}
