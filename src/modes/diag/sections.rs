//! The per-node sections of a `-c` key-scan report (`--bigkeys`, `--memkeys`,
//! `--hotkeys`, `--keystats`), readable at any node count: up to [`SMALL`] nodes each
//! gets its own section, as always; past that, nodes whose figures are the same share
//! one section, and when that still leaves more than [`SMALL`], the sections shown are
//! the nodes that did not finish and those that scanned the most keys, the rest counted
//! in one line (the cluster's summary still covers every node). Pure.

use super::keystats::section;

/// Up to this many nodes, a section each.
pub const SMALL: usize = 12;

/// Addresses named in a shared section's title before `and N more`.
const NAMED: usize = 4;

/// One node's section, before layout.
#[derive(Debug, Clone)]
pub struct NodeSection {
    pub name: String,
    /// What follows the title.
    pub body: String,
    /// Keys it scanned: the bigger, the more it is worth showing.
    pub keys: u64,
    /// It failed or was interrupted: always shown.
    pub unfinished: bool,
}

/// A group of nodes with the same body.
struct Group<'a> {
    names: Vec<&'a str>,
    body: &'a str,
    keys: u64,
    unfinished: bool,
}

fn title(names: &[&str]) -> String {
    match names {
        [one] => format!("node {one}"),
        _ => {
            let mut shown = names.iter().take(NAMED).copied().collect::<Vec<_>>().join(", ");
            if names.len() > NAMED {
                shown.push_str(&format!(" and {} more", names.len() - NAMED));
            }
            format!("{} nodes with the same figures: {shown}", names.len())
        }
    }
}

/// The report's sections, laid out as the module says.
pub fn layout(sections: &[NodeSection]) -> String {
    if sections.len() <= SMALL {
        return sections.iter().map(|s| format!("{}{}", section(&format!("node {}", s.name)), s.body)).collect();
    }
    let mut groups: Vec<Group> = Vec::new();
    for node in sections {
        match groups.iter_mut().find(|g| g.body == node.body && !node.unfinished && !g.unfinished) {
            Some(group) => {
                group.names.push(&node.name);
                group.keys = group.keys.saturating_add(node.keys);
            }
            None => groups.push(Group {
                names: vec![&node.name],
                body: &node.body,
                keys: node.keys,
                unfinished: node.unfinished,
            }),
        }
    }
    // Which groups are shown: every unfinished one, and the SMALL with the most keys.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| groups.get(i).map(|g| (!g.unfinished, std::cmp::Reverse(g.keys))));
    let mut shown: Vec<usize> = Vec::new();
    let mut finished = 0usize;
    for i in order {
        let unfinished = groups.get(i).is_some_and(|g| g.unfinished);
        if unfinished || finished < SMALL {
            shown.push(i);
            finished += usize::from(!unfinished);
        }
    }
    let mut text = String::new();
    let (mut hidden_nodes, mut hidden_keys) = (0usize, 0u64);
    for (i, group) in groups.iter().enumerate() {
        if shown.contains(&i) {
            text.push_str(&section(&title(&group.names)));
            text.push_str(group.body);
        } else {
            hidden_nodes += group.names.len();
            hidden_keys = hidden_keys.saturating_add(group.keys);
        }
    }
    if hidden_nodes > 0 {
        text.push_str(&section(&format!("{hidden_nodes} more nodes")));
        text.push_str(&format!(
            "{hidden_keys} keys scanned on {hidden_nodes} nodes not shown here (fewer keys than those above); they \
             count in the summary. One node's section: --target HOST:PORT.\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(port: u16, body: &str, keys: u64) -> NodeSection {
        NodeSection { name: format!("127.0.0.1:{port}"), body: body.into(), keys, unfinished: false }
    }

    #[test]
    fn a_few_nodes_keep_a_section_each() {
        let nodes = [node(7000, "same\n", 1), node(7001, "same\n", 1)];
        assert_eq!(
            layout(&nodes),
            "\n-------- node 127.0.0.1:7000 -------\n\nsame\n\n-------- node 127.0.0.1:7001 -------\n\nsame\n"
        );
    }

    #[test]
    fn many_nodes_share_identical_sections_and_the_rest_is_counted() {
        let mut nodes: Vec<NodeSection> = (0..100).map(|i| node(7000 + i, "empty\n", 0)).collect();
        let text = layout(&nodes);
        assert_eq!(
            text,
            "\n-------- 100 nodes with the same figures: 127.0.0.1:7000, 127.0.0.1:7001, 127.0.0.1:7002, \
             127.0.0.1:7003 and 96 more -------\n\nempty\n"
        );
        nodes = (0..100).map(|i| node(7000 + i, &format!("{i} keys\n"), u64::from(i))).collect();
        nodes[3].unfinished = true;
        let text = layout(&nodes);
        assert_eq!(text.matches("\n-------- node ").count(), SMALL + 1, "the 12 biggest and the unfinished one");
        assert!(text.contains("-------- node 127.0.0.1:7099 -------"));
        assert!(text.contains("-------- node 127.0.0.1:7003 -------"));
        assert!(!text.contains("-------- node 127.0.0.1:7004 -------"));
        let hidden: u64 = (0..88).sum::<u64>() - 3;
        assert!(text.contains(&format!("{hidden} keys scanned on 87 nodes not shown here")), "{text}");
    }
}
