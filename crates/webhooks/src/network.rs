//! Which addresses a webhook may reach. An endpoint URL is chosen by a
//! party, and the server posts to it from inside the operator's network:
//! without a rule, a party could make the server call internal services
//! (server-side request forgery). By default deliveries reach public
//! addresses only, checked when an endpoint is registered (IP literals,
//! `localhost`) and again on every delivery, after DNS resolution (so a
//! name that later resolves to an internal address is refused too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::WebhookError;

/// The addresses deliveries may reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reach {
    /// Public addresses only (the default).
    #[default]
    Public,
    /// Any address, private and loopback included: for a server whose
    /// receivers live on its own network, and for tests.
    Any,
}

impl Reach {
    pub fn allows(self, ip: IpAddr) -> bool {
        self == Reach::Any || is_public(ip)
    }

    /// Refuses a URL whose host is an address or name this reach excludes
    /// on its face (`localhost`, a private IP literal). Names are checked
    /// again, resolved, when delivering.
    pub fn check_host(self, url: &reqwest::Url) -> Result<(), WebhookError> {
        if self == Reach::Any {
            return Ok(());
        }
        let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let refused = match host.parse::<IpAddr>() {
            Ok(ip) => !is_public(ip),
            Err(_) => {
                let d = host.trim_end_matches('.').to_ascii_lowercase();
                d.is_empty() || d == "localhost" || d.ends_with(".localhost")
            }
        };
        if refused {
            return Err(WebhookError::Invalid {
                field: "url",
                reason: "must reach a public address (private, loopback and link-local addresses are refused)".into(),
            });
        }
        Ok(())
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast or
/// documentation space, in IPv4 or IPv6 (IPv4-mapped addresses count as
/// their IPv4 address).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || shared
        || a == 0)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local || documentation)
}

/// A DNS resolver for deliveries that drops the addresses `reach` excludes;
/// a name left with none fails to resolve, so nothing is sent.
#[derive(Clone, Copy, Debug)]
pub struct FilteringResolver(pub Reach);

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let reach = self.0;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| reach.allows(a.ip())).collect();
            if allowed.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> =
                    format!("{} resolves to no address webhooks may reach", name.as_str()).into();
                return Err(e);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn registration_refuses_internal_hosts_unless_any() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://api.localhost/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/hook",
        ] {
            let u = reqwest::Url::parse(url).unwrap();
            assert!(Reach::Public.check_host(&u).is_err(), "{url}");
            assert!(Reach::Any.check_host(&u).is_ok(), "{url}");
        }
        let public = reqwest::Url::parse("https://loans.example.com/offtake").unwrap();
        assert!(Reach::Public.check_host(&public).is_ok());
    }
}
