//! Draws the tutorial datasets' figures into a directory, for looking at (and as examples of
//! the plotting API): `cargo run --release -p strata-display --example plot_gallery -- DIR`.

use strata::prelude::*;
use strata_display::plot::{Norm, Plot, Projection};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "gallery".into()));
    std::fs::create_dir_all(&dir)?;
    let sst = strata::io::tutorial::open_dataset("sst")?.var("sst")?;
    let gb = sst.groupby("time.month")?;
    let clim = gb.mean("time")?;
    let anom = gb.sub(&clim)?;
    let nino34 = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)])?.mean(["lat", "lon"])?.rolling("time", 3).mean()?.with_name("nino34");
    nino34.line().hline(0.5).hline(-0.5).save(dir.join("nino34.png"))?;
    nino34.line().save(dir.join("nino34.svg"))?;
    sst.isel([("time", Sel::from(0))])?.plot()?.save(dir.join("sst_first_month.png"))?;
    anom.sel([("time", "1997-12")])?.isel([("time", Sel::from(0))])?.pcolormesh().projection(Projection::robinson(-160.0)).save(dir.join("anomaly_1997_12.png"))?;
    let o2 = strata::io::tutorial::open_dataset("oxygen")?.var("o2")?.sel([("depth", nearest(400.0))])?;
    o2.contourf(&[0.0, 20.0, 40.0, 60.0, 80.0, 120.0, 160.0, 200.0, 250.0, 300.0, 350.0])
        .cmap("RdBu")
        .norm(Norm::centered(60.0))
        .projection(Projection::robinson(-160.0))
        .land("black")
        .lines(&[60.0])
        .save(dir.join("oxygen_400m.png"))?;
    let sla = strata::io::tutorial::open_dataset("sla")?.var("sla")?;
    sla.mean("time")?.with_attrs(sla.attrs().clone()).contourf(&[-0.6, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.6]).cmap("RdBu_r").lines(&[0.0]).save(dir.join("sla_mean.png"))?;
    println!("figures in {}", dir.display());
    Ok(())
}
