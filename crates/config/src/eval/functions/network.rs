//! Network functions.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use strata_core::Value;

use super::{exactly, integer, string, Ctx};

/// `cidrsubnet("10.0.0.0/16", 8, 2)` → `"10.0.2.0/24"`.
pub(super) fn cidrsubnet(_: &Ctx, args: Vec<Value>) -> Result<Value, String> {
    let [prefix, newbits, netnum] = exactly::<3>(args)?;
    let prefix = string(&prefix, "the prefix")?;
    let net: IpNet = prefix
        .parse()
        .map_err(|_| format!("invalid CIDR prefix {prefix:?}"))?;
    let newbits = integer(&newbits, "newbits")?;
    let netnum = integer(&netnum, "netnum")?;
    if newbits < 0 || netnum < 0 {
        return Err("newbits and netnum must not be negative".into());
    }
    let max_len = u32::from(net.max_prefix_len());
    let new_len = u32::from(net.prefix_len()) + newbits as u32;
    if new_len > max_len {
        return Err(format!(
            "not enough bits: a /{} prefix extended by {newbits} bits would be /{new_len}",
            net.prefix_len()
        ));
    }
    if newbits < 128 && (netnum as u128) >> newbits != 0 {
        return Err(format!("netnum {netnum} does not fit in {newbits} bits"));
    }
    let shift = max_len - new_len;
    let offset = (netnum as u128).checked_shl(shift).unwrap_or(0);
    let addr = match net.network() {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) | offset as u32)),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) | offset)),
    };
    Ok(Value::String(format!("{addr}/{new_len}")))
}
