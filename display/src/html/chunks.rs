//! The representation of a chunked array, as dask's: a table of sizes for the whole array and
//! for one chunk, beside an SVG drawing of the chunk grid (1-D a bar, 2-D a grid, 3-D a skewed
//! cube, more dimensions as a row of cubes). Read from the plan; nothing is computed.

use std::fmt::Write;

use strata::error::human_bytes;
use strata::plan::NodeRef;

use super::escape;

/// The table and the diagram, side by side.
pub fn array_html(node: &NodeRef) -> String {
    format!("<div class='st-array-wrap'>{}{}</div>", table(node), svg(node))
}

fn table(node: &NodeRef) -> String {
    let shape = node.shape();
    let chunk = node.grid.chunk_shape();
    let chunk_bytes = chunk.iter().map(|&n| n as u64).product::<u64>() * node.dtype.size_of() as u64;
    let layers = node.post_order().len();
    let mut t = String::from("<table class='st-array-table'><thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead><tbody>");
    let _ = write!(t, "<tr><th>Bytes</th><td>{}</td><td>{}</td></tr>", human_bytes(node.nbytes()), human_bytes(chunk_bytes));
    let _ = write!(t, "<tr><th>Shape</th><td>{}</td><td>{}</td></tr>", tuple(&shape), tuple(&chunk));
    let _ = write!(t, "<tr><th>Chunks</th><td colspan='2'>{} chunks in a plan of {} {}</td></tr>", node.grid.nchunks(), layers, if layers == 1 { "node" } else { "nodes" });
    let _ = write!(t, "<tr><th>Data type</th><td colspan='2'>{}</td></tr>", escape(&node.dtype.to_string()));
    t.push_str("</tbody></table>");
    t
}

fn tuple(v: &[usize]) -> String {
    match v {
        [one] => format!("({one},)"),
        _ => format!("({})", v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Chunk boundaries along an axis as fractions of its length (0 and 1 included), thinned to
/// at most 50 lines so that large grids stay legible.
fn boundaries(chunks: &[usize]) -> Vec<f64> {
    let total: usize = chunks.iter().sum::<usize>().max(1);
    let mut at = vec![0.0];
    let mut sum = 0;
    for &c in chunks {
        sum += c;
        at.push(sum as f64 / total as f64);
    }
    if at.len() > 51 {
        let step = at.len() / 50 + 1;
        let last = *at.last().unwrap_or(&1.0);
        at = at.into_iter().step_by(step).collect();
        if at.last() != Some(&last) {
            at.push(last);
        }
    }
    at
}

/// Side lengths in pixels: proportional to the shape (log-compressed when very uneven), the
/// largest `max` pixels.
fn sides(shape: &[usize], max: f64) -> Vec<f64> {
    let logs: Vec<f64> = shape.iter().map(|&n| (n.max(1) as f64).ln() + 1.0).collect();
    let top = logs.iter().cloned().fold(1.0, f64::max);
    logs.iter().map(|l| (l / top * max).max(max / 8.0)).collect()
}

fn grid_2d(out: &mut String, x0: f64, y0: f64, w: f64, h: f64, rows: &[f64], cols: &[f64]) {
    let _ = write!(out, "<rect class='st-cell' x='{x0:.1}' y='{y0:.1}' width='{w:.1}' height='{h:.1}'/>");
    for (k, r) in rows.iter().enumerate() {
        let y = y0 + r * h;
        let edge = if k == 0 || k + 1 == rows.len() { " class='st-edge'" } else { "" };
        let _ = write!(out, "<line x1='{x0:.1}' y1='{y:.1}' x2='{:.1}' y2='{y:.1}'{edge}/>", x0 + w);
    }
    for (k, c) in cols.iter().enumerate() {
        let x = x0 + c * w;
        let edge = if k == 0 || k + 1 == cols.len() { " class='st-edge'" } else { "" };
        let _ = write!(out, "<line x1='{x:.1}' y1='{y0:.1}' x2='{x:.1}' y2='{:.1}'{edge}/>", y0 + h);
    }
}

/// A cube for the last three axes: front face (axes 1, 2), depth (axis 0) drawn skewed.
fn cube(out: &mut String, x0: f64, y0: f64, side: &[f64], chunks: &[Vec<usize>]) {
    let (d, h, w) = (side[0] * 0.5, side[1], side[2]);
    let (dx, dy) = (d * 0.7, d * 0.7);
    // Top and side faces, then the front grid.
    let _ = write!(out, "<polygon points='{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}'/>", x0, y0 + dy, x0 + dx, y0, x0 + dx + w, y0, x0 + w, y0 + dy);
    let _ = write!(out, "<polygon points='{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}'/>", x0 + w, y0 + dy, x0 + w + dx, y0, x0 + w + dx, y0 + h, x0 + w, y0 + dy + h);
    for r in boundaries(&chunks[0]) {
        let (x, y) = (x0 + r * dx, y0 + dy - r * dy);
        let _ = write!(out, "<line x1='{x:.1}' y1='{y:.1}' x2='{:.1}' y2='{y:.1}'/>", x + w);
        let _ = write!(out, "<line x1='{:.1}' y1='{y:.1}' x2='{:.1}' y2='{:.1}'/>", x + w, x + w, y + h);
    }
    for c in boundaries(&chunks[2]) {
        let x = x0 + c * w;
        let _ = write!(out, "<line x1='{x:.1}' y1='{:.1}' x2='{:.1}' y2='{y0:.1}'/>", y0 + dy, x + dx);
    }
    for r in boundaries(&chunks[1]) {
        let y = y0 + dy + r * h;
        let _ = write!(out, "<line x1='{:.1}' y1='{:.1}' x2='{:.1}' y2='{:.1}'/>", x0 + w, y, x0 + w + dx, y - dy);
    }
    grid_2d(out, x0, y0 + dy, w, h, &boundaries(&chunks[1]), &boundaries(&chunks[2]));
}

/// The chunk-grid diagram.
pub fn svg(node: &NodeRef) -> String {
    let shape = node.shape();
    let chunks = node.grid.chunks();
    let mut body = String::new();
    let (width, height);
    match shape.len() {
        0 => return String::new(),
        1 => {
            let w = 240.0;
            grid_2d(&mut body, 10.0, 10.0, w, 24.0, &[0.0, 1.0], &boundaries(&chunks[0]));
            let _ = write!(body, "<text x='{:.1}' y='54' text-anchor='middle'>{}</text>", 10.0 + w / 2.0, shape[0]);
            (width, height) = (w + 20.0, 64.0);
        }
        2 => {
            let s = sides(&shape, 160.0);
            grid_2d(&mut body, 10.0, 10.0, s[1], s[0], &boundaries(&chunks[0]), &boundaries(&chunks[1]));
            let _ = write!(body, "<text x='{:.1}' y='{:.1}' text-anchor='middle'>{}</text>", 10.0 + s[1] / 2.0, s[0] + 30.0, shape[1]);
            let _ = write!(body, "<text x='{:.1}' y='{:.1}' text-anchor='middle' transform='rotate(-90,{:.1},{:.1})'>{}</text>", s[1] + 28.0, 10.0 + s[0] / 2.0, s[1] + 28.0, 10.0 + s[0] / 2.0, shape[0]);
            (width, height) = (s[1] + 45.0, s[0] + 40.0);
        }
        n => {
            // The last three axes as a cube; leading axes as a row of (at most four) cubes.
            let s = sides(&shape[n - 3..], 130.0);
            let lead: usize = shape[..n - 3].iter().product();
            let copies = lead.clamp(1, 4);
            let step = s[2] + s[0] * 0.35 + 25.0;
            for k in 0..copies {
                cube(&mut body, 10.0 + k as f64 * step, 10.0, &s, &chunks[n - 3..]);
            }
            let base = 10.0 + s[0] * 0.35 + s[1];
            let _ = write!(body, "<text x='{:.1}' y='{:.1}' text-anchor='middle'>{}</text>", 10.0 + s[2] / 2.0, base + 20.0, shape[n - 1]);
            let _ = write!(body, "<text x='{:.1}' y='{:.1}' text-anchor='start'>{} × {}</text>", 14.0 + s[2] + s[0] * 0.35, base - s[1] / 2.0, shape[n - 3], shape[n - 2]);
            if n > 3 {
                let lead_dims: Vec<String> = shape[..n - 3].iter().map(|d| d.to_string()).collect();
                let _ = write!(body, "<text x='10' y='{:.1}'>× {} (leading axes{})</text>", base + 40.0, lead_dims.join(" × "), if lead > copies { ", first 4 drawn" } else { "" });
            }
            (width, height) = (copies as f64 * step + 90.0, base + if n > 3 { 50.0 } else { 30.0 });
        }
    }
    format!("<svg class='st-chunks-svg' width='{width:.0}' height='{height:.0}' viewBox='0 0 {width:.0} {height:.0}' xmlns='http://www.w3.org/2000/svg'>{body}</svg>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::prelude::*;

    #[test]
    fn the_table_and_diagram_follow_the_chunks() {
        let x = zeros::<f32>(&[480, 90, 180], &[12, 90, 180]);
        let html = array_html(x.plan());
        assert!(html.contains("<td>29.66 MiB</td><td>759.38 KiB</td>"), "{html}");
        assert!(html.contains("<td>(480, 90, 180)</td><td>(12, 90, 180)</td>"), "{html}");
        assert!(html.contains("40 chunks in a plan of 1 node"), "{html}");
        assert!(html.contains("<polygon"), "a 3-D array is drawn as a cube");
        let two = ones::<f64>(&[10, 10], &[5, 2]);
        let svg2 = svg(two.plan());
        // 3 row lines and 6 column lines: the grid's chunk boundaries.
        assert_eq!(svg2.matches("<line").count(), 3 + 6, "{svg2}");
        assert!(svg(ones::<f64>(&[7], &[2]).plan()).contains(">7</text>"));
        let four = zeros::<f64>(&[3, 4, 5, 6], &[1, 2, 5, 6]);
        assert_eq!(svg(four.plan()).matches("<polygon").count(), 2 * 3, "three cubes for the leading axis of 3");
    }
}
