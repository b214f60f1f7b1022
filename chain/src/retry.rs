//! Retrying with exponential backoff and jitter, for callers whose retries need more than the transport's (a
//! whole sequence of reads, an answer that must be checked).

use std::time::Duration;

use rand::Rng;

/// `base · 2^attempt` (capped at 30 s) plus up to 50% jitter, so that restarted daemons do not retry in lockstep.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let delay = base.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(Duration::from_secs(30));
    let jitter = rand::thread_rng().gen_range(0..=delay.as_millis() as u64 / 2);
    delay + Duration::from_millis(jitter)
}

/// Runs `f` until it succeeds or `attempts` are spent, sleeping [`backoff`] in between; returns the last error.
pub async fn with_retries<T, E, F, Fut>(attempts: u32, base: Duration, mut f: F) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = attempts.max(1);
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt + 1 >= attempts => return Err(e),
            Err(e) => {
                tracing::debug!(attempt, error = %e, "RPC error, retrying");
                tokio::time::sleep(backoff(base, attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        assert!(backoff(base, 0) >= base && backoff(base, 0) <= base * 3 / 2);
        assert!(backoff(base, 3) >= base * 8);
        assert!(backoff(base, 40) <= Duration::from_secs(45));
    }

    #[tokio::test]
    async fn retries_until_success_and_returns_the_last_error() {
        let calls = AtomicU32::new(0);
        let value = with_retries(5, Duration::from_millis(1), || async {
            if calls.fetch_add(1, Ordering::Relaxed) < 2 { Err("down") } else { Ok(7) }
        })
        .await;
        assert_eq!(value, Ok(7));
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        let failed: Result<(), String> =
            with_retries(3, Duration::from_millis(1), || async { Err("still down".to_string()) }).await;
        assert_eq!(failed, Err("still down".to_string()));
    }
}
