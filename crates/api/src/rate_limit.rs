//! Per-key rate limiting: one token bucket per API key, checked right after
//! the key is authenticated (so a caller who does not hold a key cannot
//! spend another key's budget by naming its id).
//!
//! A bucket holds at most `burst` requests and refills at `per_s` requests
//! a second. Tokens are counted in thousandths of a request, in integers, so
//! frequent small refills add up instead of rounding to nothing. An empty bucket answers
//! `429 rate_limited` with `Retry-After` (whole seconds, rounded up), before
//! the request reaches idempotency or any handler: a refused request writes
//! nothing.
//!
//! The buckets live in this process; several servers behind a balancer each
//! allow the full rate (put a shared limiter in front when that matters).
//! Their number is bounded by the keys that authenticated.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Thousandths of a request: one request costs this much.
const MILLI: u64 = 1_000;

/// Per-key limits; `per_s == 0` turns limiting off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second per key.
    pub per_s: u32,
    /// Requests a key may send at once after being idle.
    pub burst: u32,
}

impl RateLimit {
    pub const OFF: RateLimit = RateLimit { per_s: 0, burst: 0 };

    pub fn is_off(&self) -> bool {
        self.per_s == 0
    }
}

#[derive(Debug)]
struct Bucket {
    tokens_milli: u64,
    refilled_at: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter { limit, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `key_id`'s bucket at `now`: `Ok`, or
    /// `Err(retry_after_ms)` when the bucket is empty.
    pub fn take(&self, key_id: &str, now: Instant) -> Result<(), u64> {
        if self.limit.is_off() {
            return Ok(());
        }
        let per_s = u64::from(self.limit.per_s);
        let capacity_milli = u64::from(self.limit.burst.max(1)) * MILLI;
        // A poisoned lock only means another request panicked mid-update;
        // the counts are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket =
            buckets.entry(key_id.to_owned()).or_insert(Bucket { tokens_milli: capacity_milli, refilled_at: now });
        let elapsed_us =
            u64::try_from(now.saturating_duration_since(bucket.refilled_at).as_micros()).unwrap_or(u64::MAX);
        // per_s requests a second = per_s thousandths a millisecond.
        let refill_milli = elapsed_us.saturating_mul(per_s) / 1_000;
        if refill_milli > 0 {
            bucket.tokens_milli = bucket.tokens_milli.saturating_add(refill_milli).min(capacity_milli);
            bucket.refilled_at = now;
        }
        if bucket.tokens_milli >= MILLI {
            bucket.tokens_milli -= MILLI;
            Ok(())
        } else {
            let missing_milli = MILLI - bucket.tokens_milli;
            Err(missing_milli.div_ceil(per_s).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let limiter = RateLimiter::new(RateLimit { per_s: 10, burst: 3 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("k", t0), Ok(()));
        }
        // Empty: one request refills in 100 ms.
        assert_eq!(limiter.take("k", t0), Err(100));
        assert_eq!(limiter.take("k", t0 + Duration::from_millis(40)), Err(60));
        assert_eq!(limiter.take("k", t0 + Duration::from_millis(100)), Ok(()));
        assert!(limiter.take("k", t0 + Duration::from_millis(100)).is_err());
        // Another key has its own bucket.
        assert_eq!(limiter.take("other", t0), Ok(()));
        // Idle for long: back to the burst, never more.
        let later = t0 + Duration::from_secs(3_600);
        for _ in 0..3 {
            assert_eq!(limiter.take("k", later), Ok(()));
        }
        assert!(limiter.take("k", later).is_err());
    }

    #[test]
    fn fractions_of_a_request_are_not_lost() {
        // 3 a second, each 111 ms step refills 0.333 of a request: over 30
        // steps (3.33 s) that is 9.99, so 9 requests, not 0 (as whole-request
        // refills per step would give).
        let limiter = RateLimiter::new(RateLimit { per_s: 3, burst: 10 });
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.take("k", t0), Ok(()));
        }
        let mut granted = 0;
        for step in 1..=30u64 {
            if limiter.take("k", t0 + Duration::from_millis(111 * step)).is_ok() {
                granted += 1;
            }
        }
        assert_eq!(granted, 9, "3.33 s at 3/s once the burst is spent");
    }

    #[test]
    fn off_never_refuses() {
        let limiter = RateLimiter::new(RateLimit::OFF);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| limiter.take("k", t0).is_ok()));
    }
}
