//! JSON-over-HTTP POST with retries: the one place network errors are classified.
//!
//! Retried (up to `max_retries` times, waiting `base_delay · 2^attempt`, capped at
//! `max_delay`, or the server's `Retry-After` when it sends one): HTTP 408, 409, 429, 5xx,
//! timeouts, connection failures, and 2xx bodies that do not parse (proxies truncate).
//! Not retried: other 4xx, which mean the request itself is wrong (bad key, bad model).

use std::time::Duration;

/// How requests are sent.
#[derive(Debug, Clone)]
pub struct Transport {
    agent: ureq::Agent,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Longest backoff delay (also caps `Retry-After`).
    pub max_delay: Duration,
}

impl Transport {
    /// A transport with a whole-request `timeout`.
    pub fn new(timeout: Duration, max_retries: u32, base_delay: Duration, max_delay: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("skillsft/", env!("CARGO_PKG_VERSION")))
            .build();
        Transport { agent: ureq::Agent::new_with_config(config), max_retries, base_delay, max_delay }
    }

    /// Posts `body` and parses a 2xx reply with `parse`, retrying as the module doc says.
    /// The error string names the last status and a snippet of the body.
    pub fn post_json<T>(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &serde_json::Value,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, String> {
        let payload = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut attempt = 0u32;
        loop {
            let (retryable, message, retry_after) = match self.send_once(url, headers, &payload) {
                Ok((status, text, _)) if (200..300).contains(&status) => match parse(&text) {
                    Ok(v) => return Ok(v),
                    Err(e) => (true, format!("HTTP {status} with an unreadable body ({e}): {}", snippet(&text)), None),
                },
                Ok((status, text, retry_after)) => {
                    let retryable = matches!(status, 408 | 409 | 429) || status >= 500;
                    (retryable, format!("HTTP {status}: {}", snippet(&text)), retry_after)
                }
                Err(e) => (true, e, None),
            };
            if !retryable || attempt >= self.max_retries {
                let tries = attempt + 1;
                return Err(format!("{message} (after {tries} attempt{})", if tries == 1 { "" } else { "s" }));
            }
            let backoff = self.base_delay.saturating_mul(1u32 << attempt.min(16));
            let wait = retry_after.unwrap_or(backoff).min(self.max_delay);
            tracing::warn!(url, attempt, ?wait, "retrying: {message}");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One attempt: status, body text and `Retry-After`, or a transport error in words.
    fn send_once(
        &self,
        url: &str,
        headers: &[(String, String)],
        payload: &[u8],
    ) -> Result<(u16, String, Option<Duration>), String> {
        let mut req = self.agent.post(url).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.send(payload).map_err(|e| match e {
            ureq::Error::Timeout(t) => format!("timed out ({t})"),
            other => format!("transport error: {other}"),
        })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = resp.body_mut().read_to_string().map_err(|e| match e {
            ureq::Error::Timeout(t) => format!("timed out reading the body ({t})"),
            other => format!("reading the body: {other}"),
        })?;
        Ok((status, text, retry_after))
    }
}

impl Default for Transport {
    /// 10-minute request timeout (long reasoning replies), 6 retries from 2 s up to 2 min.
    fn default() -> Self {
        Transport::new(Duration::from_secs(600), 6, Duration::from_secs(2), Duration::from_secs(120))
    }
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 300 { format!("{}…", t.chars().take(300).collect::<String>()) } else { t.to_string() }
}
