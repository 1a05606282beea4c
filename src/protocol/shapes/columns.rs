//! Text tables for the merged diagnostics: column widths and aligned rows, shared by
//! the merged lists (`merged.rs`) and the INFO table (`info_table.rs`).

/// A cell wider than this does not widen its column (server text is untrusted).
const WIDEST_ALIGNED: usize = 48;

/// Each column's width over `rows` (a cell counts at most [`WIDEST_ALIGNED`]).
pub(super) fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count().min(WIDEST_ALIGNED);
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    widths
}

/// `rows` as lines, columns two spaces apart (the last one not padded).
pub(super) fn aligned(rows: &[Vec<String>]) -> Vec<String> {
    let widths = column_widths(rows);
    rows.iter().map(|row| aligned_row(row, &widths)).collect()
}

/// One row padded to `widths`, columns two spaces apart (the last one not padded).
pub(super) fn aligned_row(row: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, cell) in row.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if i + 1 == row.len() {
            line.push_str(cell);
        } else {
            line.push_str(&crate::protocol::text::pad(cell, widths.get(i).copied().unwrap_or(0)));
        }
    }
    line.truncate(line.trim_end().len());
    line
}
