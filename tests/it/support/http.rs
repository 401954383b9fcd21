//! An HTTP answer as the tests read it, and the one check of the API's
//! problem documents (RFC 9457) every test uses.

use reqwest::StatusCode;
use serde_json::Value;

/// An answer: status, headers, the parsed JSON body (`Null` when the body
/// is not JSON) and the raw text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The problem's `code` (empty when there is none).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts a 2xx answer; its body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "expected success, got {}: {}", self.status, self.text);
        &self.body
    }

    /// Asserts an answer with this status; its body.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        &self.body
    }

    /// Asserts a whole problem+json answer with this status and code: the
    /// media type, `code`, `status`, the `type` URN of the code, and a
    /// `title` and `detail` (the contract of every refusal).
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        let ct = self.content_type();
        assert!(ct.starts_with("application/problem+json"), "content-type {ct:?} of {}", self.text);
        assert_eq!(self.code(), code, "code; body: {}", self.text);
        assert_eq!(self.body["status"], status, "status member; body: {}", self.text);
        assert_eq!(self.body["type"], format!("urn:offtake:problem:{code}"), "type; body: {}", self.text);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string(), "title, detail: {}", self.text);
    }
}

/// Reads a response whole into an [`Answer`].
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, body, text }
}

/// Writes raw bytes to a server and reads until it closes the connection
/// (send `Connection: close`). For requests a client library will not
/// make: chunked oversize bodies, bodies sent in two halves.
pub async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer (413) and close before reading everything.
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
