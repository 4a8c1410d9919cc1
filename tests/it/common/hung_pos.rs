//! A POS that hangs: it accepts connections, reads whatever comes, and never answers, so every
//! push to it waits for `--provider-timeout`. It counts the connections open at once, which is
//! the number of pushes in flight to it. Once released (or dropped) it cuts every connection,
//! the ones to come included, so no push waits on it any more: a service stopping after the
//! test does not sit out a retried push's timeout.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Default)]
struct Counts {
    accepted: usize,
    open: usize,
    most_open: usize,
    streams: Vec<TcpStream>,
    released: bool,
}

/// A listening hung POS on 127.0.0.1; [`HungPos::release`] closes every connection.
pub struct HungPos {
    base_url: String,
    counts: Arc<Mutex<Counts>>,
}

impl HungPos {
    /// Listen on an OS-assigned port.
    pub fn start() -> HungPos {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = counts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                {
                    let mut c = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    c.accepted += 1;
                    if c.released {
                        let _ = stream.shutdown(Shutdown::Both);
                        continue;
                    }
                    c.open += 1;
                    c.most_open = c.most_open.max(c.open);
                    if let Ok(copy) = stream.try_clone() {
                        c.streams.push(copy);
                    }
                }
                let shared = shared.clone();
                std::thread::spawn(move || {
                    // Read until the client gives up and closes (its timeout).
                    let mut buf = [0u8; 4096];
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                    shared.lock().unwrap_or_else(PoisonError::into_inner).open -= 1;
                });
            }
        });
        HungPos { base_url, counts }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().open
    }

    /// The most connections that were ever open at once.
    pub fn most_open(&self) -> usize {
        self.lock().most_open
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.lock().accepted
    }

    /// Close every connection (the pushes end with a cut connection at once), and every new
    /// one as it comes.
    pub fn release(&self) {
        let mut c = self.lock();
        c.released = true;
        for stream in c.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for HungPos {
    /// A test that fails while pushes hang does not also wait out their timeout.
    fn drop(&mut self) {
        self.release();
    }
}
