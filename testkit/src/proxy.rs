//! Hostile RPC endpoints in front of a real one: a proxy that drops requests, and a server that accepts
//! connections and never answers (a half-open connection), for the chain kit's and the daemons' tests.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the proxy does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering: the client sees a transport error.
    Drop,
    /// Forward it.
    Forward,
}

/// A rule choosing the fault for each request from its running number and its JSON-RPC body.
pub type Rule = Arc<dyn Fn(u64, &str) -> Fault + Send + Sync>;

/// A proxy in front of `upstream`; dropped requests are counted.
#[derive(Clone)]
pub struct FaultyProxy {
    /// The proxy's URL.
    pub url: String,
    /// Requests dropped so far.
    pub dropped: Arc<AtomicU64>,
    /// While set, every request is dropped (an outage), whatever the rule says.
    pub outage: Arc<AtomicBool>,
}

impl std::fmt::Debug for FaultyProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyProxy").field("url", &self.url).finish_non_exhaustive()
    }
}

impl FaultyProxy {
    /// Starts a proxy on loopback applying `rule`.
    pub async fn start(upstream: String, rule: Rule) -> Result<Self, BoxError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let proxy = Self { url, dropped: Arc::default(), outage: Arc::default() };
        let counter = Arc::new(AtomicU64::new(0));
        let client = reqwest::Client::new();
        let (dropped, outage) = (proxy.dropped.clone(), proxy.outage.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (client, upstream, counter, dropped, outage, rule) =
                    (client.clone(), upstream.clone(), counter.clone(), dropped.clone(), outage.clone(), rule.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, client, upstream, counter, dropped, outage, rule).await;
                });
            }
        });
        Ok(proxy)
    }

    /// A proxy dropping every third request.
    pub async fn every_third_dropped(upstream: String) -> Result<Self, BoxError> {
        Self::start(upstream, Arc::new(|n, _| if n % 3 == 2 { Fault::Drop } else { Fault::Forward })).await
    }

    /// Requests dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn serve(
    mut socket: TcpStream,
    client: reqwest::Client,
    upstream: String,
    counter: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    outage: Arc<AtomicBool>,
    rule: Rule,
) -> Result<(), BoxError> {
    loop {
        let Some(body) = read_request(&mut socket).await? else { return Ok(()) };
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let text = String::from_utf8_lossy(&body);
        if outage.load(Ordering::Relaxed) || rule(n, &text) == Fault::Drop {
            dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let response = client.post(&upstream).header("content-type", "application/json").body(body).send().await?;
        let bytes = response.bytes().await?;
        let head =
            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", bytes.len());
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(&bytes).await?;
    }
}

/// Reads one HTTP request's body (by Content-Length); `None` when the client closed the connection.
async fn read_request(socket: &mut TcpStream) -> Result<Option<Vec<u8>>, BoxError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()))
                .unwrap_or(0);
            break (pos + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buf[head_end..head_end + length].to_vec()))
}

/// A server that accepts connections, reads them and never answers; returns its URL.
pub async fn silent_server() -> Result<String, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // kept open, never answered
        }
    });
    Ok(url)
}
