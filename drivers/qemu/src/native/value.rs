//! QEMU's option value syntax as the importer reads it: `key=value,...` with `,,` for
//! a literal comma, and sizes.

/// Parse `key=value,key=value` (first bare item returned as the "" key; a later bare
/// item is `item=on`).
pub(crate) fn kv(s: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == ',' {
            if it.peek() == Some(&',') {
                it.next();
                cur.push(',');
            } else {
                items.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None if i == 0 => (String::new(), item),
            None => (item, "on".to_string()),
        })
        .collect()
}

/// The value of `key` in a [`kv`] list.
pub(crate) fn get<'a>(kvs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `214`, `214M`, `1G`, `524288k` → KiB (a bare number is MiB, as for `-m`).
pub(crate) fn mem_kib(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1),
        'm' | 'M' => (&v[..v.len() - 1], 1024),
        'g' | 'G' => (&v[..v.len() - 1], 1024 * 1024),
        't' | 'T' => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        _ => (v, 1024),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_and_sizes() {
        let k = kv("pc,,x,accel=kvm,usb");
        assert_eq!(get(&k, ""), Some("pc,x"));
        assert_eq!(get(&k, "accel"), Some("kvm"));
        assert_eq!(get(&k, "usb"), Some("on"));
        assert_eq!(mem_kib("214"), Some(214 * 1024));
        assert_eq!(mem_kib("1G"), Some(1024 * 1024));
        assert_eq!(mem_kib("512k"), Some(512));
        assert_eq!(mem_kib("x"), None);
        assert_eq!(
            mem_kib("99999999999999999t"),
            None,
            "overflow is not a size"
        );
    }
}
