//! Connections that cannot use the service up: a cap on how many are open, and timeouts that
//! close a connection which is slow to send its headers or idles between requests.
//!
//! poem 3.1's `Server` has an `idle_timeout` (no byte read for a while), but nothing for a
//! client that trickles its headers, no connection cap, and it spins on a failing `accept`;
//! the hyper builder, whose `header_read_timeout` needs a timer, is built inside poem out of
//! reach. So this wraps poem's acceptor and its streams rather than replacing its accept loop.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

use crate::config::ConnectionArgs;

/// At most one "cap reached" or "cannot accept" line per this interval, not one per client.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Wait after a failed `accept` (e.g. out of descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An acceptor that holds at most `cap` connections open and guards each with the timeouts.
pub struct Guarded<A> {
    inner: A,
    slots: Arc<Semaphore>,
    cap: u32,
    timeouts: ConnectionArgs,
    cap_logged: Option<Instant>,
    error_logged: Option<Instant>,
}

impl<A> Guarded<A> {
    /// Wrap `inner`: at most `cap` connections, the timeouts of `timeouts`.
    pub fn new(inner: A, cap: u32, timeouts: ConnectionArgs) -> Guarded<A> {
        Guarded {
            inner,
            slots: Arc::new(Semaphore::new(cap as usize)),
            cap,
            timeouts,
            cap_logged: None,
            error_logged: None,
        }
    }
}

/// Whether a rate-limited line is due; marks it logged when it is.
fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|at| now.duration_since(at) < LOG_INTERVAL) {
        return false;
    }
    *last = Some(now);
    true
}

impl<A: Acceptor> Acceptor for Guarded<A> {
    type Io = Stream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if due(&mut self.cap_logged) {
                    tracing::warn!(
                        max_connections = self.cap,
                        "connection cap reached: new clients wait until a connection closes \
                         (see --max-connections, --idle-timeout)"
                    );
                }
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| io::Error::other("the connection slots are closed"))?
            }
        };
        loop {
            match self.inner.accept().await {
                Ok((io, local, remote, scheme)) => {
                    return Ok((Stream::new(io, slot, self.timeouts), local, remote, scheme));
                }
                Err(e) => {
                    if due(&mut self.error_logged) {
                        tracing::error!(error = %e, "cannot accept a connection");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}

/// Where a connection is in its request cycle; decides which timeout runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Connected or started a request: the headers must be complete by the deadline.
    Headers,
    /// Headers read: the request runs, no timeout from here.
    Request,
    /// Answered: the next request must start by the deadline.
    Idle,
    /// HTTP/2 (no request boundaries in the bytes): closed after the idle timeout of silence.
    Http2,
}

/// A client connection: holds its slot under the cap, and fails a read when its deadline
/// passes (hyper then closes it).
pub struct Stream<T> {
    inner: T,
    _slot: OwnedSemaphorePermit,
    timeouts: ConnectionArgs,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// The last header byte was a line feed (ignoring carriage returns): one more ends them.
    after_line_feed: bool,
    first_read: bool,
}

impl<T> Stream<T> {
    fn new(inner: T, slot: OwnedSemaphorePermit, timeouts: ConnectionArgs) -> Stream<T> {
        Stream {
            inner,
            _slot: slot,
            timeouts,
            phase: Phase::Headers,
            deadline: Box::pin(tokio::time::sleep(timeouts.header_timeout)),
            after_line_feed: false,
            first_read: true,
        }
    }

    fn restart(&mut self, phase: Phase, after: Duration) {
        self.phase = phase;
        self.deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + after);
    }

    /// Follow the phase through bytes just read.
    fn read(&mut self, bytes: &[u8]) {
        if std::mem::take(&mut self.first_read) && bytes.starts_with(b"PRI ") {
            self.restart(Phase::Http2, self.timeouts.idle_timeout);
        }
        match self.phase {
            Phase::Http2 => self.restart(Phase::Http2, self.timeouts.idle_timeout),
            Phase::Request => {}
            Phase::Idle => {
                self.restart(Phase::Headers, self.timeouts.header_timeout);
                self.after_line_feed = false;
                self.scan_headers(bytes);
            }
            Phase::Headers => self.scan_headers(bytes),
        }
    }

    /// The headers end at an empty line (`\r\n\r\n`, or `\n\n` which parsers also take).
    fn scan_headers(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' if self.after_line_feed => {
                    self.phase = Phase::Request;
                    return;
                }
                b'\n' => self.after_line_feed = true,
                b'\r' => {}
                _ => self.after_line_feed = false,
            }
        }
    }

    /// Follow the phase through a write: an answer makes the connection idle.
    fn wrote(&mut self, cx: &mut Context<'_>) {
        match self.phase {
            Phase::Http2 => self.restart(Phase::Http2, self.timeouts.idle_timeout),
            Phase::Headers | Phase::Request | Phase::Idle => {
                self.restart(Phase::Idle, self.timeouts.idle_timeout);
            }
        }
        // hyper may already wait on a read it started before the answer, when no deadline ran:
        // the deadline must wake the connection's task itself to fail that read.
        let _ = self.deadline.as_mut().poll(cx);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    this.read(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if this.phase == Phase::Request => Poll::Pending,
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    match this.phase {
                        Phase::Headers => "no complete request headers within --header-timeout",
                        _ => "no new request within --idle-timeout",
                    },
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.wrote(cx);
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.wrote(cx);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
