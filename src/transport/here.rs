//! This machine, as an inventory might name it: is a host of the deployment the machine
//! git-osa runs on (reached directly), or another one (reached over ssh)?
//!
//! The inventory names a host (`infra1`) and gives the address Ansible reaches it at; this
//! machine is that host when its hostname is that name (in full or before the first dot,
//! as `hostname -s` says it), or when that address is one of its own. Nothing is looked up
//! in DNS: a name that only resolves to this machine is still taken for another.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What this machine answers to: its hostname and its addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Here {
    /// The kernel's hostname (`hostname`), possibly with a domain.
    pub hostname: String,
    /// Every address of every interface (`ip addr`).
    pub addresses: Vec<IpAddr>,
}

impl Here {
    /// This machine, as the kernel describes it now.
    pub fn detect() -> Here {
        Here {
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
            addresses: interface_addresses(),
        }
    }

    /// Whether the host named `name`, which ssh would reach at `address` (an IP address
    /// or a name), is this machine.
    pub fn is(&self, name: &str, address: &str) -> bool {
        let short = |n: &str| n.split('.').next().unwrap_or_default().to_ascii_lowercase();
        let is_me = |n: &str| {
            !n.is_empty()
                && (n.eq_ignore_ascii_case(&self.hostname)
                    || (!self.hostname.is_empty() && short(n) == short(&self.hostname)))
        };
        if is_me(name) || is_me(address) || address.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match address
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => ip.is_loopback() || self.addresses.contains(&ip),
            Err(_) => false,
        }
    }
}

/// The addresses of this machine's interfaces, from `getifaddrs(3)`.
fn interface_addresses() -> Vec<IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we own until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs made, not yet freed; each
        // `ifa_addr` that is not null points to a sockaddr of the family it says, whose
        // bytes are read as that family's struct.
        unsafe {
            let ifa = &*at;
            if !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        addresses.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        addresses.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            at = ifa.ifa_next;
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infra1() -> Here {
        Here {
            hostname: "infra1.dc1.example.com".into(),
            addresses: vec![
                "172.29.236.11".parse().unwrap(),
                "fd00::11".parse().unwrap(),
            ],
        }
    }

    #[test]
    fn this_machine_is_its_hostname_in_full_or_short() {
        let here = infra1();
        assert!(here.is("infra1", "10.0.0.99"));
        assert!(here.is("INFRA1.dc1.example.com", "10.0.0.99"));
        assert!(here.is("infra1.other", "10.0.0.99"));
        assert!(!here.is("infra2", "10.0.0.99"));
        assert!(!here.is("infra11", "10.0.0.99"));
    }

    #[test]
    fn this_machine_is_any_of_its_addresses_and_loopback() {
        let here = infra1();
        assert!(here.is("aio1", "172.29.236.11"));
        assert!(here.is("aio1", "fd00::11"));
        assert!(here.is("aio1", "[fd00::11]"));
        assert!(here.is("aio1", "127.0.0.1"));
        assert!(here.is("aio1", "::1"));
        assert!(here.is("aio1", "localhost"));
        assert!(
            here.is("aio1", "infra1"),
            "an address that is this hostname"
        );
        assert!(!here.is("aio1", "172.29.236.12"));
        assert!(!here.is("aio1", "aio1.example.com"), "no DNS lookup");
    }

    #[test]
    fn an_unknown_hostname_matches_nothing_by_name() {
        let here = Here::default();
        assert!(!here.is("", "10.0.0.1"));
        assert!(!here.is("infra1", "10.0.0.1"));
    }

    #[test]
    fn detect_finds_loopback_and_the_kernels_hostname() {
        let here = Here::detect();
        assert!(here.addresses.iter().any(IpAddr::is_loopback), "{here:?}");
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert!(here.is(hostname.trim(), "192.0.2.254"));
    }
}
