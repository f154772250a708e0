//! Drawing maps ([`MapSpec`]): the field is rasterised (each pixel row is one latitude, true
//! of both projections; each pixel is mapped back to a longitude and the field sampled there:
//! the nearest cell for pcolormesh, bilinear for contourf, then classified into its band).
//! Contour lines come from the `contour` crate's marching squares in grid space, then
//! projected. plotters draws the lines, text and colorbar over the raster.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use strata_display::plot::{Extend, Figure, Fill, Frame, Grid, MapSpec, Norm, PlotError, Projection, Rgb};

use crate::colormap::Colormap;
use crate::draw::{color, ensure_font, polyline, Bounds, FAMILY};
use crate::ticks::{degree_ticks, label, nice_levels, nice_ticks};

/// The pixel box of the map.
fn bounds_of(frame: &Frame) -> Bounds {
    Bounds { x0: frame.left, y0: frame.top, x1: frame.left + frame.w, y1: frame.top + frame.h }
}

/// How a value becomes a color.
enum Painter {
    Mesh { norm: Norm, cmap: Colormap },
    Bands { levels: Vec<f64>, colors: Vec<Rgb>, under: Option<Rgb>, over: Option<Rgb> },
}

impl Painter {
    fn paint(&self, v: f64) -> Option<Rgb> {
        if !v.is_finite() {
            return None;
        }
        match self {
            Painter::Mesh { norm, cmap } => Some(cmap.at(norm.apply(v))),
            Painter::Bands { levels, colors, under, over } => {
                let last = levels.len() - 1;
                if v < levels[0] {
                    *under
                } else if v > levels[last] {
                    *over
                } else {
                    // Bands are [l_k, l_k+1), the last one closed.
                    let k = levels.partition_point(|&l| l <= v).saturating_sub(1).min(last - 1);
                    Some(colors[k])
                }
            }
        }
    }
}

fn painter(spec: &MapSpec, grid: &Grid) -> Result<(Option<Painter>, Option<Colormap>), PlotError> {
    let (dmin, dmax) = grid.range();
    let diverging = dmin < 0.0 && dmax > 0.0 && spec.norm.is_none();
    let cmap = match &spec.cmap {
        Some(name) => Colormap::named(name)?,
        None if diverging && spec.fill == Fill::Mesh && spec.limits.is_none() => Colormap::named("RdBu_r")?,
        None => Colormap::viridis(),
    };
    match &spec.fill {
        Fill::None => Ok((None, None)),
        Fill::Mesh => {
            let norm = match (spec.norm, spec.limits) {
                (Some(n), _) => n.resolved(dmin, dmax)?,
                (None, Some((lo, hi))) => Norm::linear(lo, hi).resolved(dmin, dmax)?,
                // xarray centres data that straddles zero on zero.
                (None, None) if diverging && spec.cmap.is_none() => {
                    let m = dmin.abs().max(dmax.abs());
                    Norm::linear(-m, m)
                }
                (None, None) => Norm::linear(dmin, dmax).resolved(dmin, dmax)?,
            };
            Ok((Some(Painter::Mesh { norm, cmap }), Some(cmap)))
        }
        Fill::Bands(levels) => {
            let levels = checked_levels(levels)?;
            let last = levels.len() - 1;
            let norm = spec.norm.unwrap_or(Norm::linear(f64::NAN, f64::NAN)).resolved(levels[0], levels[last])?;
            let colors = levels.windows(2).map(|w| cmap.at(norm.apply(0.5 * (w[0] + w[1])))).collect();
            let (under, over) = match spec.extend {
                Extend::Auto => (dmin < levels[0], dmax > levels[last]),
                Extend::Neither => (false, false),
                Extend::Min => (true, false),
                Extend::Max => (false, true),
                Extend::Both => (true, true),
            };
            let under = under.then(|| cmap.at(norm.apply(levels[0]).min(0.0)));
            let over = over.then(|| cmap.at(norm.apply(levels[last]).max(1.0)));
            Ok((Some(Painter::Bands { levels, colors, under, over }), Some(cmap)))
        }
    }
}

/// Draws a map.
pub(crate) fn render_map(spec: &MapSpec) -> Result<Figure, PlotError> {
    ensure_font();
    let (grid, projection) = (&spec.grid, spec.projection);
    let (painter, _) = painter(spec, grid)?;
    let land = spec.land;
    let line_color = spec.line_color;
    let line_levels = match &spec.lines {
        Some(l) if l.is_empty() => {
            let (lo, hi) = grid.range();
            Some(nice_levels(lo, hi, 8))
        }
        Some(l) => Some(checked_line_levels(l)?),
        None => None,
    };

    // The extent: the whole globe for a cyclic grid spanning most latitudes, else the
    // grid's cells (its outline sampled, since Robinson bends meridians).
    let (lat_lo, lat_hi) = grid.lat.edges();
    let (lat_lo, lat_hi) = (lat_lo.max(-90.0), lat_hi.min(90.0));
    let global = grid.lon.cyclic && lat_hi - lat_lo > 100.0;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    let (lon_lo, lon_hi) = if grid.lon.cyclic { (-180.0, 180.0) } else { grid.lon.edges() };
    let (lat_lo, lat_hi) = if global { (-90.0, 90.0) } else { (lat_lo, lat_hi) };
    for k in 0..=64 {
        let f = k as f64 / 64.0;
        for (rel, lat) in [(lon_lo, lat_lo + f * (lat_hi - lat_lo)), (lon_hi, lat_lo + f * (lat_hi - lat_lo)), (lon_lo + f * (lon_hi - lon_lo), lat_lo), (lon_lo + f * (lon_hi - lon_lo), lat_hi), (0.0f64.clamp(lon_lo, lon_hi), lat_lo + f * (lat_hi - lat_lo))] {
            let (x, y) = projection.forward_relative(rel, lat);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if !(x1 > x0 && y1 > y0) {
        return Err(PlotError::NotPlottable { what: format!("'{}'", spec.name), why: "its grid covers no area".into() });
    }

    let ticks = matches!(projection, Projection::PlateCarree { .. });
    let (left, right, top, bottom) = (if ticks { 52.0 } else { 14.0 }, if spec.colorbar && painter.is_some() { 110.0 } else { 14.0 }, 40.0, if ticks { 30.0 } else { 14.0 });
    let mut w = spec.width as f64 - left - right;
    let ratio = (y1 - y0) / (x1 - x0);
    let mut h = (w * ratio).round();
    if h > 700.0 {
        h = 700.0;
        w = (h / ratio).round();
    }
    let (width, height) = ((left + w + right) as u32, (top + h + bottom) as u32);
    let frame = Frame { x0, x1, y0, y1, left, top, w, h };

    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    rasterise(&mut rgb, width, &frame, &projection, grid, painter.as_ref(), land);
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        let err = |e: DrawingAreaErrorKind<_>| PlotError::Draw(e.to_string());
        let bounds = bounds_of(&frame);
        if spec.coastlines {
            for ring in strata_api::geo::land().iter().flatten() {
                for run in project_path(ring.iter().copied(), &projection, &frame) {
                    for part in bounds.clip_path(&run) {
                        polyline(&root, &part, BLACK.stroke_width(1)).map_err(err)?;
                    }
                }
            }
        }
        if let Some(levels) = &line_levels {
            draw_contours(spec, &root, grid, levels, &projection, &frame, color(line_color))?;
        }
        draw_outline(&root, &projection, &frame, global)?;
        if ticks {
            draw_ticks(&root, &projection, &frame)?;
        }
        if let (true, Some(p)) = (spec.colorbar, &painter) {
            draw_colorbar(spec, &root, p, &frame)?;
        }
        let title = spec.title.clone();
        let style = TextStyle::from((FAMILY, 16).into_font()).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(title, ((left + w / 2.0) as i32, 20), style)).map_err(err)?;
        root.present().map_err(err)?;
    }
    let title = format!("{} map of {}", projection.name(), spec.title);
    crate::figure(width, height, rgb, None, title, Some((projection, frame)))
}

/// Paints each pixel of the map box: outside the globe white, land in its color, else
/// the field's color where it has a value.
#[allow(clippy::too_many_arguments)]
fn rasterise(rgb: &mut [u8], width: u32, frame: &Frame, projection: &Projection, grid: &Grid, painter: Option<&Painter>, land: Option<Rgb>) {
    let (w, h) = (frame.w as usize, frame.h as usize);
    let mut rel = vec![f64::NAN; w];
    for py in 0..h {
        let y = frame.y1 - (py as f64 + 0.5) / frame.h * (frame.y1 - frame.y0);
        let Some(lat) = projection.latitude_of(y) else { continue };
        let lat_at = grid.lat.locate(lat);
        for (px, r) in rel.iter_mut().enumerate() {
            let x = frame.x0 + (px as f64 + 0.5) / frame.w * (frame.x1 - frame.x0);
            *r = projection.inverse_relative(x, y).map_or(f64::NAN, |(lon, _)| lon);
        }
        let land_row = land.map(|_| {
            let inside: Vec<f64> = rel.iter().filter(|r| r.is_finite()).map(|r| r + projection.central_longitude()).collect();
            let mask = strata_api::geo::land_mask(&[lat], &inside);
            let mut it = mask.into_iter();
            rel.iter().map(|r| r.is_finite() && it.next().unwrap_or(false)).collect::<Vec<bool>>()
        });
        let row = (frame.top as usize + py) * width as usize;
        for px in 0..w {
            if !rel[px].is_finite() {
                continue;
            }
            let c = if land_row.as_ref().is_some_and(|m| m[px]) {
                land
            } else {
                match (painter, lat_at, grid.lon.locate(rel[px])) {
                    (Some(p @ Painter::Mesh { .. }), Some(a), Some(b)) => p.paint(grid.nearest(a, b)),
                    (Some(p @ Painter::Bands { .. }), Some(a), Some(b)) => p.paint(grid.bilinear(a, b)),
                    _ => None,
                }
            };
            if let Some(Rgb(r, g, b)) = c {
                let i = 3 * (row + frame.left as usize + px);
                rgb[i..i + 3].copy_from_slice(&[r, g, b]);
            }
        }
    }
}

fn draw_contours<DB: DrawingBackend>(spec: &MapSpec, root: &DrawingArea<DB, plotters::coord::Shift>, grid: &Grid, levels: &[f64], projection: &Projection, frame: &Frame, line: RGBColor) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    let (nlat, nlon) = grid.values.dim();
    if nlat < 2 || nlon < 2 {
        return Ok(());
    }
    // A cyclic grid gets its first column again at the end, so lines close across the wrap.
    let nx = if grid.lon.cyclic { nlon + 1 } else { nlon };
    let flat: Vec<f64> = (0..nlat).flat_map(|i| (0..nx).map(move |j| (i, j % nlon))).map(|(i, j)| grid.values[[i, j]]).collect();
    let lines = contour::ContourBuilder::new(nx, nlat, true).lines(&flat, levels).map_err(|e| PlotError::Draw(format!("contour lines: {e:?}")))?;
    let bounds = bounds_of(frame);
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for l in &lines {
        for ls in l.geometry().0.iter() {
            // Grid-space vertices to (lon, lat); a vertex beside a missing value ends the
            // line there (marching squares treats missing values as low, which would draw
            // false lines around every coast).
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for c in ls.0.iter() {
                let (gx, gy) = (c.x - CONTOUR_OFFSET, c.y - CONTOUR_OFFSET);
                // Rings close along the grid's border, outside its points: not a contour.
                let outside = gy < -1e-9 || gy > (nlat - 1) as f64 + 1e-9 || gx < -1e-9 || gx > (nx - 1) as f64 + 1e-9;
                if outside {
                    runs.push(Vec::new());
                    continue;
                }
                let near_missing = [gy.floor(), gy.ceil()].iter().any(|&i| {
                    [gx.floor(), gx.ceil()].iter().any(|&j| {
                        let (i, j) = (i.clamp(0.0, (nlat - 1) as f64) as usize, (j.max(0.0) as usize) % nlon);
                        !grid.values[[i, j]].is_finite()
                    })
                });
                if near_missing {
                    runs.push(Vec::new());
                    continue;
                }
                if let Some(run) = runs.last_mut() {
                    run.push((grid.lon.at_index(gx), grid.lat.at_index(gy)));
                }
            }
            for run in runs.into_iter().filter(|r| r.len() > 1) {
                for pixels in project_path(run.into_iter().map(|(rel, lat)| (rel + projection.central_longitude(), lat)), projection, frame) {
                    for part in bounds.clip_path(&pixels) {
                        polyline(root, &part, line.stroke_width(1)).map_err(err)?;
                        if spec.labels {
                            label_line(root, &part, l.threshold(), &mut placed)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn draw_outline<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, projection: &Projection, frame: &Frame, global: bool) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    let style = RGBColor(60, 60, 60).stroke_width(1);
    if global && matches!(projection, Projection::Robinson { .. }) {
        let mut edge: Vec<(f64, f64)> = (-90..=90).map(|lat| projection.forward_relative(-180.0, lat as f64)).collect();
        edge.extend((-90..=90).rev().map(|lat| projection.forward_relative(180.0, lat as f64)));
        edge.push(edge[0]);
        let pixels: Vec<(i32, i32)> = edge.iter().map(|&(x, y)| frame.to_pixel(x, y)).map(|(x, y)| (x.round() as i32, y.round() as i32)).collect();
        polyline(root, &pixels, style).map_err(err)?;
    } else {
        let b = bounds_of(frame);
        root.draw(&Rectangle::new([(b.x0 as i32, b.y0 as i32), (b.x1 as i32, b.y1 as i32)], style)).map_err(err)?;
    }
    Ok(())
}

fn draw_colorbar<DB: DrawingBackend>(spec: &MapSpec, root: &DrawingArea<DB, plotters::coord::Shift>, painter: &Painter, frame: &Frame) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    let bx0 = (frame.left + frame.w + 18.0) as i32;
    let bx1 = bx0 + 16;
    let (top, bottom) = (frame.top + 0.06 * frame.h, frame.top + 0.94 * frame.h);
    let length = bottom - top;
    let text = TextStyle::from((FAMILY, 12).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let mut last_label = f64::INFINITY;
    let mut tick = |y: f64, value: f64, force: bool| -> Result<(), PlotError> {
        root.draw(&PathElement::new(vec![(bx1, y.round() as i32), (bx1 + 4, y.round() as i32)], BLACK)).map_err(err)?;
        if force || (last_label - y).abs() >= 14.0 {
            root.draw(&Text::new(label(value), (bx1 + 7, y.round() as i32), text.clone())).map_err(err)?;
            last_label = y;
        }
        Ok(())
    };
    match painter {
        Painter::Mesh { norm, cmap } => {
            for k in 0..length as i32 {
                let t = 1.0 - k as f64 / length;
                let c = cmap.at(t);
                let y = top as i32 + k;
                root.draw(&Rectangle::new([(bx0, y), (bx1, y + 1)], color(c).filled())).map_err(err)?;
            }
            let (lo, hi) = norm.limits();
            for v in nice_ticks(lo, hi, 6) {
                let t = norm.apply(v);
                tick(bottom - t * length, v, false)?;
            }
        }
        Painter::Bands { levels, colors, under, over } => {
            let mut segments: Vec<Rgb> = Vec::new();
            segments.extend(under.iter().copied());
            segments.extend(colors.iter().copied());
            segments.extend(over.iter().copied());
            let step = length / segments.len() as f64;
            for (k, c) in segments.iter().enumerate() {
                let (y_hi, y_lo) = (bottom - (k + 1) as f64 * step, bottom - k as f64 * step);
                root.draw(&Rectangle::new([(bx0, y_hi.round() as i32), (bx1, y_lo.round() as i32)], color(*c).filled())).map_err(err)?;
            }
            let offset = usize::from(under.is_some());
            for (k, &l) in levels.iter().enumerate() {
                tick(bottom - (k + offset) as f64 * step, l, false)?;
            }
        }
    }
    root.draw(&Rectangle::new([(bx0, top as i32), (bx1, bottom as i32)], BLACK.stroke_width(1))).map_err(err)?;
    if let Some(units) = &spec.units {
        let style = TextStyle::from((FAMILY, 13).into_font().transform(FontTransform::Rotate270)).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(units.to_string(), (bx1 + 70, ((top + bottom) / 2.0) as i32), style)).map_err(err)?;
    }
    Ok(())
}

/// Where marching squares puts grid point (i, j): contour-rs, like d3-contour, places the
/// value of cell (i, j) at (j + 0.5, i + 0.5).
const CONTOUR_OFFSET: f64 = 0.5;

fn checked_levels(levels: &[f64]) -> Result<Vec<f64>, PlotError> {
    if levels.len() < 2 {
        return Err(PlotError::BadLevels(format!("{} given; at least two are needed", levels.len())));
    }
    if levels.iter().any(|l| !l.is_finite()) || levels.windows(2).any(|w| w[1] <= w[0]) {
        return Err(PlotError::BadLevels(format!("{levels:?} must be finite and strictly increasing")));
    }
    Ok(levels.to_vec())
}

/// Contour lines need one level or more, finite and increasing.
fn checked_line_levels(levels: &[f64]) -> Result<Vec<f64>, PlotError> {
    if levels.len() == 1 && levels[0].is_finite() {
        return Ok(levels.to_vec());
    }
    checked_levels(levels)
}

/// (lon, lat) points -> pixel polylines, broken where a line crosses the map's edge (the
/// antimeridian of the central longitude), so no line is drawn across the whole map.
fn project_path(points: impl Iterator<Item = (f64, f64)>, projection: &Projection, frame: &Frame) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let mut prev: Option<f64> = None;
    for (lon, lat) in points {
        let rel = projection.relative_longitude(lon);
        if prev.is_some_and(|p| (rel - p).abs() > 180.0) {
            runs.push(Vec::new());
        }
        prev = Some(rel);
        let (x, y) = projection.forward_relative(rel, lat);
        if let Some(run) = runs.last_mut() {
            run.push(frame.to_pixel(x, y));
        }
    }
    runs.retain(|r| r.len() > 1);
    runs
}

/// Puts a level's value on a long enough line, over a white patch, away from other labels.
fn label_line<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, line: &[(i32, i32)], level: f64, placed: &mut Vec<(f64, f64)>) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    let length: f64 = line.windows(2).map(|w| (((w[1].0 - w[0].0).pow(2) + (w[1].1 - w[0].1).pow(2)) as f64).sqrt()).sum();
    if length < 90.0 || placed.len() >= 60 {
        return Ok(());
    }
    let mut walked = 0.0;
    let mut at = line[0];
    for w in line.windows(2) {
        walked += (((w[1].0 - w[0].0).pow(2) + (w[1].1 - w[0].1).pow(2)) as f64).sqrt();
        if walked >= length / 2.0 {
            at = w[1];
            break;
        }
    }
    let (x, y) = (at.0 as f64, at.1 as f64);
    if placed.iter().any(|&(px, py)| (px - x).abs() < 60.0 && (py - y).abs() < 24.0) {
        return Ok(());
    }
    placed.push((x, y));
    let text = label(level);
    let half = 3 * text.len() as i32 + 3;
    root.draw(&Rectangle::new([(at.0 - half, at.1 - 7), (at.0 + half, at.1 + 7)], WHITE.filled())).map_err(err)?;
    let style = TextStyle::from((FAMILY, 11).into_font()).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(text, at, style)).map_err(err)?;
    Ok(())
}

/// Longitude and latitude labels along the bottom and left of a PlateCarree map.
fn draw_ticks<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>, projection: &Projection, frame: &Frame) -> Result<(), PlotError> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| PlotError::Draw(e.to_string());
    let c = projection.central_longitude();
    let (lon0, lon1) = (frame.x0.to_degrees(), frame.x1.to_degrees());
    let (lat0, lat1) = (frame.y0.to_degrees(), frame.y1.to_degrees());
    let below = TextStyle::from((FAMILY, 11).into_font()).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
    for rel in degree_ticks(lon0, lon1, 6) {
        let (px, py) = frame.to_pixel(rel.to_radians(), frame.y0);
        let lon = (rel + c + 180.0).rem_euclid(360.0) - 180.0;
        let text = match lon {
            l if l.abs() < 1e-9 || (l.abs() - 180.0).abs() < 1e-9 => format!("{}°", label(l.abs())),
            l if l > 0.0 => format!("{}°E", label(l)),
            l => format!("{}°W", label(-l)),
        };
        root.draw(&PathElement::new(vec![(px as i32, py as i32), (px as i32, py as i32 + 4)], BLACK)).map_err(err)?;
        root.draw(&Text::new(text, (px as i32, py as i32 + 6), below.clone())).map_err(err)?;
    }
    let beside = TextStyle::from((FAMILY, 11).into_font()).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
    for lat in degree_ticks(lat0, lat1, 5) {
        let (px, py) = frame.to_pixel(frame.x0, lat.to_radians());
        let text = match lat {
            l if l.abs() < 1e-9 => "0°".to_string(),
            l if l > 0.0 => format!("{}°N", label(l)),
            l => format!("{}°S", label(-l)),
        };
        root.draw(&PathElement::new(vec![(px as i32 - 4, py as i32), (px as i32, py as i32)], BLACK)).map_err(err)?;
        root.draw(&Text::new(text, (px as i32 - 6, py as i32), beside.clone())).map_err(err)?;
    }
    Ok(())
}


