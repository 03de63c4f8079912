//! A throw-away `nats-server -js` for tests: yours and this crate's.
//!
//! [`NatsServer::start`] runs the `nats-server` binary (`$NATS_SERVER`, or
//! the one on `PATH`, or `/usr/sbin/nats-server`) on a
//! free local port with JetStream on and a fresh store directory, and
//! kills it (and removes the directory) when dropped.
//! [`NatsServer::start_or_skip`] is for test suites that must still pass on
//! a machine without the binary: it prints a loud `SKIPPED` line and
//! returns `None`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The server binary: `$NATS_SERVER` if set, else `nats-server` from
/// `PATH`, else Debian's `/usr/sbin/nats-server` (not on every user's
/// `PATH`).
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("nats-server").is_file()));
    let debian = Path::new("/usr/sbin/nats-server");
    if !on_path && debian.is_file() {
        return debian.to_path_buf();
    }
    PathBuf::from("nats-server")
}

/// How long [`NatsServer::start`] waits for the server to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `nats-server` child process with JetStream, on `127.0.0.1` and a free
/// port, storing in a temporary directory. Dropping it kills the server and
/// removes the directory.
///
/// # Examples
///
/// ```
/// use weir_nats::testing::NatsServer;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let Some(server) = NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// client.publish("hello", "world".into()).await.unwrap();
/// # }
/// ```
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
}

impl NatsServer {
    /// Whether a `nats-server` binary can be run from `PATH`.
    ///
    /// # Examples
    ///
    /// ```
    /// if !weir_nats::testing::NatsServer::installed() {
    ///     eprintln!("no nats-server here");
    /// }
    /// ```
    pub fn installed() -> bool {
        Command::new(binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts a server and waits until it accepts connections.
    ///
    /// # Errors
    ///
    /// When the binary is missing, or the server does not listen within
    /// 15 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_nats::testing::NatsServer;
    ///
    /// if NatsServer::installed() {
    ///     let server = NatsServer::start().unwrap();
    ///     assert!(server.url().starts_with("nats://127.0.0.1:"));
    /// }
    /// ```
    pub fn start() -> std::io::Result<NatsServer> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let store = std::env::temp_dir().join(format!(
            "weir-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&store)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = NatsServer {
            child: None,
            port,
            store,
        };
        server.spawn()?;
        Ok(server)
    }

    /// [`start`](NatsServer::start), or `None` after printing
    /// `SKIPPED: nats-server not installed` (to stderr, where `cargo test`
    /// shows it) when the binary is missing. Panics if the binary is there
    /// but the server does not start.
    ///
    /// # Panics
    ///
    /// When `nats-server` is installed but fails to start.
    ///
    /// # Examples
    ///
    /// ```
    /// use weir_nats::testing::NatsServer;
    ///
    /// let Some(server) = NatsServer::start_or_skip() else { return };
    /// assert!(server.port() > 0);
    /// ```
    pub fn start_or_skip() -> Option<NatsServer> {
        if !NatsServer::installed() {
            // Straight to the file descriptor: the test harness captures
            // `eprintln!`, and this line must be seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                  SKIPPED: nats-server not installed (apt-get install nats-server)\n\
                  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            );
            return None;
        }
        Some(NatsServer::start().expect("nats-server is installed but did not start"))
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    /// ```
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (the same across
    /// [`restart`](NatsServer::restart)s).
    ///
    /// # Examples
    ///
    /// ```
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// assert!(server.port() > 0);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory.
    ///
    /// # Examples
    ///
    /// ```
    /// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// assert!(server.store_dir().exists());
    /// ```
    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// Kills the server (SIGKILL: no clean shutdown) and waits for it to
    /// exit. The store directory is kept for a [`restart`](NatsServer::restart).
    ///
    /// # Examples
    ///
    /// ```
    /// # let Some(mut server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// server.kill();
    /// assert!(std::net::TcpStream::connect(("127.0.0.1", server.port())).is_err());
    /// ```
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server if it runs, then starts it again on the same port
    /// with the same store: file-backed streams and consumers survive.
    ///
    /// # Errors
    ///
    /// When the server does not listen again within 15 s.
    ///
    /// # Examples
    ///
    /// ```
    /// # let Some(mut server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
    /// let port = server.port();
    /// server.restart().unwrap();
    /// assert_eq!(server.port(), port);
    /// ```
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.spawn()
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let started = Instant::now();
        // Poll (bounded) until the port accepts: the server is then ready,
        // JetStream included (it starts before the client listener).
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    return Err(std::io::Error::other(format!(
                        "nats-server exited: {status}"
                    )));
                }
            }
            if started.elapsed() > READY_TIMEOUT {
                self.kill();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "nats-server did not listen in time",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Creates (if missing) a file-backed work-queue stream `stream` capturing
/// `subject`, with a durable pull consumer `consumer` (explicit acks,
/// `ack_wait` 2 s, `max_deliver` 3): the shape the crate's
/// [`Source`](crate::Source) expects, set up in one call for tests.
///
/// # Errors
///
/// When the server refuses (for example a stream of that name exists with
/// other subjects).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let Some(server) = weir_nats::testing::NatsServer::start_or_skip() else { return };
/// let client = weir_nats::connect(&server.url()).await.unwrap();
/// weir_nats::testing::work_queue(&client, "JOBS", "jobs.>", "workers").await.unwrap();
/// # }
/// ```
pub async fn work_queue(
    client: &async_nats::Client,
    stream: &str,
    subject: &str,
    consumer: &str,
) -> Result<(), crate::BoxError> {
    use async_nats::jetstream::{consumer::pull, stream as js_stream};
    let js = async_nats::jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(js_stream::Config {
            name: stream.to_owned(),
            subjects: vec![subject.to_owned()],
            retention: js_stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await?;
    stream
        .get_or_create_consumer(
            consumer,
            pull::Config {
                durable_name: Some(consumer.to_owned()),
                ack_wait: Duration::from_secs(2),
                max_deliver: 3,
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}
