//! A scripted fake server for what a real one cannot be made to do: answers chosen per
//! command (hostile fields, redirects to nowhere, garbage, cut frames), connections
//! closed mid-reply. Commands come as RESP arrays or inline (`SYNC`, as a replica sends
//! it). Each connection runs on its own thread; the server stops on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use rcli::protocol::resp::{Frame, parse};

/// What the fake does with one command.
pub enum Act {
    /// Send these bytes.
    Reply(Vec<u8>),
    /// Send these bytes, then close the connection.
    ReplyAndClose(Vec<u8>),
    /// Close the connection without a word.
    Close,
}

/// A RESP error reply.
pub fn error(text: &str) -> Act {
    Act::Reply(format!("-{text}\r\n").into_bytes())
}

/// A simple-string reply.
pub fn simple(text: &str) -> Act {
    Act::Reply(format!("+{text}\r\n").into_bytes())
}

/// The upper-cased command name and its arguments.
pub fn name(argv: &[Vec<u8>]) -> String {
    argv.first().map(|n| String::from_utf8_lossy(n).to_uppercase()).unwrap_or_default()
}

/// The command with its first argument, upper-cased: `CLUSTER SHARDS`, `INFO SERVER`.
pub fn name2(argv: &[Vec<u8>]) -> String {
    let second = argv.get(1).map(|a| String::from_utf8_lossy(a).to_uppercase()).unwrap_or_default();
    format!("{} {second}", name(argv)).trim_end().to_string()
}

/// A bulk-string reply.
pub fn bulk(text: &str) -> Act {
    Act::Reply(format!("${}\r\n{text}\r\n", text.len()).into_bytes())
}

/// One `CLUSTER SHARDS` shard owning every slot, with a single primary at `port`;
/// `id`, `ip` and `health` are taken as given (hostile tests put escapes in them).
pub fn shards_reply(id: &str, ip: &str, port: u64, health: &str) -> Act {
    let b = |t: &str| format!("${}\r\n{t}\r\n", t.len());
    let node = format!(
        "*10\r\n{}{}{}:{port}\r\n{}{}{}{}{}{}",
        b("id"),
        b(id),
        b("port"),
        b("ip"),
        b(ip),
        b("role"),
        b("master"),
        b("health"),
        b(health)
    );
    Act::Reply(format!("*1\r\n*4\r\n{}*2\r\n:0\r\n:16383\r\n{}*1\r\n{node}", b("slots"), b("nodes")).into_bytes())
}

type Script = dyn Fn(&[Vec<u8>]) -> Act + Send + Sync;

/// A fake server on a free loopback port.
pub struct FakeServer {
    pub port: u16,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Serves `script`: called for every command on every connection.
    pub fn start(script: impl Fn(&[Vec<u8>]) -> Act + Send + Sync + 'static) -> FakeServer {
        FakeServer::with_port(|_| script)
    }

    /// Serves the script `make` builds once it knows the server's own port (for replies
    /// that name it: CLUSTER SHARDS, MOVED to itself).
    pub fn with_port<S: Fn(&[Vec<u8>]) -> Act + Send + Sync + 'static>(make: impl FnOnce(u16) -> S) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let script = make(port);
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (stop_flag, count) = (stop.clone(), connections.clone());
        let handle = thread::spawn(move || {
            for socket in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(socket) = socket else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                thread::spawn(move || serve(socket, &*script));
            }
        });
        FakeServer { port, connections, stop, handle: Some(handle) }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// The next whole command in `buf`, taken out of it: a RESP array, or an inline
/// command (`SYNC\r\n`, as a replica sends it).
fn next_command(buf: &mut Vec<u8>) -> Result<Option<Vec<Vec<u8>>>, ()> {
    if buf.first().is_some_and(|&b| b != b'*') {
        let Some(end) = buf.iter().position(|&b| b == b'\n') else { return Ok(None) };
        let line: Vec<u8> = buf.drain(..=end).collect();
        let words = line.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).map(<[u8]>::to_vec).collect();
        return Ok(Some(words));
    }
    match parse(buf) {
        Ok(Some((Frame::Array(items), used))) => {
            buf.drain(..used);
            Ok(Some(items.into_iter().filter_map(|i| i.as_bytes().map(<[u8]>::to_vec)).collect()))
        }
        Ok(Some(_)) | Err(_) => Err(()),
        Ok(None) => Ok(None),
    }
}

fn serve(mut socket: TcpStream, script: &Script) {
    let _ = socket.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match next_command(&mut buf) {
            Ok(Some(argv)) => match script(&argv) {
                Act::Reply(bytes) => {
                    if socket.write_all(&bytes).is_err() {
                        return;
                    }
                }
                Act::ReplyAndClose(bytes) => {
                    let _ = socket.write_all(&bytes);
                    return;
                }
                Act::Close => return,
            },
            Ok(None) => match socket.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            Err(_) => return,
        }
    }
}
