//! Aggregate guest instructions/s against lanes, log-log, drawn with plotters'
//! bitmap backend. Text uses a tiny built-in 3x5 pixel font (no system fonts).
use plotters::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const W: i32 = 900;
const H: i32 = 600;
const L: i32 = 110;
const R: i32 = 30;
const T: i32 = 50;
const B: i32 = 70;

/// 3x5 glyphs, rows top to bottom, 3 bits each (bit 2 = left column).
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_uppercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [7, 4, 4, 4, 7],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [7, 4, 5, 5, 7],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 7],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [7, 5, 5, 5, 7],
        'P' => [7, 5, 7, 4, 4],
        'Q' => [7, 5, 5, 7, 1],
        'R' => [6, 5, 6, 5, 5],
        'S' => [7, 4, 7, 1, 7],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '.' => [0, 0, 0, 0, 2],
        ',' => [0, 0, 0, 2, 4],
        ':' => [0, 2, 0, 2, 0],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        '^' => [2, 5, 0, 0, 0],
        '=' => [0, 7, 0, 7, 0],
        _ => [0, 0, 0, 0, 0],
    }
}

fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    x: i32,
    y: i32,
    s: &str,
    scale: i32,
    color: &RGBColor,
) -> Result<(), String> {
    for (i, c) in s.chars().enumerate() {
        let g = glyph(c);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    let px = x + (i as i32 * 4 + col) * scale;
                    let py = y + row as i32 * scale;
                    area.draw(&Rectangle::new(
                        [(px, py), (px + scale, py + scale)],
                        color.filled(),
                    ))
                    .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    Ok(())
}

fn text_width(s: &str, scale: i32) -> i32 {
    s.chars().count() as i32 * 4 * scale
}

/// A curve: its legend and its (lanes, instructions/s) points.
type Curve = (String, Vec<(f64, f64)>);

/// The workloads drawn on their own beside the suite: one program run convergent (every
/// lane the same arguments) and divergent (a seed per lane), to show what divergence
/// costs.
const DIVERGENCE_PAIR: [&str; 2] = ["int", "int-div"];

/// Draw the curves of a bench document into a PNG at `path`: per backend, aggregate
/// IPS of the whole suite at each lane count (sum of guest instructions over sum of
/// seconds of every workload run at that count) and the IPS of [`DIVERGENCE_PAIR`];
/// qemu's suite at 1 process and at `cores` processes.
pub fn draw(doc: &Value, path: &Path) -> Result<(), String> {
    let mut pts = gpuos_curves(doc);
    pts.push(("qemu".into(), qemu_curve(doc)));
    render(&pts, path)
}

/// Guest instructions and seconds summed per lane count.
type Sums = BTreeMap<u64, (f64, f64)>;

/// Per backend: the suite's aggregate IPS, then each of [`DIVERGENCE_PAIR`]'s.
fn gpuos_curves(doc: &Value) -> Vec<Curve> {
    // (backend, workload or "" for the suite) -> sums.
    let mut sums: BTreeMap<(String, &str), Sums> = BTreeMap::new();
    for r in doc["results"].as_array().into_iter().flatten() {
        let b = r["backend"].as_str().unwrap_or("?");
        let lanes = r["lanes"].as_u64().unwrap_or(1);
        let w = r["workload"].as_str().unwrap_or("");
        let own = DIVERGENCE_PAIR.iter().find(|&&p| p == w);
        for key in std::iter::once("").chain(own.copied()) {
            let e = sums.entry((b.to_string(), key)).or_default();
            let e = e.entry(lanes).or_default();
            e.0 += r["guest_instructions"].as_f64().unwrap_or(0.0);
            e.1 += r["seconds"].as_f64().unwrap_or(0.0);
        }
    }
    sums.into_iter()
        .map(|((b, w), m)| {
            let name = if w.is_empty() {
                format!("gpuos {b}")
            } else {
                format!("gpuos {b} {w}")
            };
            let p = m
                .into_iter()
                .filter(|(_, (i, s))| *i > 0.0 && *s > 0.0)
                .map(|(l, (i, s))| (l as f64, i / s))
                .collect();
            (name, p)
        })
        .collect()
}

/// qemu's suite IPS at 1 process (the single reference runs) and at `cores`
/// processes (the parallel comparison).
fn qemu_curve(doc: &Value) -> Vec<(f64, f64)> {
    let cores = doc["qemu"]["cores"].as_f64().unwrap_or(1.0);
    let (mut qi, mut qs, mut q1i, mut q1s) = (0.0, 0.0, 0.0, 0.0);
    for v in doc["qemu"]["per_workload"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        let rps = v["runs_per_second"].as_f64().unwrap_or(0.0);
        let ips = v["ips"].as_f64().unwrap_or(0.0);
        if rps > 0.0 {
            qi += ips / rps * cores;
            qs += cores / rps;
        }
        let s1 = v["single_run_seconds"].as_f64().unwrap_or(0.0);
        q1i += v["single_run_ips"].as_f64().unwrap_or(0.0) * s1;
        q1s += s1;
    }
    let mut q = Vec::new();
    if q1s > 0.0 {
        q.push((1.0, q1i / q1s));
    }
    if qs > 0.0 && cores > 1.0 {
        q.push((cores, qi / qs));
    }
    q
}

/// Decades spanned by `v` of the points, at least one: (floor, ceil) of log10.
fn decades(all: &[(f64, f64)], v: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
    let lo = all
        .iter()
        .map(|p| v(p).log10())
        .fold(f64::MAX, f64::min)
        .floor();
    let hi = all
        .iter()
        .map(|p| v(p).log10())
        .fold(f64::MIN, f64::max)
        .ceil();
    (lo, hi.max(lo + 1.0))
}

/// Log-log axes, grid, titles and the curves with their legend.
fn render(pts: &[Curve], path: &Path) -> Result<(), String> {
    let all: Vec<(f64, f64)> = pts.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    if all.is_empty() {
        return Err("no figures to plot".into());
    }
    let (lx0, lx1) = decades(&all, |p| p.0);
    let (ly0, ly1) = decades(&all, |p| p.1);
    let px = |x: f64| L + ((x.log10() - lx0) / (lx1 - lx0) * (W - L - R) as f64) as i32;
    let py = |y: f64| H - B - ((y.log10() - ly0) / (ly1 - ly0) * (H - T - B) as f64) as i32;

    let root = BitMapBackend::new(path, (W as u32, H as u32)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let grey = RGBColor(220, 220, 220);
    for d in (lx0 as i32)..=(lx1 as i32) {
        let x = px(10f64.powi(d));
        root.draw(&PathElement::new(vec![(x, T), (x, H - B)], grey))
            .map_err(e)?;
        let s = format!("1E{d}");
        text(&root, x - text_width(&s, 2) / 2, H - B + 8, &s, 2, &BLACK)?;
    }
    for d in (ly0 as i32)..=(ly1 as i32) {
        let y = py(10f64.powi(d));
        root.draw(&PathElement::new(vec![(L, y), (W - R, y)], grey))
            .map_err(e)?;
        let s = format!("1E{d}");
        text(&root, L - 8 - text_width(&s, 2), y - 5, &s, 2, &BLACK)?;
    }
    root.draw(&PathElement::new(
        vec![(L, T), (L, H - B), (W - R, H - B)],
        BLACK,
    ))
    .map_err(e)?;
    let title = "AGGREGATE GUEST INSTRUCTIONS/S VS LANES (LOG-LOG)";
    text(&root, (W - text_width(title, 3)) / 2, 12, title, 3, &BLACK)?;
    text(
        &root,
        (W - text_width("LANES", 2)) / 2,
        H - 30,
        "LANES",
        2,
        &BLACK,
    )?;
    text(&root, 8, T - 20, "INSNS/S", 2, &BLACK)?;
    let colors = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    for (i, (name, p)) in pts.iter().enumerate() {
        let c = colors[i % colors.len()];
        let line: Vec<(i32, i32)> = p.iter().map(|&(x, y)| (px(x), py(y))).collect();
        root.draw(&PathElement::new(line.clone(), c.stroke_width(2)))
            .map_err(e)?;
        for &(x, y) in &line {
            root.draw(&Circle::new((x, y), 4, c.filled())).map_err(e)?;
        }
        let ly = T + 10 + i as i32 * 18;
        root.draw(&Rectangle::new(
            [(L + 15, ly), (L + 35, ly + 8)],
            c.filled(),
        ))
        .map_err(e)?;
        text(&root, L + 42, ly - 1, name, 2, &BLACK)?;
    }
    root.present().map_err(e)?;
    Ok(())
}
