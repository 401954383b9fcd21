//! Webhook deliveries from the real `offtake serve`.

mod serve;
