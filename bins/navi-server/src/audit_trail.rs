//! The audit trail of a request: the audit keys and the client's address, which every handler
//! that changes org configuration passes to the repository (see `navi_tenancy::audit`).
//!
//! The client's address is the peer's, unless the peer is one of `NAVI_TRUSTED_PROXIES`: then
//! `X-Forwarded-For` is read from the right, skipping trusted proxies, and the first address that
//! is not one is the client. A header from any other peer is ignored, so a client cannot choose
//! the address its events record.

use std::future::{ready, Ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;
use navi_tenancy::audit::AuditTrail;

use crate::app::AppState;
use crate::error::ApiError;

/// The request's [`AuditTrail`].
#[derive(Debug)]
pub struct Trail(pub AuditTrail);

impl FromRequest for Trail {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            tracing::error!("AppState is not registered");
            return ready(Err(ApiError::internal().into()));
        };
        let ip = request_client_ip(req, &state.config.trusted_proxies);
        ready(Ok(Trail(AuditTrail::new(state.audit_keys.clone(), ip))))
    }
}

/// The client's address of `req` (see [`client_ip`]).
pub fn request_client_ip(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    client_ip(
        req.peer_addr().map(|peer| peer.ip()),
        &forwarded,
        trusted_proxies,
    )
}

/// The client's address: `peer`, or, when `peer` is a trusted proxy, the rightmost address of
/// `forwarded_for` (the `X-Forwarded-For` values, in order) that is not a trusted proxy. An entry
/// that is not an address ends the walk at the last address reached.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let mut client = peer?.to_canonical();
    if !trusted(&client) {
        return Some(client);
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .rev();
    for hop in hops {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`203.0.113.7:443`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(Some(ip("198.51.100.9")), &["203.0.113.7"], &trusted),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &["203.0.113.7"], &[]),
            Some(ip("10.0.0.2"))
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_first_untrusted_hop_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "192.168.0.1/32"]);
        // The client forged the leftmost entry; the proxies appended the real one.
        let forwarded = ["6.6.6.6, 203.0.113.7", "192.168.0.1"];
        assert_eq!(
            client_ip(Some(ip("10.1.2.3")), &forwarded, &trusted),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn ports_mapped_addresses_and_garbage_are_handled() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &["[2001:db8::1]:443"], &trusted),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            client_ip(Some(ip("::ffff:10.0.0.1")), &["203.0.113.7:80"], &trusted),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.1")),
                &["203.0.113.7, nonsense, 10.0.0.5"],
                &trusted
            ),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &[], &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(None, &["203.0.113.7"], &trusted), None);
    }
}
