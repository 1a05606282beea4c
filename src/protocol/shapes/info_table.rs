//! INFO of several nodes as one table (docs/compatibility.md, "Merged diagnostics"): a
//! column per node, a row per field under each section's title, and a total where a
//! sum over the nodes means something. Pure.

use super::columns::{aligned_row, column_widths};
use super::text::{InfoSection, info_sections, sub_fields};
use super::text_of;
use crate::protocol::resp::Frame;

/// INFO of several nodes: a header (field, the nodes, total), then each section's
/// title and its rows; a keyspace line `db0:keys=1,expires=0` is a row per figure
/// (`db0.keys`).
pub(super) fn info_table(answered: &[(String, &Frame)]) -> Option<Vec<String>> {
    let nodes: Vec<Vec<InfoSection>> =
        answered.iter().map(|(_, frame)| text_of(frame).map(|t| info_sections(&t))).collect::<Option<_>>()?;
    let mut titles: Vec<String> = Vec::new();
    for section in nodes.iter().flatten() {
        if !titles.contains(&section.title) {
            titles.push(section.title.clone());
        }
    }
    let mut header = vec!["field".to_string()];
    header.extend(answered.iter().map(|(node, _)| node.clone()));
    header.push("total".into());
    let mut blocks: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for title in titles {
        let per_node: Vec<Vec<(String, String)>> = nodes
            .iter()
            .map(|sections| {
                let fields = sections.iter().filter(|s| s.title == title).flat_map(|s| s.fields.iter());
                fields.flat_map(|(k, v)| info_rows(&title, k, v)).collect()
            })
            .collect();
        let mut keys: Vec<&String> = Vec::new();
        for (key, _) in per_node.iter().flatten() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let rows = keys
            .into_iter()
            .map(|key| {
                let values: Vec<Option<&String>> =
                    per_node.iter().map(|fields| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)).collect();
                let mut row = vec![key.clone()];
                row.extend(values.iter().map(|v| v.cloned().unwrap_or_else(|| "-".into())));
                row.push(if summable(key) { total(&values).unwrap_or_default() } else { String::new() });
                row
            })
            .collect();
        blocks.push((title, rows));
    }
    let mut all_rows = vec![header];
    for (_, rows) in &blocks {
        all_rows.extend(rows.iter().cloned());
    }
    let mut widths = column_widths(&all_rows);
    if let Some(first) = widths.first_mut() {
        *first = (*first).max(5);
    }
    let mut lines = vec![aligned_row(all_rows.first().map(Vec::as_slice).unwrap_or_default(), &widths)];
    for (title, rows) in &blocks {
        lines.push(if title.is_empty() { "#".to_string() } else { format!("# {title}") });
        lines.extend(rows.iter().map(|row| aligned_row(row, &widths)));
    }
    Some(lines)
}

/// The rows one INFO line makes: itself, or in the keyspace section one per figure.
fn info_rows(title: &str, key: &str, value: &str) -> Vec<(String, String)> {
    if title.eq_ignore_ascii_case("keyspace")
        && let Some(parts) = sub_fields(value)
    {
        return parts.into_iter().map(|(name, v)| (format!("{key}.{name}"), v.to_string())).collect();
    }
    vec![(key.to_string(), value.to_string())]
}

/// INFO fields whose sum over the nodes is a figure of the cluster: counts of clients,
/// keys and events, bytes of memory, traffic and operation rates. Versions, ports,
/// ids, ratios, peaks, settings and the machine's own figures are not.
pub fn summable(field: &str) -> bool {
    const FIELDS: &[&str] = &[
        "connected_clients",
        "cluster_connections",
        "blocked_clients",
        "tracking_clients",
        "pubsub_clients",
        "watching_clients",
        "clients_in_timeout_table",
        "used_memory",
        "used_memory_rss",
        "used_memory_overhead",
        "used_memory_startup",
        "used_memory_dataset",
        "used_memory_lua",
        "used_memory_vm_eval",
        "used_memory_scripts_eval",
        "used_memory_vm_functions",
        "used_memory_vm_total",
        "used_memory_functions",
        "used_memory_scripts",
        "mem_clients_slaves",
        "mem_clients_normal",
        "mem_cluster_links",
        "mem_aof_buffer",
        "mem_replication_backlog",
        "mem_not_counted_for_evict",
        "number_of_cached_scripts",
        "number_of_functions",
        "rdb_changes_since_last_save",
        "rejected_connections",
        "sync_full",
        "sync_partial_ok",
        "sync_partial_err",
        "expired_keys",
        "expired_time_cap_reached_count",
        "evicted_keys",
        "evicted_clients",
        "evicted_scripts",
        "keyspace_hits",
        "keyspace_misses",
        "pubsub_channels",
        "pubsub_patterns",
        "pubsub_shardchannels",
        "connected_slaves",
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "dump_payload_sanitizations",
        "unexpected_error_replies",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
        "acl_access_denied_auth",
        "acl_access_denied_cmd",
        "acl_access_denied_key",
        "acl_access_denied_channel",
    ];
    const NOT: &[&str] = &["total_system_memory", "total_system_memory_human", "instantaneous_eventloop_duration_usec"];
    if NOT.contains(&field) || field.ends_with("_human") {
        return false;
    }
    FIELDS.contains(&field)
        || field.starts_with("total_")
        || field.starts_with("instantaneous_")
        || field.ends_with(".keys")
        || field.ends_with(".expires")
}

/// The sum of the values given, when each is a number: whole numbers summed exactly
/// (saturating), decimals to two places. Absent values count nothing.
fn total(values: &[Option<&String>]) -> Option<String> {
    let present: Vec<&String> = values.iter().flatten().copied().collect();
    if present.is_empty() {
        return None;
    }
    let whole: Option<Vec<i64>> = present.iter().map(|v| v.parse::<i64>().ok()).collect();
    if let Some(whole) = whole {
        return Some(whole.into_iter().fold(0i64, i64::saturating_add).to_string());
    }
    let decimals: Option<Vec<f64>> =
        present.iter().map(|v| v.parse::<f64>().ok().filter(|f| f.is_finite() && !v.contains(['e', 'E']))).collect();
    decimals.map(|d| format!("{:.2}", d.into_iter().sum::<f64>()))
}
