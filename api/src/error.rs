//! The runtime's one error type.

/// Everything a runtime computation can fail with, each variant naming its cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The user interrupted the computation (Ctrl-C, or the notebook's stop button).
    #[error("computation interrupted after {completed} of {total} tasks")]
    Interrupted { completed: usize, total: usize },
    #[error("{op}: shapes {left:?} and {right:?} do not fit together")]
    ShapeMismatch { op: &'static str, left: Vec<usize>, right: Vec<usize> },
    #[error("{op}: axis {axis} is out of range for an array of {ndim} dimensions")]
    AxisOutOfRange { op: &'static str, axis: usize, ndim: usize },
    #[error("index {index} is out of range for axis {axis} of length {len}")]
    IndexOutOfRange { axis: usize, index: usize, len: usize },
    #[error("{op}: expected {expected} values, got {got}")]
    WrongLength { op: &'static str, expected: usize, got: usize },
    #[error("invalid chunks: {reason}")]
    InvalidChunks { reason: String },
    #[error("{op} needs at least one array")]
    Empty { op: &'static str },
    #[error("{op} is not defined for {dtype}")]
    UnsupportedDType { op: &'static str, dtype: crate::array::DType },
    /// A result (or an intermediate that must be held whole) is larger than the memory budget.
    #[error("{what} needs {needed} bytes ({needed_h}), more than the memory budget of {budget} bytes ({budget_h}); compute a reduction or a smaller selection, or raise the budget")]
    OverBudget { what: String, needed: u64, needed_h: String, budget: u64, budget_h: String },
    /// A user function given to map_blocks returned a block of the wrong shape.
    #[error("map_blocks: the function returned shape {got:?} for a chunk of shape {expected:?}")]
    MapBlocksShape { expected: Vec<usize>, got: Vec<usize> },
    /// The path holds no Zarr array that can be opened (missing, not Zarr, bad metadata).
    #[error("{path}: not a readable Zarr array: {cause}")]
    NotZarr { path: String, cause: String },
    /// The array's data type has no runtime equivalent (strings, complex, float16, ...).
    #[error("{path}: Zarr data type {dtype} is not supported (bool, int8-int64, uint8-uint64, float32 and float64 are)")]
    UnsupportedZarrType { path: String, dtype: String },
    /// One chunk could not be read or decoded (a truncated or corrupt file, a failed read).
    #[error("{path}: chunk {chunk:?} could not be read: {cause}")]
    ChunkRead { path: String, chunk: Vec<u64>, cause: String },
    /// Writing failed; what was on disk before is kept.
    #[error("{path}: could not write the Zarr array: {cause}")]
    ZarrWrite { path: String, cause: String },
    /// A file could not be read (bags of text files).
    #[error("{path}: {cause}")]
    Read { path: String, cause: String },
    /// A dataset has no variable (or coordinate) of this name.
    #[error("no variable named {name:?}; the dataset has {available}")]
    UnknownVariable { name: String, available: String },
    /// An array has no dimension of this name.
    #[error("no dimension named {dim:?}; the dimensions are {dims:?}")]
    UnknownDim { dim: String, dims: Vec<String> },
    /// A label asked of `sel` is not in the index.
    #[error("{dim}: label {label} not found: {reason}")]
    LabelNotFound { dim: String, label: String, reason: String },
    /// Label slices need an index that runs one way.
    #[error("{dim}: the index is not monotonic, so it cannot be sliced by label")]
    NotMonotonic { dim: String },
    /// Dimensions, coordinates or variables that do not fit together.
    #[error("{what}: {reason}")]
    Mismatch { what: String, reason: String },
    /// A CF time unit or calendar that cannot be understood.
    #[error("time units {units:?} cannot be used: {reason}")]
    TimeUnits { units: String, reason: String },
    /// Stored time numbers that decode to a date beyond any representable one (a huge
    /// value that is not marked missing): xarray refuses these too.
    #[error("{variable}: the time value {value} ({units}) is out of the range of representable dates; mark it missing with _FillValue, or fix the units")]
    TimeOutOfRange { variable: String, value: f64, units: String },
    /// An operation that needs at least one label along a dimension got none.
    #[error("{op} along {dim:?}: the index is empty")]
    EmptyIndex { op: &'static str, dim: String },
    /// A date string that cannot be parsed.
    #[error("{text:?} is not a date: {reason}")]
    BadDate { text: String, reason: String },
    /// A NetCDF file that cannot be read or written.
    #[error("{path}: NetCDF: {cause}")]
    NetCdf { path: String, cause: String },
    /// `to_zarr` would replace an existing array and was not told to.
    #[error("{path} already exists; use overwrite(true) to replace it")]
    AlreadyExists { path: String },

    /// A plan that cannot leave this process (it holds a user function) was asked to.
    #[error("this plan cannot be serialised or run elsewhere: it contains {op} (a Rust closure, which is code, not data); compute it here, or express it with array operations")]
    NotPortable { op: &'static str },
    /// A serialised plan that cannot be read back (bad JSON, another format version, a node
    /// whose content does not match its id).
    #[error("invalid plan: {reason}")]
    Plan { reason: String },

    #[error("task {task:?} panicked: {message}")]
    TaskPanicked { task: String, message: String },

    #[error("a pool of {threads} threads could not be started: {cause}")]
    ThreadPool { threads: usize, cause: String },

    /// Storage was asked of a process without an executor: a program that depends on
    /// `strata-api` alone, or a notebook whose kernel could not load it.
    #[error("{what} needs Strata's executor, and no executor is loaded in this process (a program links it by depending on the `strata` crate)")]
    NoExecutor { what: String },
}

impl Error {
    pub(crate) fn over_budget(what: impl Into<String>, needed: u64, budget: u64) -> Error {
        Error::OverBudget { what: what.into(), needed, needed_h: human_bytes(needed), budget, budget_h: human_bytes(budget) }
    }
}

/// Bytes as a person reads them (binary units).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.2} {}", UNITS[unit]) }
}
