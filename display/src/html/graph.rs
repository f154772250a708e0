//! A drawing of a delayed task graph (dask's `visualize`), as inline SVG: one row per depth,
//! dependencies below the tasks that use them, computed tasks filled. Drawn here rather than
//! by Graphviz, which a workshop machine may not have.

use std::collections::HashMap;
use std::fmt::Write as _;

use strata::delayed::TaskGraph;

use super::escape;

/// Graphs with more tasks than this are summarised, not drawn: the picture would be noise.
pub(super) const MAX_DRAWN: usize = 400;

const ROW: f64 = 64.0;
const BOX_H: f64 = 24.0;
const GAP: f64 = 14.0;
const CHAR_W: f64 = 6.6;

/// The plain-text summary: task count, rows, and how many are computed.
pub fn graph_text(graph: &TaskGraph) -> String {
    let rows = graph.depths().into_iter().max().map_or(0, |d| d + 1);
    let done = graph.tasks.iter().filter(|t| t.done).count();
    format!("TaskGraph: {} tasks in {rows} rows, {done} computed", graph.tasks.len())
}

/// The graph as an HTML fragment holding one SVG.
pub fn graph_html(graph: &TaskGraph) -> String {
    if graph.tasks.is_empty() || graph.tasks.len() > MAX_DRAWN {
        return format!("<pre>{} (too many to draw)</pre>", escape(&graph_text(graph)));
    }
    let depths = graph.depths();
    let rows = depths.iter().max().map_or(0, |d| d + 1);
    let index: HashMap<u64, usize> = graph.tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let width_of = |i: usize| (graph.tasks[i].name.chars().count() as f64 * CHAR_W + 16.0).clamp(40.0, 160.0);

    // Rows bottom-up; within a row, tasks ordered by where their dependencies sit, which
    // keeps the edges of map-reduce shaped graphs from crossing.
    let mut x_center = vec![0.0f64; graph.tasks.len()];
    let mut row_members: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, &d) in depths.iter().enumerate() {
        row_members[d].push(i);
    }
    let mut widest: f64 = 0.0;
    for members in &mut row_members {
        let key = |i: &usize| {
            let deps = &graph.tasks[*i].deps;
            let xs: Vec<f64> = deps.iter().filter_map(|d| index.get(d)).map(|&j| x_center[j]).collect();
            if xs.is_empty() { graph.tasks[*i].id as f64 * 1e-9 } else { xs.iter().sum::<f64>() / xs.len() as f64 }
        };
        members.sort_by(|a, b| key(a).total_cmp(&key(b)));
        let mut x = GAP;
        for &i in members.iter() {
            let w = width_of(i);
            x_center[i] = x + w / 2.0;
            x += w + GAP;
        }
        widest = widest.max(x);
    }
    // Centre each row under the widest.
    for members in &row_members {
        let row_width = members.iter().map(|&i| width_of(i) + GAP).sum::<f64>() + GAP;
        let shift = (widest - row_width) / 2.0;
        for &i in members {
            x_center[i] += shift;
        }
    }
    let height = rows as f64 * ROW + GAP;
    let y_of = |i: usize| height - GAP - (depths[i] as f64) * ROW - BOX_H;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class='strata-task-graph' xmlns='http://www.w3.org/2000/svg' width='{:.0}' height='{height:.0}' viewBox='0 0 {widest:.0} {height:.0}' style='max-width:100%;height:auto' font-family='monospace' font-size='11'>\
<defs><marker id='st-arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='6' markerHeight='6' orient='auto'><path d='M0,0L10,5L0,10z' fill='#607d8b'/></marker></defs>",
        widest
    );
    for (i, task) in graph.tasks.iter().enumerate() {
        for dep in task.deps.iter().filter_map(|d| index.get(d)) {
            let _ = write!(
                svg,
                "<line x1='{:.1}' y1='{:.1}' x2='{:.1}' y2='{:.1}' stroke='#607d8b' stroke-width='1' marker-end='url(#st-arrow)'/>",
                x_center[*dep],
                y_of(*dep),
                x_center[i],
                y_of(i) + BOX_H
            );
        }
    }
    for (i, task) in graph.tasks.iter().enumerate() {
        let w = width_of(i);
        let fill = if task.done { "#c8e6c9" } else { "#ffffff" };
        let name: String = if task.name.chars().count() as f64 * CHAR_W + 16.0 > 160.0 {
            task.name.chars().take(((160.0 - 16.0) / CHAR_W) as usize - 1).chain(['…']).collect()
        } else {
            task.name.clone()
        };
        let _ = write!(
            svg,
            "<g><title>{}</title><rect x='{:.1}' y='{:.1}' width='{w:.1}' height='{BOX_H}' rx='5' fill='{fill}' stroke='#37474f'/>\
<text x='{:.1}' y='{:.1}' text-anchor='middle' dominant-baseline='central'>{}</text></g>",
            escape(&format!("{} (task {}){}", task.name, task.id, if task.done { ", computed" } else { "" })),
            x_center[i] - w / 2.0,
            y_of(i),
            x_center[i],
            y_of(i) + BOX_H / 2.0,
            escape(&name)
        );
    }
    svg.push_str("</svg>");
    format!("<div>{svg}<div style='font-size:11px;color:#607d8b'>{}</div></div>", escape(&graph_text(graph)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::delayed::delayed;

    #[test]
    fn each_task_is_a_box_each_dependency_an_edge() {
        let loads: Vec<_> = (0..3).map(|i| delayed(move || i).named(&format!("load-{i}"))).collect();
        let total = strata::delayed::join_all(&loads).map(|v| v.iter().sum::<i32>()).named("sum<all>");
        let html = graph_html(&total.visualize());
        assert_eq!(html.matches("<rect").count(), 5, "{html}");
        // 3 loads into join_all, join_all into sum.
        assert_eq!(html.matches("<line").count(), 4, "{html}");
        assert!(html.contains("sum&lt;all&gt;") && html.contains("load-2"), "{html}");
        assert!(graph_text(&total.visualize()).starts_with("TaskGraph: 5 tasks in 3 rows, 0 computed"));
        total.compute().unwrap();
        assert_eq!(graph_html(&total.visualize()).matches("#c8e6c9").count(), 5);
    }

    #[test]
    fn dependencies_are_drawn_below_their_users() {
        let a = delayed(|| 1).named("a");
        let b = a.map(|v| v + 1).named("b");
        let html = graph_html(&b.visualize());
        let y = |name: &str| {
            let at = html.find(&format!(">{name}</text>")).unwrap();
            let y_attr = &html[..at].rsplit("y='").next().unwrap();
            y_attr.split('\'').next().unwrap().parse::<f64>().unwrap()
        };
        assert!(y("a") > y("b"), "{html}");
    }
}
