//! Unit tests of the key-scan figures and reports, against redis-cli 7.0.15's output
//! (docs/redis-cli-modes.md, section 6).

use super::*;

/// The nine keys of the document's example run.
fn nine_keys() -> KeyStats {
    let mut stats = KeyStats::default();
    let keys: [(&[u8], &[u8], u64); 9] = [
        (b"bin\x01", b"string", 7),
        (b"z", b"zset", 1),
        (b"l1", b"list", 3),
        (b"h", b"hash", 2),
        (b"st", b"set", 2),
        (b"x", b"stream", 1),
        (b"s1", b"string", 5),
        (b"s2", b"string", 3),
        (b"abc", b"string", 2),
    ];
    for (key, kind, size) in keys {
        let index = stats.type_index(kind).unwrap();
        stats.record(index, key, size, KeyScan::Big);
    }
    stats
}

#[test]
fn the_summary_matches_redis_cli() {
    let expected = "Sampled 9 keys in the keyspace!\n\
        Total key length in bytes is 18 (avg len 2.00)\n\n\
        Biggest   list found '\"l1\"' has 3 items\n\
        Biggest   hash found '\"h\"' has 2 fields\n\
        Biggest string found '\"bin\\x01\"' has 7 bytes\n\
        Biggest stream found '\"x\"' has 1 entries\n\
        Biggest    set found '\"st\"' has 2 members\n\
        Biggest   zset found '\"z\"' has 1 members\n\n\
        1 lists with 3 items (11.11% of keys, avg size 3.00)\n\
        1 hashs with 2 fields (11.11% of keys, avg size 2.00)\n\
        4 strings with 17 bytes (44.44% of keys, avg size 4.25)\n\
        1 streams with 1 entries (11.11% of keys, avg size 1.00)\n\
        1 sets with 2 members (11.11% of keys, avg size 2.00)\n\
        1 zsets with 1 members (11.11% of keys, avg size 1.00)\n";
    assert_eq!(nine_keys().summary(KeyScan::Big, None), expected);
    let memory = nine_keys().summary(KeyScan::Memory { samples: 0 }, Some(50.0));
    assert!(memory.starts_with("[50.00%] Sampled 9 keys"));
    assert!(memory.contains("Biggest   list found '\"l1\"' has 3 bytes\n"));
    assert!(memory.contains("1 hashs with 2 bytes (11.11% of keys"));
}

#[test]
fn the_type_order_follows_redis_cli_dict() {
    let order = |stats: &KeyStats| stats.summary_order().iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let mut stats = KeyStats::default();
    assert_eq!(order(&stats), ["hash", "list", "string", "stream", "set", "zset"]);
    let empty = stats.summary(KeyScan::Big, None);
    assert!(empty.contains("(avg len 0.00)\n\n\n0 hashs with 0 fields (00.00% of keys, avg size 0.00)\n"), "{empty}");
    assert_eq!(stats.type_index(b"none"), None);
    assert_eq!(order(&stats), ["string", "list", "hash", "stream", "set", "zset"]);
    stats.type_index(b"string");
    assert_eq!(order(&stats), ["list", "hash", "string", "stream", "set", "zset"]);
    let module = stats.type_index(b"ReJSON-RL").unwrap();
    assert_eq!(stats.type_index(b"ReJSON-RL"), Some(module));
    assert_eq!(order(&stats).last().map(String::as_str), Some("ReJSON-RL"));
    assert_eq!(stats.types[module].unit, "?");
}

#[test]
fn new_biggest_keys_are_announced_strictly() {
    let mut stats = KeyStats::default();
    let index = stats.type_index(b"string").unwrap();
    let found = stats.record(index, b"a", 3, KeyScan::Big).unwrap();
    assert_eq!(biggest_line(0.0, &found, None), "[00.00%] Biggest string found so far '\"a\"' with 3 bytes\n");
    assert_eq!(stats.record(index, b"b", 3, KeyScan::Big), None);
    let zset = stats.type_index(b"zset").unwrap();
    let found = stats.record(zset, b"z", 0, KeyScan::Big);
    assert_eq!(found, None, "a size of 0 is never the biggest");
    let found = stats.record(zset, b"z", 1, KeyScan::Memory { samples: 0 }).unwrap();
    assert_eq!(
        biggest_line(27.5, &found, Some("127.0.0.1:7000")),
        "[27.50%] Biggest zset   found so far '\"z\"' with 1 bytes on 127.0.0.1:7000\n"
    );
}

#[test]
fn merged_nodes_name_where_the_biggest_keys_are() {
    let mut first = KeyStats::default();
    let s = first.type_index(b"string").unwrap();
    first.record(s, b"k1", 10, KeyScan::Big);
    let mut second = KeyStats::default();
    let s2 = second.type_index(b"string").unwrap();
    second.record(s2, b"k2", 10, KeyScan::Big);
    let l = second.type_index(b"list").unwrap();
    second.record(l, b"l", 4, KeyScan::Big);
    let m = second.type_index(b"MyType").unwrap();
    second.record(m, b"mod", 0, KeyScan::Big);
    let mut total = KeyStats::default();
    total.merge(&first, "127.0.0.1:7000");
    total.merge(&second, "127.0.0.1:7001");
    assert_eq!((total.sampled, total.key_bytes, total.lookups), (4, 8, 4));
    let summary = total.summary(KeyScan::Big, None);
    assert!(summary.contains("Biggest string found '\"k1\"' has 10 bytes on 127.0.0.1:7000\n"), "{summary}");
    assert!(summary.contains("Biggest   list found '\"l\"' has 4 items on 127.0.0.1:7001\n"));
    assert!(summary.contains("2 strings with 20 bytes (50.00% of keys, avg size 10.00)\n"));
    assert!(summary.ends_with("1 MyTypes with 0 ? (25.00% of keys, avg size 0.00)\n"), "{summary}");
}

#[test]
fn the_hot_pool_keeps_the_hottest_like_redis_cli() {
    let mut pool = HotPool::default();
    assert!(pool.offer(5, b"five", None));
    assert!(pool.offer(3, b"three", None));
    assert!(pool.offer(7, b"seven", Some("n1")));
    assert!(!pool.offer(0, b"cold", None));
    assert_eq!(pool.counters.get(13..), Some(&[3, 5, 7][..]));
    assert_eq!(
        pool.summary(3, None),
        "Sampled 3 keys in the keyspace!\n\
         hot key found with counter: 7\tkeyname: \"seven\"\tnode: n1\n\
         hot key found with counter: 5\tkeyname: \"five\"\n\
         hot key found with counter: 3\tkeyname: \"three\"\n"
    );
    for freq in 10..30 {
        pool.offer(freq, format!("k{freq}").as_bytes(), None);
    }
    assert_eq!(pool.counters.to_vec(), (14..30).collect::<Vec<u64>>());
    assert!(!pool.offer(14, b"tie", None), "a tie with the coldest does not enter");
    assert_eq!(hot_line(0.0, b"s1", 2, None), "[00.00%] Hot key '\"s1\"' found so far with counter 2\n");
    assert!(pool.summary(0, Some(f64::INFINITY)).starts_with("[  inf%] Sampled 0 keys"));
}

#[test]
fn banners_and_sections() {
    assert!(banner(KeyScan::Big).starts_with("\n# Scanning the entire keyspace to find biggest keys as well as\n"));
    assert!(banner(KeyScan::Hot).starts_with("\n# Scanning the entire keyspace to find hot keys as well as\n"));
    assert!(banner(KeyScan::Hot).ends_with("# per 100 SCAN commands (not usually needed).\n\n"));
    assert_eq!(section("summary"), "\n-------- summary -------\n\n");
    assert_eq!(milestone_line(12.5, 1_000_000), "[12.50%] Sampled 1000000 keys so far\n");
}
