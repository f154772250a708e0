//! The tutorial datasets: generated on first use into the cache, opened as the workshop
//! notebooks open them, and carrying the signals the notebooks look for.

use strata::io::tutorial;
use strata::prelude::*;

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (a.iter().map(|x| (x - ma).powi(2)).sum(), b.iter().map(|y| (y - mb).powi(2)).sum());
    cov / (va * vb).sqrt()
}

#[test]
fn tutorial_datasets_generate_open_and_carry_their_signals() {
    let dir = std::env::temp_dir().join(format!("strata-tutorial-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("STRATA_DATA", &dir);

    // SST: the workshop pipeline recovers the ENSO signal the data was made with.
    let ds = tutorial::open_dataset("sst").unwrap();
    assert_eq!(ds.sizes(), vec![("time".to_string(), 480), ("lat".to_string(), 90), ("lon".to_string(), 180)]);
    let sst = ds.var("sst").unwrap();
    assert_eq!(sst.attrs()["units"], "degC");
    let gb = sst.groupby("time.month").unwrap();
    let anom = gb.sub(&gb.mean("time").unwrap()).unwrap();
    let nino = anom.sel([("lat", -5.0..=5.0), ("lon", 190.0..=240.0)]).unwrap().mean(["lat", "lon"]).unwrap();
    let got: Vec<f64> = nino.values().unwrap().iter().copied().collect();
    let truth: Vec<f64> = ds.var("nino34_signal").unwrap().values().unwrap().iter().copied().collect();
    let r = correlation(&got, &truth);
    // Not 1: the index also holds the warming trend (0.6 °C over the record) and noise.
    assert!(r > 0.9, "Nino3.4 index against the signal: r = {r}");
    // About a third of the cells are land (NaN).
    let land = sst.isel([("time", Sel::Index(0))]).unwrap().isnull().astype::<f64>().mean(..).unwrap().item().unwrap();
    assert!((0.25..0.45).contains(&land), "land fraction {land}");
    // A second open reads the cache rather than generating again.
    let modified = std::fs::metadata(tutorial::path("sst").unwrap()).unwrap().modified().unwrap();
    tutorial::open_dataset("sst").unwrap();
    assert_eq!(std::fs::metadata(tutorial::path("sst").unwrap()).unwrap().modified().unwrap(), modified);

    // SLA: a year of daily packed NetCDF files, opened together.
    let sla = tutorial::open_dataset("sla").unwrap();
    assert_eq!(sla.sizes()[0], ("time".to_string(), 365));
    let v = sla.var("sla").unwrap();
    assert_eq!(v.attrs()["units"], "m");
    let series = v.mean(["lat", "lon"]).unwrap().values().unwrap();
    assert!(series.iter().all(|x| x.is_finite() && x.abs() < 1.0));
    assert_eq!(sla.variables()["sla"].encoding["dtype"], "int32");

    // Oxygen: hypoxic water in the eastern tropical Pacific at 400 m, rich water in the south.
    let o2 = tutorial::open_dataset("oxygen").unwrap().var("o2").unwrap();
    let etp = o2.sel([("depth", 400.0)]).unwrap().sel([("lat", nearest(5.0))]).unwrap().sel([("lon", nearest(255.0))]).unwrap().item().unwrap();
    assert!(etp < 60.0, "ETP oxygen {etp}");
    let south = o2.sel([("depth", 0.0)]).unwrap().sel([("lat", nearest(-60.0))]).unwrap().sel([("lon", nearest(0.0))]).unwrap().item().unwrap();
    assert!(south > 300.0, "Southern Ocean surface oxygen {south}");

    assert!(matches!(tutorial::open_dataset("air_temperature"), Err(StrataError::UnknownVariable { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}
