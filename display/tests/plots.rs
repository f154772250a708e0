//! Plots drawn from labeled data, checked by their pixels: sizes, a known pixel inside a
//! filled band, the colorbar, land, contour lines, projections and the seam, line plots,
//! saved files and the errors of things that cannot be plotted.

use ndarray::{Array1, Array2};
use strata_display::plot::{Extend, Norm, Plot, PlotError, Projection, Rgb};
use strata_render::Colormap;
use strata::prelude::*;

/// A global 1-degree field whose value is `f(lat, lon)`, longitudes 0.5 ..= 359.5.
fn global(f: impl Fn(f64, f64) -> f64) -> DataArray<f64> {
    let lats: Vec<f64> = (0..180).map(|i| -89.5 + i as f64).collect();
    let lons: Vec<f64> = (0..360).map(|j| 0.5 + j as f64).collect();
    let values = Array2::from_shape_fn((180, 360), |(i, j)| f(lats[i], lons[j])).into_dyn();
    DataArray::new(from_array(values, ChunkSpec::Uniform(90)), &["lat", "lon"])
        .unwrap()
        .with_index("lat", lats)
        .unwrap()
        .with_index("lon", lons)
        .unwrap()
        .with_name("o2")
        .with_attr("long_name", "Dissolved oxygen")
        .with_attr("units", "mmol m-3")
}

fn close(a: Rgb, b: Rgb) -> bool {
    (a.0 as i32 - b.0 as i32).abs() <= 2 && (a.1 as i32 - b.1 as i32).abs() <= 2 && (a.2 as i32 - b.2 as i32).abs() <= 2
}

#[test]
fn a_pixel_inside_a_filled_band_has_the_bands_color() {
    let levels = [0.0, 20.0, 40.0, 60.0, 80.0, 120.0, 200.0, 300.0];
    // Oxygen rising with latitude: 0 at the equator, 300 at the poles.
    let da = global(|lat, _| lat.abs() / 90.0 * 300.0);
    let fig = da.contourf(&levels).cmap("RdBu").norm(Norm::centered(60.0)).coastlines(false).figure().unwrap();
    assert_eq!(fig.width(), 860);
    let rdbu = Colormap::named("RdBu").unwrap();
    let norm = Norm::centered_within(0.0, 60.0, 300.0);
    // At 30N the value is 100: the band 80..120, colored at the norm of its middle (100).
    let (x, y) = fig.pixel_at(-150.0, 30.0).unwrap();
    let got = fig.pixel(x, y).unwrap();
    assert!(close(got, rdbu.at(norm.apply(100.0))), "{got:?} vs {:?}", rdbu.at(norm.apply(100.0)));
    // At 5S (value 16.7) the band 0..20, on the red side of the centred norm.
    let (x, y) = fig.pixel_at(-150.0, -5.0).unwrap();
    let red = fig.pixel(x, y).unwrap();
    assert!(close(red, rdbu.at(norm.apply(10.0))) && red.0 > red.2, "{red:?}");
    // The band holding the centre (60..80) is near white.
    let (x, y) = fig.pixel_at(-150.0, 21.0).unwrap();
    let mid = fig.pixel(x, y).unwrap();
    assert!(mid.0 > 200 && mid.1 > 200 && mid.2 > 200, "{mid:?}");
    // The colorbar, right of the map, shows the first band's color at its bottom and the
    // last band's at its top.
    let bar_x = (fig.width() - 110 + 26).min(fig.width() - 1);
    let column: Vec<Rgb> = (0..fig.height()).filter_map(|y| fig.pixel(bar_x, y)).collect();
    assert!(column.iter().any(|&c| close(c, rdbu.at(norm.apply(10.0)))), "first band in the colorbar");
    assert!(column.iter().any(|&c| close(c, rdbu.at(norm.apply(250.0)))), "last band in the colorbar");
}

#[test]
fn values_beyond_the_levels_extend_as_xarray_does_or_stay_blank() {
    let da = global(|lat, _| lat);
    let viridis = Colormap::viridis();
    let fig = da.contourf(&[-30.0, 0.0, 30.0]).coastlines(false).figure().unwrap();
    let (x, y) = fig.pixel_at(-150.0, 60.0).unwrap();
    assert!(close(fig.pixel(x, y).unwrap(), viridis.at(1.0)), "auto extend colors beyond the top level");
    let fig = da.contourf(&[-30.0, 0.0, 30.0]).extend(Extend::Neither).coastlines(false).figure().unwrap();
    let (x, y) = fig.pixel_at(-150.0, 60.0).unwrap();
    assert_eq!(fig.pixel(x, y).unwrap(), Rgb(255, 255, 255), "left blank without extend");
}

#[test]
fn robinson_maps_centre_their_longitude_and_have_no_seam() {
    // The value is the longitude east of 20E, so the colormap runs round the globe once.
    let da = global(|_, lon| (lon - 20.0).rem_euclid(360.0));
    let fig = da.pcolormesh().cmap("viridis").projection(Projection::robinson(200.0)).coastlines(false).figure().unwrap();
    // The map's middle is the central longitude (value 180, mid-colormap).
    let (x, y) = fig.pixel_at(200.0, 0.0).unwrap();
    let viridis = Colormap::viridis();
    let (lo, hi) = (0.5, 359.5);
    assert!(close(fig.pixel(x, y).unwrap(), viridis.at((180.5 - lo) / (hi - lo))) || close(fig.pixel(x, y).unwrap(), viridis.at((179.5 - lo) / (hi - lo))));
    // The corners of a Robinson map are off the globe: white.
    let (x0, _) = fig.pixel_at(20.5, 0.0).unwrap();
    let (_, ytop) = fig.pixel_at(200.0, 89.0).unwrap();
    assert_eq!(fig.pixel(x0 + 2, ytop).unwrap(), Rgb(255, 255, 255));
    // No seam: along the equator every pixel inside the globe has a color from the field.
    let (xl, y) = fig.pixel_at(20.6, 0.0).unwrap();
    let (xr, _) = fig.pixel_at(19.4, 0.0).unwrap();
    let blank = (xl + 1..xr).filter(|&x| fig.pixel(x, y) == Some(Rgb(255, 255, 255))).count();
    assert_eq!(blank, 0, "white pixels along the equator");
}

#[test]
fn land_is_drawn_over_the_field_and_coastlines_outline_it() {
    let da = global(|_, _| 100.0);
    let fig = da.contourf(&[0.0, 50.0, 150.0]).land("black").figure().unwrap();
    let (x, y) = fig.pixel_at(20.0, 5.0).unwrap(); // central Africa
    assert_eq!(fig.pixel(x, y).unwrap(), Rgb(0, 0, 0));
    let (x, y) = fig.pixel_at(-150.0, 0.0).unwrap(); // central Pacific
    assert_ne!(fig.pixel(x, y).unwrap(), Rgb(0, 0, 0));
    // Coastlines alone: dark pixels across Africa's outline, none in the open Pacific.
    let fig = da.contourf(&[0.0, 50.0, 150.0]).figure().unwrap();
    let (xa, y) = fig.pixel_at(-20.0, 10.0).unwrap();
    let (xb, _) = fig.pixel_at(60.0, 10.0).unwrap();
    let dark = |x: u32, y: u32| fig.pixel(x, y).is_some_and(|c| c.0 < 60 && c.1 < 60 && c.2 < 60);
    assert!((xa..xb).any(|x| dark(x, y)), "Africa's coast crosses 10N");
    let (xp, yp) = fig.pixel_at(-150.0, 0.0).unwrap();
    assert!(!(xp - 5..xp + 5).any(|x| dark(x, yp)));
}

#[test]
fn contour_lines_lie_on_their_level() {
    let da = global(|lat, _| lat);
    let fig = da.contour(&[0.0]).labels(false).coastlines(false).figure().unwrap();
    let dark = |x: u32, y: u32| fig.pixel(x, y).is_some_and(|c| c.0 < 100 && c.1 < 100 && c.2 < 100);
    let (x0, y) = fig.pixel_at(-170.0, 0.0).unwrap();
    let (x1, _) = fig.pixel_at(170.0, 0.0).unwrap();
    let on = (x0..x1).filter(|&x| dark(x, y) || dark(x, y + 1) || dark(x, y.saturating_sub(1))).count();
    assert!(on as f64 > 0.95 * (x1 - x0) as f64, "the zero line follows the equator: {on} of {}", x1 - x0);
    let (x, y30) = fig.pixel_at(0.0, 30.0).unwrap();
    assert!(!dark(x, y30), "nothing drawn at 30N");
}

#[test]
fn line_plots_show_the_series_with_dates_and_units() {
    let n = 120;
    let times: Vec<i64> = (0..n).map(|m| DateTime::new(1990 + m / 12, (m % 12) as u32 + 1, 15).to_instant(Calendar::Standard)).collect();
    let mut values: Array1<f64> = (0..n).map(|m| (m as f64 / 12.0 * std::f64::consts::TAU).sin()).collect();
    values[50] = f64::NAN;
    let da = DataArray::new(from_array(values.into_dyn(), ChunkSpec::Uniform(60)), &["time"])
        .unwrap()
        .with_coord("time", Coordinate::new(&["time"], Values::from_times(times, Calendar::Standard)))
        .unwrap()
        .with_name("nino34")
        .with_attr("units", "degC");
    let fig = da.plot().unwrap();
    assert_eq!((fig.width(), fig.height()), (720, 360));
    assert_eq!(&fig.png()[..8], b"\x89PNG\r\n\x1a\n");
    let svg = fig.svg();
    assert!(svg.contains("nino34 [degC]") && svg.contains("time"), "axis labels in the SVG");
    let years = (1990..=1999).filter(|y| svg.contains(&format!("\n{y}\n"))).count();
    assert!(years >= 3, "the time axis is labelled with years: {years}");
    // The line is drawn: some pixels of its color.
    let blue = (0..fig.height()).flat_map(|y| (0..fig.width()).map(move |x| (x, y))).filter(|&(x, y)| fig.pixel(x, y) == Some(Rgb(31, 119, 180))).count();
    assert!(blue > 300, "{blue} line pixels");
    let dir = std::env::temp_dir().join(format!("strata-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    fig.save(dir.join("nino.png")).unwrap();
    assert_eq!(std::fs::read(dir.join("nino.png")).unwrap(), fig.png());
    da.line().hline(0.5).save(dir.join("nino.svg")).unwrap();
    assert!(std::fs::read_to_string(dir.join("nino.svg")).unwrap().starts_with("<svg"));
    assert!(matches!(fig.save(dir.join("nino.jpg")), Err(PlotError::Format { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_cannot_be_plotted_says_why() {
    let cube = DataArray::new(zeros::<f64>(&[2, 3, 4], &[2, 3, 4]), &["time", "lat", "lon"]).unwrap();
    let err = cube.plot().unwrap_err().to_string();
    assert!(err.contains("3 dimensions") && err.contains("time, lat, lon"), "{err}");
    let da = global(|lat, _| lat);
    let err = da.contourf(&[3.0, 1.0]).figure().unwrap_err().to_string();
    assert!(err.contains("strictly increasing"), "{err}");
    let err = da.pcolormesh().cmap("jet2").figure().unwrap_err().to_string();
    assert!(err.contains("jet2") && err.contains("viridis"), "{err}");
    let err = da.contourf(&[0.0, 1.0]).land("mauve-ish").figure().unwrap_err().to_string();
    assert!(err.contains("mauve-ish"), "{err}");
}

#[test]
fn a_regional_map_frames_its_grid_even_across_the_date_line() {
    // 20S-20N, 160E-160W (200E): a grid the 180 meridian cuts in two in the data's order.
    let lats: Vec<f64> = (0..41).map(|i| -20.0 + i as f64).collect();
    let lons: Vec<f64> = (0..41).map(|j| 160.0 + j as f64).collect();
    let values = Array2::from_shape_fn((41, 41), |(_, j)| j as f64).into_dyn();
    let da = DataArray::new(from_array(values, ChunkSpec::Uniform(64)), &["lat", "lon"])
        .unwrap()
        .with_index("lat", lats)
        .unwrap()
        .with_index("lon", lons.iter().map(|l| if *l > 180.0 { l - 360.0 } else { *l }).collect())
        .unwrap();
    let fig = da.pcolormesh().coastlines(false).figure().unwrap();
    let viridis = Colormap::viridis();
    // The map's corners are the grid's cells: 160E on the left, 160W on the right, in one piece.
    let (xl, y) = fig.pixel_at(160.2, 0.0).unwrap();
    let (xr, _) = fig.pixel_at(-160.2, 0.0).unwrap();
    assert!(xl < xr, "west of the date line is left of east of it");
    assert!(close(fig.pixel(xl, y).unwrap(), viridis.at(0.0)));
    assert!(close(fig.pixel(xr, y).unwrap(), viridis.at(1.0)));
    let (xm, _) = fig.pixel_at(180.0, 0.0).unwrap();
    assert!(xl < xm && xm < xr);
    assert!(fig.pixel_at(150.0, 0.0).is_none(), "outside the grid is off the map");
}

#[test]
fn plots_render_as_png_bundles_for_display_or_say_why_not() {
    use strata_display::Render;
    let da = global(|lat, _| lat);
    let bundle = da.contourf(&[-90.0, 0.0, 90.0]).mime_bundle();
    assert!(bundle["image/png"].as_str().unwrap().starts_with("iVBORw0KGgo"), "base64 PNG");
    assert!(bundle["text/plain"].as_str().unwrap().contains("PlateCarree map of Dissolved oxygen"));
    let bad = da.contourf(&[1.0]).mime_bundle();
    assert!(bad["text/plain"].as_str().unwrap().starts_with("plot failed: bad contour levels"), "{bad:?}");
    assert!(!bad.contains_key("image/png"));
}
