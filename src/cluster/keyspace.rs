//! The databases a node holds keys in, read from its `INFO keyspace` text
//! (`db5:keys=3,expires=0,…`): what `:nodes` and `:map` show, numbered databases in
//! cluster mode (Valkey 9's `cluster-databases`) included. Pure.

/// Every `dbN:keys=K` line of `info`, as (N, K) in N order; lines that are not one are
/// skipped (a server's text is untrusted).
pub fn databases(info: &str) -> Vec<(u32, u64)> {
    let mut found: Vec<(u32, u64)> = info
        .lines()
        .filter_map(|line| {
            let (name, fields) = line.trim_end().split_once(':')?;
            let number = name.strip_prefix("db")?.parse::<u32>().ok()?;
            let keys = fields.split(',').find_map(|f| f.strip_prefix("keys="))?.parse::<u64>().ok()?;
            Some((number, keys))
        })
        .collect();
    found.sort_unstable();
    found.dedup_by_key(|(number, _)| *number);
    found
}

/// The database numbers as `:nodes` and `:map` show them: `0,5,9`, or `-` for none.
pub fn numbers_text(databases: &[(u32, u64)]) -> String {
    if databases.is_empty() {
        return "-".into();
    }
    databases.iter().map(|(number, _)| number.to_string()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_lines_become_databases() {
        let info = "# Keyspace\r\ndb9:keys=2,expires=0,avg_ttl=0\r\ndb0:keys=10,expires=1,avg_ttl=5,keys_with_volatile_items=0\r\n\
                    dbx:keys=1\r\ndb3:expires=1\r\ndb-1:keys=1\r\ndb4:keys=many\r\n";
        assert_eq!(databases(info), [(0, 10), (9, 2)]);
        assert_eq!(numbers_text(&databases(info)), "0,9");
        assert_eq!(numbers_text(&databases("# Keyspace\r\n")), "-");
    }
}
