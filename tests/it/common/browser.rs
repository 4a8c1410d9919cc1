//! Headless Chromium for the status page's tests: Debian's `chromium`, driven over WebDriver by
//! its `chromedriver` (both installed by `.ci/run`; `POSSYNC_CHROMIUM` and
//! `POSSYNC_CHROMEDRIVER` point elsewhere). Each [`Browser`] has its own chromedriver on a
//! loopback port and its own empty profile directory, and closes both when dropped. Without
//! them a browser test is skipped, loudly; with `POSSYNC_REQUIRE_BROWSER` set (CI) it fails.
//!
//! The calls are synchronous (each runs on the browser's own small runtime) so a test reads
//! top to bottom and mixes page steps with API calls and mock checks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;

use super::wait::PATIENCE;

/// The flags this machine needs (../.library machine notes): without the background-networking
/// ones Chromium tries to reach Google's hosts at every start, and the closed network refuses.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

/// Where a program is: the environment variable when set, else Debian's path.
fn program(variable: &str, debian: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(debian));
    path.is_file().then_some(path)
}

/// Say, past the test harness's output capture, that a browser test did not run. A skipped
/// test that passes silently would look like a tested page.
pub fn say_skipped(test: &str, why: &str) {
    let line = "!".repeat(78);
    let _ = writeln!(
        std::io::stderr(),
        "\n{line}\n!! BROWSER TEST SKIPPED: {test}\n!! {why}\n!! Install them with \
         `apt-get install -y chromium chromium-driver` (.ci/run does) to run it.\n{line}\n"
    );
}

/// A headless Chromium session.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    /// chromedriver's address, for the one call fantoccini does not wrap (the console log).
    driver_url: String,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// A browser with a `width` × `height` window, or `None` (said loudly, see [`say_skipped`])
    /// when chromium or chromedriver is not installed.
    pub fn start(test: &str, width: u32, height: u32) -> Option<Browser> {
        let chromium = program("POSSYNC_CHROMIUM", "/usr/bin/chromium");
        let driver = program("POSSYNC_CHROMEDRIVER", "/usr/bin/chromedriver");
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            // CI installs both, so there a missing browser is a failure, not a skip.
            assert!(
                std::env::var_os("POSSYNC_REQUIRE_BROWSER").is_none(),
                "{test}: POSSYNC_REQUIRE_BROWSER is set but chromium or chromedriver is missing"
            );
            say_skipped(
                test,
                "chromium (/usr/bin/chromium) or chromedriver (/usr/bin/chromedriver) is missing.",
            );
            return None;
        };
        let profile = TempDir::new().unwrap();
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut browser = Browser {
            runtime,
            client: None,
            driver_url: format!("http://127.0.0.1:{port}"),
            driver: child,
            _profile: profile,
        };
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser._profile.path().join("profile").display()
        ));
        args.push(format!("--window-size={width},{height}"));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let url = browser.driver_url.clone();
        let client = browser.runtime.block_on(async {
            let started = Instant::now();
            loop {
                let mut builder =
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
                builder.capabilities(capabilities.as_object().unwrap().clone());
                match builder.connect(&url).await {
                    Ok(client) => break client,
                    // chromedriver takes a moment to listen.
                    Err(e) if started.elapsed() < PATIENCE => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => panic!("no WebDriver session from {url}: {e}"),
                }
            }
        });
        browser.client = Some(client);
        Some(browser)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// Open `url` and wait for it to load.
    pub fn goto(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Wait until an element matching `css` exists and is shown.
    pub fn wait_visible(&self, css: &str) {
        self.find(css);
    }

    /// The first element matching `css`, waiting for it to exist and be shown.
    fn find(&self, css: &str) -> Element {
        self.runtime.block_on(async {
            let started = Instant::now();
            loop {
                if let Ok(el) = self.client().find(Locator::Css(css)).await
                    && el.is_displayed().await.unwrap_or(false)
                {
                    return el;
                }
                if started.elapsed() > PATIENCE {
                    panic!("no visible element {css} after {PATIENCE:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    /// Type `text` into the field `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.runtime.block_on(el.send_keys(text)).unwrap();
    }

    /// Click the element `css` (waiting for it to be shown and enabled).
    pub fn click(&self, css: &str) {
        self.wait_until(&format!("{css} is enabled"), |b| {
            b.script(&format!(
                "const e = document.querySelector({}); return !!e && !e.disabled;",
                json!(css)
            )) == json!(true)
        });
        let el = self.find(css);
        self.runtime.block_on(el.click()).unwrap();
    }

    /// Pick the option with this value in the `<select>` `css`.
    pub fn select(&self, css: &str, value: &str) {
        let el = self.find(css);
        self.runtime.block_on(el.select_by_value(value)).unwrap();
    }

    /// The text of `css` as the page shows it ("" when there is no such element).
    pub fn text(&self, css: &str) -> String {
        self.script(&format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            json!(css)
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Wait until the text of `css` contains `needle`; returns that text.
    pub fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            last = self.text(css);
            if last.contains(needle) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{css} never showed {needle:?}; it shows:\n{last}");
    }

    /// Wait until `condition` holds.
    pub fn wait_until(&self, what: &str, mut condition: impl FnMut(&Browser) -> bool) {
        let started = Instant::now();
        while !condition(self) {
            assert!(started.elapsed() < PATIENCE, "never true: {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Run `body` (a function body: `return` gives the answer) in the page.
    pub fn script(&self, body: &str) -> Value {
        self.runtime
            .block_on(self.client().execute(body, vec![]))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{body}"))
    }

    /// The console's errors since the last call (script errors, refused resources, policy
    /// violations, failed requests), as chromedriver reports them.
    pub fn console_errors(&self) -> Vec<String> {
        let session = self
            .runtime
            .block_on(self.client().session_id())
            .unwrap()
            .expect("a session id");
        let url = format!("{}/session/{session}/se/log", self.driver_url);
        let resp = super::Client::browser().post(&url, None, json!({"type": "browser"}));
        resp.expect(200);
        resp.body["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Resize the window to `width` and tall enough for the whole page, then save a PNG of it
    /// at `path`.
    pub fn screenshot(&self, width: u32, path: &Path) {
        let client = self.client();
        self.script("window.scrollTo(0, 0); return null;");
        let height = self.page_height();
        self.runtime
            .block_on(client.set_window_size(width, height.max(400)))
            .unwrap();
        // The layout settles on the new width (a second pass may change the height).
        std::thread::sleep(Duration::from_millis(300));
        let height = self.page_height();
        self.runtime
            .block_on(client.set_window_size(width, height.max(400)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let png = self.runtime.block_on(client.screenshot()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Browser {
    /// What does not fit the window's width: the page scrolls sideways, or an element shown
    /// sticks out past the right edge (clipped text, a button half off a phone's screen). Each
    /// as `tag#id.class: right edge` ; empty when everything fits.
    pub fn overflowing(&self) -> Vec<String> {
        let found = self.script(
            "const width = document.documentElement.clientWidth; \
             const out = []; \
             if (document.documentElement.scrollWidth > width) \
               out.push(`the page is ${document.documentElement.scrollWidth} px wide`); \
             for (const e of document.body.querySelectorAll('*')) { \
               const r = e.getBoundingClientRect(); \
               if (r.width > 0 && r.right > width + 0.5) \
                 out.push(`${e.tagName.toLowerCase()}#${e.id}.${e.className}: ${Math.round(r.right)} px`); \
             } \
             return out;",
        );
        serde_json::from_value(found).unwrap_or_default()
    }

    /// The window height that shows the whole page: the body's bottom edge plus what the
    /// window itself takes beyond its viewport.
    fn page_height(&self) -> u32 {
        self.script(
            "return Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY \
             + window.outerHeight - window.innerHeight);",
        )
        .as_u64()
        .unwrap_or(800) as u32
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `target/status-page/` (or under `CARGO_TARGET_DIR`): where the screenshots go.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("status-page")
}
