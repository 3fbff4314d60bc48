//! The proxy a client's own agent goes through: the one the caller gives, none, or the
//! environment's (`HTTPS_PROXY`, `NO_PROXY` and the rest, as curl reads them), chosen
//! once by [`ClientBuilder::build`](crate::blocking::ClientBuilder::build) for the
//! client's URLs (one agent serves them all, so they must agree).
//!
//! What is ureq's and what is done here. ureq 3.5 reads the environment itself
//! (`Proxy::try_from_env`, the default of every `Agent` config) and matches `NO_PROXY`
//! itself (`ProxyBuilder::no_proxy`, `Proxy::is_no_proxy`, which ureq also consults
//! per connection). From its source (ureq 3.5's `src/proxy.rs`):
//!
//! - ureq's: comparing a host name with a `NO_PROXY` name, case-insensitively, whole
//!   (`example.com`) or as a subdomain (`.example.com`); [`no_proxy_matches`] hands
//!   each name to that matcher as those two patterns and asks it.
//! - here, because `try_from_env` picks the first of `ALL_PROXY`, `all_proxy`,
//!   `HTTPS_PROXY`, `https_proxy`, `HTTP_PROXY`, `http_proxy` that parses, whatever the
//!   target's scheme: the choice by scheme, lower case first, `ALL_PROXY` last
//!   ([`ProxyEnv`]); and since it skips a value that does not parse, the error naming
//!   the variable without echoing its value ([`choose_proxy`]).
//! - here, because ureq's matcher lacks them: IP addresses compared as addresses and
//!   CIDR ranges (`10.0.0.0/8`, `fd00::/8`); loopback hosts never proxied from the
//!   environment; and reading the list as curl does where ureq reads it otherwise.
//!   ureq takes `example.com` as that host only and `.example.com` as its subdomains
//!   only (curl: both, for either spelling), a trailing `.` or `*` as a prefix pattern
//!   (curl: a fully qualified name), keeps spaces and ports in entries, and reads
//!   `NO_PROXY` before `no_proxy`.

use ureq::http;

#[cfg(doc)]
use crate::blocking::ClientBuilder;
use crate::blocking::config::is_loopback;
use crate::error::{ConfigKind, Error};

/// Where the proxy setting comes from.
#[derive(Clone)]
pub(crate) enum ProxySetting {
    /// The environment's, unless the host is loopback or `NO_PROXY` names it.
    FromEnv,
    /// None ([`ClientBuilder::no_proxy`]).
    None,
    /// This URL, for every host ([`ClientBuilder::proxy`]).
    Url(String),
}

/// The proxy variables of an environment, read once (see [`ClientBuilder::no_proxy`]
/// for how they are used).
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyEnv {
    vars: Vec<(&'static str, String)>,
}

impl ProxyEnv {
    const NAMES: [&'static str; 8] = [
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];

    /// The variables `lookup` gives; empty values count as unset.
    pub(crate) fn read(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let vars = Self::NAMES
            .iter()
            .filter_map(|&name| {
                let value = lookup(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_owned()))
            })
            .collect();
        Self { vars }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The variable naming the proxy for a target of `scheme` and its value.
    fn proxy_var(&self, scheme: &str) -> Option<(&'static str, &str)> {
        let names: [&'static str; 4] = if scheme.eq_ignore_ascii_case("https") {
            ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
        } else {
            ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        };
        names
            .into_iter()
            .find_map(|name| self.get(name).map(|value| (name, value)))
    }

    /// The `NO_PROXY` list, lower case first.
    fn no_proxy(&self) -> Option<&str> {
        self.get("no_proxy").or_else(|| self.get("NO_PROXY"))
    }
}

/// The proxy for requests to `root` (a URL the client calls): the caller's, none, or the
/// environment's unless the host is loopback or `NO_PROXY` names it. A variable that
/// would be used but does not parse is a configuration error (ureq alone would skip it
/// silently); its value is not echoed, as proxy URLs can carry credentials.
pub(crate) fn choose_proxy(
    setting: &ProxySetting,
    env: &ProxyEnv,
    root: &str,
) -> Result<Option<ureq::Proxy>, Error> {
    match setting {
        ProxySetting::None => Ok(None),
        ProxySetting::Url(url) => parse_proxy(url)
            .map(Some)
            .map_err(|e| Error::config(ConfigKind::Proxy, format!("invalid proxy URL: {e}"))),
        ProxySetting::FromEnv => {
            let uri: http::Uri = root.parse().map_err(|e| {
                Error::config(
                    ConfigKind::Url,
                    format!("base URL {root:?} does not parse ({e})"),
                )
            })?;
            let host = uri.host().unwrap_or("");
            let Some((name, value)) = env.proxy_var(uri.scheme_str().unwrap_or("https")) else {
                return Ok(None);
            };
            if is_loopback(host)
                || env
                    .no_proxy()
                    .is_some_and(|list| no_proxy_matches(list, host))
            {
                return Ok(None);
            }
            parse_proxy(value).map(Some).map_err(|e| {
                Error::config(
                    ConfigKind::Proxy,
                    format!("the proxy in {name} is not a valid proxy URL ({e})"),
                )
            })
        }
    }
}

/// A proxy as errors name it: `scheme://host:port`, never its credentials.
pub(crate) fn proxy_name(proxy: &ureq::Proxy) -> String {
    format!(
        "{}://{}:{}",
        proxy.protocol().to_string().to_ascii_lowercase(),
        proxy.host(),
        proxy.port()
    )
}

/// Whether a `NO_PROXY` list names `host`, as curl reads it: `*` names every host; an
/// entry names the host itself and its subdomains (`example.com`, `.example.com` and
/// `*.example.com` alike); an IP address names itself, an IP range (`10.0.0.0/8`) its
/// addresses; a port on an entry is ignored; names compare case-insensitively.
///
/// Host names are compared by ureq's matcher (see the module docs): this function
/// reads the list, ureq decides. IP addresses are compared here.
pub(crate) fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let ip = host.parse::<std::net::IpAddr>().ok();
    let mut names = ureq::Proxy::builder(ureq::ProxyProtocol::Http);
    let mut any_name = false;
    for entry in list.split(',').map(str::trim) {
        if entry == "*" {
            return true;
        }
        let entry = strip_port(entry);
        if let Some(ip) = ip {
            // An IP address matches exactly or by range, never by suffix.
            let hit = match entry.split_once('/') {
                Some((net, bits)) => in_range(ip, net, bits),
                None => entry.parse::<std::net::IpAddr>().is_ok_and(|e| e == ip),
            };
            if hit {
                return true;
            }
            continue;
        }
        let name = entry
            .strip_prefix("*.")
            .or_else(|| entry.strip_prefix('.'))
            .unwrap_or(entry)
            .trim_end_matches('.');
        if name.is_empty() {
            continue;
        }
        // ureq reads a leading `*` or `.`, or a trailing `*` or `.`, as a wildcard;
        // curl compares such a name whole, and so does this line. Any other name goes
        // to ureq as its exact-host pattern.
        if name.starts_with(['*', '.']) || name.ends_with(['*', '.']) {
            if host.eq_ignore_ascii_case(name) {
                return true;
            }
        } else {
            names = names.no_proxy(name);
        }
        // `.name`: ureq's subdomain pattern, read literally whatever `name` holds.
        names = names.no_proxy(&format!(".{name}"));
        any_name = true;
    }
    ip.is_none() && any_name && ureq_names_match(names, host)
}

/// Whether ureq's `NO_PROXY` matcher, holding the patterns `names` was given, names
/// `host`. The matcher is private to ureq and used through a [`ureq::Proxy`]; this one
/// only holds the patterns and is never connected to.
fn ureq_names_match(names: ureq::ProxyBuilder, host: &str) -> bool {
    // A host that is no URI authority has no name ureq could compare (and every host
    // here comes from a parsed URL).
    let Ok(uri) = http::Uri::builder()
        .scheme("http")
        .authority(host)
        .path_and_query("/")
        .build()
    else {
        return false;
    };
    names.build().is_ok_and(|matcher| matcher.is_no_proxy(&uri))
}

/// A `NO_PROXY` entry without its port: `[::1]:80` is `::1`, `host:80` is `host`, and
/// a bare IPv6 address (several colons) is kept whole.
fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(addr, _)| addr);
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => entry,
    }
}

/// Whether `ip` is in the range `net/bits` (both of one family).
fn in_range(ip: std::net::IpAddr, net: &str, bits: &str) -> bool {
    use std::net::IpAddr;
    let Ok(bits) = bits.parse::<u32>() else {
        return false;
    };
    let (ip, net, width) = match (ip, net.parse::<IpAddr>()) {
        (IpAddr::V4(ip), Ok(IpAddr::V4(net))) => {
            (u128::from(u32::from(ip)), u128::from(u32::from(net)), 32)
        }
        (IpAddr::V6(ip), Ok(IpAddr::V6(net))) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    ip.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
}

/// ureq's proxy parser, plus what it lets through and the client cannot use: a port
/// that is not a valid `u16`, and a SOCKS proxy (the client's transport speaks HTTP
/// CONNECT only; failing at build beats failing, and retrying, every request).
fn parse_proxy(url: &str) -> Result<ureq::Proxy, String> {
    let proxy = ureq::Proxy::new(url).map_err(|e| e.to_string())?;
    if !matches!(
        proxy.protocol(),
        ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
    ) {
        return Err("SOCKS proxies are not supported; use an http:// or https:// proxy".into());
    }
    let authority = proxy.uri().authority().ok_or("no host")?.as_str();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, rest)) => rest.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err("the port is not a number from 0 to 65535".into());
    }
    if proxy.host().is_empty() {
        return Err("no host".into());
    }
    Ok(proxy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::read(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    /// The proxy the environment gives requests to `root`, by name.
    fn env_proxy(vars: &[(&str, &str)], root: &str) -> Option<String> {
        choose_proxy(&ProxySetting::FromEnv, &env(vars), root)
            .unwrap()
            .map(|p| proxy_name(&p))
    }

    #[test]
    fn the_proxy_variable_follows_the_scheme_lower_case_first() {
        let all = [
            ("https_proxy", "http://lower-https:1"),
            ("HTTPS_PROXY", "http://upper-https:2"),
            ("http_proxy", "http://lower-http:3"),
            ("HTTP_PROXY", "http://upper-http:4"),
            ("all_proxy", "http://lower-all:5"),
            ("ALL_PROXY", "http://upper-all:6"),
        ];
        let https = "https://dashscope.aliyuncs.com";
        let http = "http://10.0.0.1:8080";
        assert_eq!(
            env_proxy(&all, https).as_deref(),
            Some("http://lower-https:1")
        );
        assert_eq!(
            env_proxy(&all, http).as_deref(),
            Some("http://lower-http:3")
        );
        assert_eq!(
            env_proxy(&all[1..], https).as_deref(),
            Some("http://upper-https:2")
        );
        assert_eq!(
            env_proxy(&all[3..], http).as_deref(),
            Some("http://upper-http:4")
        );
        // An https target never takes HTTP_PROXY, nor an http one HTTPS_PROXY.
        assert_eq!(env_proxy(&all[2..4], https), None);
        assert_eq!(env_proxy(&all[..2], http), None);
        assert_eq!(
            env_proxy(&all[4..], https).as_deref(),
            Some("http://lower-all:5")
        );
        assert_eq!(
            env_proxy(&all[5..], http).as_deref(),
            Some("http://upper-all:6")
        );
        // Empty counts as unset.
        assert_eq!(
            env_proxy(&[("https_proxy", " "), ("ALL_PROXY", "http://p:7")], https).as_deref(),
            Some("http://p:7")
        );
        assert_eq!(env_proxy(&[], https), None);
    }

    #[test]
    fn loopback_hosts_never_take_the_environment_proxy() {
        let vars = [
            ("ALL_PROXY", "http://proxy.example:3128"),
            ("HTTP_PROXY", "http://proxy.example:3128"),
        ];
        for root in [
            "http://127.0.0.1:9",
            "http://127.1.2.3:9",
            "http://[::1]:9",
            "http://localhost:9",
            "http://LOCALHOST",
        ] {
            assert_eq!(env_proxy(&vars, root), None, "{root}");
        }
        assert_eq!(
            env_proxy(&vars, "http://128.0.0.1:9").as_deref(),
            Some("http://proxy.example:3128")
        );
        // A proxy the caller sets is used even for loopback.
        let explicit = ProxySetting::Url("http://127.0.0.1:1".into());
        let proxy = choose_proxy(&explicit, &env(&[]), "http://127.0.0.1:9").unwrap();
        assert_eq!(
            proxy.map(|p| proxy_name(&p)).as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert!(
            choose_proxy(&ProxySetting::None, &env(&vars), "https://h.example")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_lists() {
        let host = "dashscope.aliyuncs.com";
        for list in [
            "*",
            "aliyuncs.com",
            ".aliyuncs.com",
            "*.aliyuncs.com",
            "dashscope.aliyuncs.com",
            "DashScope.AliyunCS.com",
            "aliyuncs.com.",
            "other.example, aliyuncs.com",
            " other.example ,aliyuncs.com:443",
            "dashscope.aliyuncs.com:8080",
        ] {
            assert!(no_proxy_matches(list, host), "{list:?}");
        }
        for list in [
            "",
            ",",
            ".",
            "*.",
            "scope.aliyuncs.com",
            "yuncs.com",
            "other.example",
            "dashscope.aliyuncs.com.cn",
            "10.0.0.1",
        ] {
            assert!(!no_proxy_matches(list, host), "{list:?}");
        }
        // IP addresses match exactly or by range, never by suffix.
        assert!(no_proxy_matches("10.0.0.1", "10.0.0.1"));
        assert!(no_proxy_matches("10.0.0.1:8080", "10.0.0.1"));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3"));
        assert!(no_proxy_matches("0.0.0.0/0", "10.1.2.3"));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3"));
        assert!(!no_proxy_matches("0.0.1", "10.0.0.1"));
        assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
        assert!(no_proxy_matches("fd00::1", "[fd00::1]"));
        assert!(no_proxy_matches("[fd00::1]:443", "[fd00::1]"));
        assert!(no_proxy_matches("fd00::/8", "[fd12::1]"));
        assert!(!no_proxy_matches("fd00::/8", "10.0.0.1"));

        let vars = [
            ("HTTPS_PROXY", "http://proxy.example:3128"),
            ("NO_PROXY", ".aliyuncs.com"),
        ];
        assert_eq!(env_proxy(&vars, "https://dashscope.aliyuncs.com"), None);
        assert!(env_proxy(&vars, "https://h.example").is_some());
        // no_proxy wins over NO_PROXY, as the proxy variables' lower case does.
        let both = [
            ("HTTPS_PROXY", "http://proxy.example:3128"),
            ("no_proxy", "h.example"),
            ("NO_PROXY", ".aliyuncs.com"),
        ];
        assert!(env_proxy(&both, "https://dashscope.aliyuncs.com").is_some());
        assert_eq!(env_proxy(&both, "https://h.example"), None);
    }

    #[test]
    fn bad_environment_proxies_are_config_errors_only_when_used() {
        let vars = [("HTTPS_PROXY", "http://user:pw@proxy.example:99999")];
        let err =
            choose_proxy(&ProxySetting::FromEnv, &env(&vars), "https://h.example").unwrap_err();
        assert_eq!(err.config_kind(), Some(ConfigKind::Proxy), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("HTTPS_PROXY"), "{message}");
        assert!(!message.contains("pw"), "{message}");
        // Not used: a loopback target, or NO_PROXY.
        assert!(choose_proxy(&ProxySetting::FromEnv, &env(&vars), "http://127.0.0.1:9").is_ok());
        let skipped = [vars[0], ("NO_PROXY", "*")];
        assert!(choose_proxy(&ProxySetting::FromEnv, &env(&skipped), "https://h.example").is_ok());
        // A SOCKS proxy is refused at build, named by its variable, not used directly.
        let socks = [("ALL_PROXY", "socks5://user:pw@proxy.example:1080")];
        let err =
            choose_proxy(&ProxySetting::FromEnv, &env(&socks), "https://h.example").unwrap_err();
        assert_eq!(err.config_kind(), Some(ConfigKind::Proxy), "{err:?}");
        assert!(err.to_string().contains("ALL_PROXY") && err.to_string().contains("SOCKS"));
    }

    /// The matcher before ureq's did the names (every comparison by hand), kept as the
    /// reference the new one must agree with.
    fn hand_matcher(list: &str, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.');
        let ip = host.parse::<std::net::IpAddr>().ok();
        list.split(',').map(str::trim).any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = strip_port(entry);
            if let Some(ip) = ip {
                return match entry.split_once('/') {
                    Some((net, bits)) => in_range(ip, net, bits),
                    None => entry.parse::<std::net::IpAddr>().is_ok_and(|e| e == ip),
                };
            }
            let entry = entry
                .strip_prefix("*.")
                .or_else(|| entry.strip_prefix('.'))
                .unwrap_or(entry)
                .trim_end_matches('.');
            if entry.is_empty() {
                return false;
            }
            match host.len().checked_sub(entry.len()) {
                Some(0) => host.eq_ignore_ascii_case(entry),
                Some(cut) => {
                    host.get(cut..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(entry))
                        && host.get(..cut).is_some_and(|head| head.ends_with('.'))
                }
                None => false,
            }
        })
    }

    #[test]
    fn names_ureq_reads_as_wildcards_are_compared_whole() {
        // ureq alone: `foo*` a prefix, `*oo.example` and `..example` suffixes,
        // `example.` a prefix; curl (and this client): names compared whole.
        for (list, host) in [
            ("foo*", "foobar.example"),
            ("*oo.example", "foo.example"),
            ("..example", "a.example"),
            ("example.", "example.com"),
            ("example.com", "EXAMPLE.com."),
        ] {
            assert_eq!(
                no_proxy_matches(list, host),
                hand_matcher(list, host),
                "{list:?} {host:?}"
            );
        }
        assert!(!no_proxy_matches("foo*", "foobar.example"));
        assert!(!no_proxy_matches("example.", "example.com"));
        assert!(no_proxy_matches("example.", "example"));
        assert!(no_proxy_matches("example.com", "EXAMPLE.com."));
    }

    proptest::proptest! {
        /// Lists and hosts from a small alphabet (names, dots, stars, ports, spaces,
        /// IP-ish digits and ranges): ureq's matcher plus the hand-kept rest decide as
        /// the hand matcher did, for every host a base URL can have.
        #[test]
        fn matching_agrees_with_the_hand_matcher(
            list in "[aAb1.*:/, ]{0,14}",
            host in "[abB1.]{1,8}|1\\.[01]\\.1\\.[0-9]|\\[(::1|fd00::[0-9])\\]",
        ) {
            let uri = format!("http://{host}/").parse::<http::Uri>();
            proptest::prop_assume!(uri.is_ok_and(|u| u.host() == Some(host.as_str())));
            proptest::prop_assert_eq!(
                no_proxy_matches(&list, &host),
                hand_matcher(&list, &host),
                "{:?} {:?}", list, host
            );
        }
    }

    #[test]
    fn proxy_names_carry_no_credentials() {
        let proxy = parse_proxy("http://user:secret@proxy.example:3128").unwrap();
        assert_eq!(proxy_name(&proxy), "http://proxy.example:3128");
        let proxy = parse_proxy("https://user:secret@[::1]:1080").unwrap();
        assert_eq!(proxy_name(&proxy), "https://[::1]:1080");
    }
}
