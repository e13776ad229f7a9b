//! Which IP addresses the poller may connect to.
//!
//! Subscriptions come from chat users, so without this policy anyone in a room could make the
//! daemon probe its own host or the operator's internal network. Ranges follow the IANA special
//! purpose registries; anything not clearly global unicast is refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is; everything but `Public` is refused by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    Public,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8` other than `0.0.0.0`.
    ThisNetwork,
    Loopback,
    /// RFC 1918.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedCgnat,
    LinkLocal,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    /// `fc00::/7`.
    UniqueLocal,
    /// Protocol assignments, future-use and unallocated space.
    Reserved,
    /// A NAT64 or 6to4 address whose embedded IPv4 address is not public.
    EmbedsNonPublicIpv4,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Public => "a public address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::ThisNetwork => "a \"this network\" address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::SharedCgnat => "a carrier-grade NAT address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::UniqueLocal => "a unique local address",
            AddressClass::Reserved => "a reserved address",
            AddressClass::EmbedsNonPublicIpv4 => {
                "an IPv6 address embedding a non-public IPv4 address"
            }
        })
    }
}

pub fn is_public(ip: IpAddr) -> bool {
    classify(ip) == AddressClass::Public
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    let net = Ipv6Addr::new(
        net[0], net[1], net[2], net[3], net[4], net[5], net[6], net[7],
    );
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

const V4_RANGES: &[([u8; 4], u32, AddressClass)] = &[
    ([0, 0, 0, 0], 32, AddressClass::Unspecified),
    ([0, 0, 0, 0], 8, AddressClass::ThisNetwork),
    ([10, 0, 0, 0], 8, AddressClass::Private),
    ([100, 64, 0, 0], 10, AddressClass::SharedCgnat),
    ([127, 0, 0, 0], 8, AddressClass::Loopback),
    ([169, 254, 0, 0], 16, AddressClass::LinkLocal),
    ([172, 16, 0, 0], 12, AddressClass::Private),
    ([192, 0, 0, 0], 24, AddressClass::Reserved),
    ([192, 0, 2, 0], 24, AddressClass::Documentation),
    ([192, 88, 99, 0], 24, AddressClass::Reserved),
    ([192, 168, 0, 0], 16, AddressClass::Private),
    ([198, 18, 0, 0], 15, AddressClass::Benchmarking),
    ([198, 51, 100, 0], 24, AddressClass::Documentation),
    ([203, 0, 113, 0], 24, AddressClass::Documentation),
    ([224, 0, 0, 0], 4, AddressClass::Multicast),
    ([255, 255, 255, 255], 32, AddressClass::Broadcast),
    ([240, 0, 0, 0], 4, AddressClass::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    V4_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map_or(AddressClass::Public, |(_, _, class)| *class)
}

/// Checked in order, so the more specific entries come first.
const V6_RANGES: &[([u16; 8], u32, AddressClass)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, AddressClass::Unspecified),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, AddressClass::Loopback),
    ([0x0100, 0, 0, 0, 0, 0, 0, 0], 64, AddressClass::Reserved),
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, AddressClass::Reserved),
    (
        [0x2001, 0x2, 0, 0, 0, 0, 0, 0],
        48,
        AddressClass::Benchmarking,
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        AddressClass::Documentation,
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        AddressClass::Documentation,
    ),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, AddressClass::UniqueLocal),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, AddressClass::LinkLocal),
    // Deprecated site-local: still routed privately on some networks.
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, AddressClass::Private),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, AddressClass::Multicast),
];

/// Globally reachable services inside the otherwise reserved `2001::/23`.
const V6_GLOBAL_IN_2001_23: &[([u16; 8], u32)] = &[
    ([0x2001, 0x1, 0, 0, 0, 0, 0, 0x1], 128),
    ([0x2001, 0x1, 0, 0, 0, 0, 0, 0x2], 128),
    ([0x2001, 0x3, 0, 0, 0, 0, 0, 0], 32),
    ([0x2001, 0x4, 0x112, 0, 0, 0, 0, 0], 48),
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),
    ([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28),
];

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    // The kernel connects to the embedded IPv4 address, so that address is what counts.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if let Some((_, _, class)) = V6_RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, *net, *prefix))
    {
        return *class;
    }
    // NAT64 and 6to4 gateways forward to the embedded address, which may be internal.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return embedded(Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32));
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return embedded(Ipv4Addr::from(
            ((u128::from(ip) >> 80) & 0xffff_ffff) as u32,
        ));
    }
    if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) {
        let global = V6_GLOBAL_IN_2001_23
            .iter()
            .any(|(net, prefix)| in_v6(ip, *net, *prefix));
        return if global {
            AddressClass::Public
        } else {
            AddressClass::Reserved
        };
    }
    // Only 2000::/3 is allocated for global unicast; IPv4-compatible `::a.b.c.d` and every
    // other unallocated block fall through to here.
    if in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        AddressClass::Public
    } else {
        AddressClass::Reserved
    }
}

fn embedded(v4: Ipv4Addr) -> AddressClass {
    if classify_v4(v4) == AddressClass::Public {
        AddressClass::Public
    } else {
        AddressClass::EmbedsNonPublicIpv4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass as C;

    fn class_of(s: &str) -> AddressClass {
        match s.parse::<IpAddr>() {
            Ok(ip) => classify(ip),
            Err(e) => panic!("bad test address {s}: {e}"),
        }
    }

    #[test]
    fn classifies_ipv4() {
        let cases = [
            ("0.0.0.0", C::Unspecified),
            ("0.1.2.3", C::ThisNetwork),
            ("0.255.255.255", C::ThisNetwork),
            ("10.0.0.1", C::Private),
            ("10.255.255.255", C::Private),
            ("100.63.255.255", C::Public),
            ("100.64.0.1", C::SharedCgnat),
            ("100.127.255.255", C::SharedCgnat),
            ("100.128.0.0", C::Public),
            ("127.0.0.1", C::Loopback),
            ("127.255.0.9", C::Loopback),
            ("169.254.169.254", C::LinkLocal),
            ("172.15.255.255", C::Public),
            ("172.16.0.1", C::Private),
            ("172.31.255.255", C::Private),
            ("172.32.0.0", C::Public),
            ("192.0.0.8", C::Reserved),
            ("192.0.2.1", C::Documentation),
            ("192.88.99.1", C::Reserved),
            ("192.168.1.1", C::Private),
            ("198.17.255.255", C::Public),
            ("198.18.0.1", C::Benchmarking),
            ("198.19.255.255", C::Benchmarking),
            ("198.20.0.0", C::Public),
            ("198.51.100.7", C::Documentation),
            ("203.0.113.9", C::Documentation),
            ("224.0.0.1", C::Multicast),
            ("239.255.255.255", C::Multicast),
            ("240.0.0.1", C::Reserved),
            ("255.255.255.254", C::Reserved),
            ("255.255.255.255", C::Broadcast),
            ("1.1.1.1", C::Public),
            ("8.8.8.8", C::Public),
            ("93.184.216.34", C::Public),
            ("223.255.255.255", C::Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(class_of(ip), expected, "{ip}");
        }
    }

    #[test]
    fn classifies_ipv6() {
        let cases = [
            ("::", C::Unspecified),
            ("::1", C::Loopback),
            ("::2", C::Reserved),
            ("::7f00:1", C::Reserved),
            ("::ffff:127.0.0.1", C::Loopback),
            ("::ffff:10.1.2.3", C::Private),
            ("::ffff:169.254.1.1", C::LinkLocal),
            ("::ffff:8.8.8.8", C::Public),
            ("64:ff9b::7f00:1", C::EmbedsNonPublicIpv4),
            ("64:ff9b::a00:1", C::EmbedsNonPublicIpv4),
            ("64:ff9b::808:808", C::Public),
            ("64:ff9b:1::1", C::Reserved),
            ("100::1", C::Reserved),
            ("2001::1", C::Reserved),
            ("2001:2::1", C::Benchmarking),
            ("2001:4:112::1", C::Public),
            ("2001:db8::1", C::Documentation),
            ("2002:7f00:1::1", C::EmbedsNonPublicIpv4),
            ("2002:c0a8:101::1", C::EmbedsNonPublicIpv4),
            ("2002:808:808::1", C::Public),
            ("3fff::1", C::Documentation),
            ("fc00::1", C::UniqueLocal),
            ("fd12:3456::1", C::UniqueLocal),
            ("fe80::1", C::LinkLocal),
            ("febf::1", C::LinkLocal),
            ("fec0::1", C::Private),
            ("ff02::1", C::Multicast),
            ("4000::1", C::Reserved),
            ("2606:4700:4700::1111", C::Public),
            ("2a00:1450:4001::1", C::Public),
        ];
        for (ip, expected) in cases {
            assert_eq!(class_of(ip), expected, "{ip}");
        }
    }

    #[test]
    fn public_means_class_public() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("2606:4700:4700::1111", true),
            ("127.0.0.1", false),
            ("::ffff:192.168.0.1", false),
        ] {
            let Ok(addr) = ip.parse::<IpAddr>() else {
                panic!("bad test address {ip}");
            };
            assert_eq!(is_public(addr), public, "{ip}");
        }
    }

    #[test]
    fn display_is_a_short_phrase() {
        assert_eq!(C::Loopback.to_string(), "a loopback address");
        assert_eq!(C::Private.to_string(), "a private address");
        assert_eq!(C::UniqueLocal.to_string(), "a unique local address");
    }
}
