//! The live view on a terminal (ratatui over crossterm, docs/dependencies.md): the
//! alternate screen in raw mode, redrawn every [`TICK`] whatever the nodes do (the
//! polling runs on its own thread, `poll.rs`), keys read between redraws
//! (`keys.rs`). The terminal is given back as it was on every way out: `q`, Ctrl-C,
//! an error, a panic (ratatui's hook).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Sparkline, Table, Wrap};
use ratatui::{DefaultTerminal, Frame};

use super::keys::{Action, Controls, Key};
use super::poll::Poller;
use super::table::{self, COLUMNS, Row, Tone};
use super::text::{clock, event_line, heading, history_label, hot_lines};
use super::view::{Severity, View};

/// How often the screen is drawn again (the clock and the "silent" counters move).
const TICK: Duration = Duration::from_millis(250);

/// The terminal in raw mode on the alternate screen; dropping it gives it back.
struct Screen {
    terminal: DefaultTerminal,
}

impl Screen {
    fn open() -> io::Result<Screen> {
        Ok(Screen { terminal: ratatui::try_init()? })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        ratatui::restore();
    }
}

fn key_of(event: &TermEvent) -> Option<Key> {
    let TermEvent::Key(key) = event else { return None };
    if key.kind == KeyEventKind::Release {
        return None;
    }
    Some(match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Key::CtrlC,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Escape,
        KeyCode::Backspace => Key::Backspace,
        _ => Key::Other,
    })
}

/// The live view until `q` or Ctrl-C (a key in raw mode), or SIGINT from elsewhere
/// (`interrupt`, set by the process's handler).
pub fn run(poller: &Poller, color: bool, waiting_for: &str, interrupt: &AtomicBool) -> io::Result<()> {
    let mut screen = Screen::open()?;
    let mut controls = Controls::default();
    let mut shown: Option<View> = None;
    let mut pending: Option<View> = None;
    while !interrupt.load(Ordering::SeqCst) {
        if let Some(view) = poller.newest() {
            pending = Some(view);
        }
        if !controls.paused && pending.is_some() {
            shown = pending.take();
        }
        screen.terminal.draw(|frame| draw(frame, shown.as_ref(), &controls, color, waiting_for))?;
        if event::poll(TICK)? {
            // Every key waiting is handled before the next frame.
            loop {
                let Some(key) = key_of(&event::read()?) else {
                    if !event::poll(Duration::ZERO)? {
                        break;
                    }
                    continue;
                };
                if controls.press(key) == Action::Quit {
                    return Ok(());
                }
                if !event::poll(Duration::ZERO)? {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn tone_style(tone: Tone, primary: bool, color: bool) -> Style {
    let style = if primary { Style::default().add_modifier(Modifier::BOLD) } else { Style::default() };
    match (tone, color) {
        (Tone::Normal, _) => style,
        (Tone::Warning, true) => style.fg(Color::Yellow),
        (Tone::Bad, true) => style.fg(Color::Red),
        (_, false) => style.add_modifier(Modifier::REVERSED),
    }
}

fn severity_style(severity: Severity, color: bool) -> Style {
    match (severity, color) {
        (Severity::Info, _) => Style::default(),
        (Severity::Warning, true) => Style::default().fg(Color::Yellow),
        (Severity::Bad, true) => Style::default().fg(Color::Red),
        (_, false) => Style::default().add_modifier(Modifier::BOLD),
    }
}

fn draw(frame: &mut Frame, view: Option<&View>, controls: &Controls, color: bool, waiting_for: &str) {
    let area = frame.area();
    let now = SystemTime::now();
    let Some(view) = view else {
        let text = format!("rcli top  {}  asking {waiting_for}…  (q quits)", clock(now));
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    // The table as tall as its rows (title, header, one line per node); the panels below
    // get the rest, at least 8 lines.
    let rows = u16::try_from(view.totals.nodes).unwrap_or(u16::MAX).saturating_add(2);
    let [top, spark, nodes, bottom, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(3),
        Constraint::Max(rows.max(4)),
        Constraint::Min(8),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut lines: Vec<Line> = heading(view).into_iter().map(Line::from).collect();
    if let Some(first) = lines.first_mut() {
        let paused = if controls.paused { "  PAUSED" } else { "" };
        first
            .spans
            .push(Span::styled(format!("  now {}{paused}", clock(now)), Style::default().add_modifier(Modifier::BOLD)));
    }
    frame.render_widget(Paragraph::new(lines), top);
    let bars = super::history::bars(&view.history, usize::from(spark.width.saturating_sub(2)));
    frame.render_widget(
        Sparkline::default().block(Block::default().borders(Borders::ALL).title(history_label(view))).data(&bars),
        spark,
    );
    draw_table(frame, nodes, view, controls, color);
    let [hot, events] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(bottom);
    let hot_text: Vec<Line> = hot_lines(&view.hot).into_iter().map(Line::from).collect();
    frame.render_widget(
        Paragraph::new(hot_text)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title("hot slots")),
        hot,
    );
    let shown = usize::from(events.height.saturating_sub(2));
    let skip = view.events.len().saturating_sub(shown);
    let event_text: Vec<Line> =
        view.events.iter().skip(skip).map(|e| Line::styled(event_line(e), severity_style(e.severity, color))).collect();
    frame.render_widget(
        Paragraph::new(event_text).block(Block::default().borders(Borders::ALL).title("events")),
        events,
    );
    let help = match &controls.editing {
        Some(_) => format!("filter: {}▏  (Enter keeps it, Esc drops it)", controls.filter),
        None => format!(
            "s sort ({}{})  r reverse  / filter{}  space pause  q quit",
            controls.sort.name(),
            if controls.descending { " ▼" } else { " ▲" },
            if controls.filter.is_empty() { String::new() } else { format!(" [{}]", controls.filter) }
        ),
    };
    frame.render_widget(Paragraph::new(help).style(Style::default().add_modifier(Modifier::REVERSED)), footer);
}

fn draw_table(frame: &mut Frame, area: Rect, view: &View, controls: &Controls, color: bool) {
    let rows: Vec<Row> = table::rows(view, controls.sort, controls.descending, &controls.filter);
    let titles: Vec<String> = COLUMNS
        .iter()
        .map(|c| match c == &controls.sort.column() {
            true => format!("{}{}", c.title(), if controls.descending { "▼" } else { "▲" }),
            false => c.title().to_string(),
        })
        .collect();
    let widths: Vec<Constraint> = (0..COLUMNS.len())
        .map(|i| {
            let widest = rows
                .iter()
                .filter_map(|r| r.cells.get(i))
                .chain(titles.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0);
            Constraint::Length(u16::try_from(widest).unwrap_or(u16::MAX))
        })
        .collect();
    let cell = |text: &str, numeric: bool, width: usize| {
        if numeric { Cell::from(format!("{text:>width$}")) } else { Cell::from(text.to_string()) }
    };
    let column_widths: Vec<usize> = widths
        .iter()
        .map(|w| match w {
            Constraint::Length(n) => usize::from(*n),
            _ => 0,
        })
        .collect();
    let header = TableRow::new(
        COLUMNS.iter().zip(&titles).zip(&column_widths).map(|((c, t), w)| cell(t, c.numeric(), *w)).collect::<Vec<_>>(),
    )
    .style(Style::default().add_modifier(Modifier::UNDERLINED));
    let body: Vec<TableRow> = rows
        .iter()
        .map(|row| {
            TableRow::new(
                COLUMNS
                    .iter()
                    .zip(&row.cells)
                    .zip(&column_widths)
                    .map(|((c, t), w)| cell(t, c.numeric(), *w))
                    .collect::<Vec<_>>(),
            )
            .style(tone_style(row.tone, row.primary, color))
        })
        .collect();
    let title = format!("nodes ({} shown of {})", rows.len(), view.totals.nodes);
    let table = Table::new(body, widths).header(header).column_spacing(2).block(Block::default().title(title));
    frame.render_widget(table, area);
}
