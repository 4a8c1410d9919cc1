//! The one refusal made below poem: hyper answers headers too large (over ~400 KiB, or more than
//! 100 of them) with a bare `431` before any endpoint runs, so no middleware can put it in the
//! envelope. This wraps each connection's stream and puts that answer in the envelope as it is
//! written.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How hyper's own 431 starts.
const HYPER_431: &[u8] = b"HTTP/1.1 431 ";

/// An acceptor whose connections answer hyper's 431 in the envelope.
pub struct Enveloped<A>(pub A);

impl<A: Acceptor> Acceptor for Enveloped<A> {
    type Io = EnvelopedIo<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.0.accept().await?;
        Ok((
            EnvelopedIo {
                inner: io,
                pending: Vec::new(),
            },
            local,
            remote,
            scheme,
        ))
    }
}

/// A connection's stream; `pending` holds the enveloped 431 still to be written.
pub struct EnvelopedIo<T> {
    inner: T,
    pending: Vec<u8>,
}

/// The 431 in the envelope, closing the connection as hyper's does.
fn enveloped_431() -> Vec<u8> {
    let body = serde_json::json!({
        "success": false,
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "headers: the request headers are too large (at most 100 headers, about 400 KiB)",
        },
    })
    .to_string();
    format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n\
         content-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<T: AsyncWrite + Unpin> EnvelopedIo<T> {
    /// Write what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if buf.starts_with(HYPER_431) {
            // hyper's head (it has no body) is taken whole; the envelope goes out instead.
            self.pending = enveloped_431();
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(first) if first.starts_with(HYPER_431) => {
                self.pending = enveloped_431();
                let _ = self.drain(cx)?;
                Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
            }
            _ => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
