//! The runtime's one error type.

/// Everything a runtime computation can fail with, each variant naming its cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The user interrupted the computation (Ctrl-C, or the notebook's stop button).
    #[error("computation interrupted after {completed} of {total} tasks")]
    Interrupted {
        /// Tasks finished before the interruption.
        completed: usize,
        /// Tasks in the computation.
        total: usize,
    },
    /// Two shapes that must agree (or broadcast together) do not, or a permutation does not
    /// fit the array's axes.
    #[error("{op}: shapes {left:?} and {right:?} do not fit together")]
    ShapeMismatch {
        /// The operation that needed them to fit.
        op: &'static str,
        /// The first shape.
        left: Vec<usize>,
        /// The second shape (or the permutation given).
        right: Vec<usize>,
    },
    /// An axis number is not below the array's number of dimensions.
    #[error("{op}: axis {axis} is out of range for an array of {ndim} dimensions")]
    AxisOutOfRange {
        /// The operation given the axis.
        op: &'static str,
        /// The axis given.
        axis: usize,
        /// The array's number of dimensions.
        ndim: usize,
    },
    /// A position is not below the length of its axis.
    #[error("index {index} is out of range for axis {axis} of length {len}")]
    IndexOutOfRange {
        /// The axis indexed.
        axis: usize,
        /// The position given.
        index: usize,
        /// The axis's length.
        len: usize,
    },
    /// Something counted has another length than the one needed: a boolean mask or group
    /// labels against their axis, the axes given to argmin/argmax, the elements of a result
    /// asked for as one `scalar`.
    #[error("{op}: expected {expected} values, got {got}")]
    WrongLength {
        /// What needed the values.
        op: &'static str,
        /// The length needed.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// Chunks that do not tile the shape (a length of 0, lengths that do not add up to the
    /// axis's), or, inside a computation, chunk data missing or of the wrong shape.
    #[error("invalid chunks: {reason}")]
    InvalidChunks {
        /// What is wrong with them.
        reason: String,
    },
    /// An operation joining arrays (`concatenate`, `open_mfdataset`) was given none.
    #[error("{op} needs at least one array")]
    Empty {
        /// The operation.
        op: &'static str,
    },
    /// An operation was asked of an element type it does not support (math on bool, ...).
    #[error("{op} is not defined for {dtype}")]
    UnsupportedDType {
        /// The operation.
        op: &'static str,
        /// The element type it was given.
        dtype: crate::array::DType,
    },
    /// A result (or an intermediate that must be held whole) is larger than the memory budget.
    #[error("{what} needs {needed} bytes ({needed_h}), more than the memory budget of {budget} bytes ({budget_h}); compute a reduction or a smaller selection, or raise the budget")]
    OverBudget {
        /// What needed the memory.
        what: String,
        /// The bytes it needs.
        needed: u64,
        /// `needed` for people ("1.50 GiB").
        needed_h: String,
        /// The session's memory budget in bytes.
        budget: u64,
        /// `budget` for people.
        budget_h: String,
    },
    /// A user function given to map_blocks returned a block of the wrong shape.
    #[error("map_blocks: the function returned shape {got:?} for a chunk of shape {expected:?}")]
    MapBlocksShape {
        /// The chunk's shape, which the result must have.
        expected: Vec<usize>,
        /// The shape the function returned.
        got: Vec<usize>,
    },
    /// The path holds no Zarr array that can be opened (missing, not Zarr, bad metadata).
    #[error("{path}: not a readable Zarr array: {cause}")]
    NotZarr {
        /// The path opened.
        path: String,
        /// Why it could not be opened.
        cause: String,
    },
    /// The array's data type has no runtime equivalent (strings, complex, float16, ...).
    #[error("{path}: Zarr data type {dtype} is not supported (bool, int8-int64, uint8-uint64, float32 and float64 are)")]
    UnsupportedZarrType {
        /// The array's path.
        path: String,
        /// The data type its metadata names.
        dtype: String,
    },
    /// One chunk could not be read or decoded (a truncated or corrupt file, a failed read).
    #[error("{path}: chunk {chunk:?} could not be read: {cause}")]
    ChunkRead {
        /// The array's path.
        path: String,
        /// The chunk's position in the chunk grid.
        chunk: Vec<u64>,
        /// Why it could not be read.
        cause: String,
    },
    /// Writing failed; what was on disk before is kept.
    #[error("{path}: could not write the Zarr array: {cause}")]
    ZarrWrite {
        /// The array's path.
        path: String,
        /// Why the write failed.
        cause: String,
    },
    /// A file could not be read (bags of text files).
    #[error("{path}: {cause}")]
    Read {
        /// The file (or directory).
        path: String,
        /// The I/O error.
        cause: String,
    },
    /// A dataset has no variable (or coordinate) of this name.
    #[error("no variable named {name:?}; the dataset has {available}")]
    UnknownVariable {
        /// The name asked for.
        name: String,
        /// The names the dataset has, as a list for people.
        available: String,
    },
    /// An array has no dimension of this name.
    #[error("no dimension named {dim:?}; the dimensions are {dims:?}")]
    UnknownDim {
        /// The name asked for.
        dim: String,
        /// The array's dimensions.
        dims: Vec<String>,
    },
    /// A label asked of `sel` is not in the index.
    #[error("{dim}: label {label} not found: {reason}")]
    LabelNotFound {
        /// The dimension selected along.
        dim: String,
        /// The label, as text.
        label: String,
        /// Why no position matches (not present, no nearest within tolerance, ...).
        reason: String,
    },
    /// Label slices need an index that runs one way.
    #[error("{dim}: the index is not monotonic, so it cannot be sliced by label")]
    NotMonotonic {
        /// The dimension sliced.
        dim: String,
    },
    /// Dimensions, coordinates or variables that do not fit together.
    #[error("{what}: {reason}")]
    Mismatch {
        /// The operation or object concerned.
        what: String,
        /// How they do not fit.
        reason: String,
    },
    /// A CF time unit or calendar that cannot be understood.
    #[error("time units {units:?} cannot be used: {reason}")]
    TimeUnits {
        /// The `units` attribute (or calendar) given.
        units: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Stored time numbers that decode to a date beyond any representable one (a huge
    /// value that is not marked missing): xarray refuses these too.
    #[error("{variable}: the time value {value} ({units}) is out of the range of representable dates; mark it missing with _FillValue, or fix the units")]
    TimeOutOfRange {
        /// The time variable.
        variable: String,
        /// The stored number.
        value: f64,
        /// Its units attribute.
        units: String,
    },
    /// An operation that needs at least one label along a dimension got none.
    #[error("{op} along {dim:?}: the index is empty")]
    EmptyIndex {
        /// The operation.
        op: &'static str,
        /// The dimension whose index is empty.
        dim: String,
    },
    /// A date string that cannot be parsed.
    #[error("{text:?} is not a date: {reason}")]
    BadDate {
        /// The text given.
        text: String,
        /// What could not be parsed.
        reason: String,
    },
    /// A NetCDF file that cannot be read or written.
    #[error("{path}: NetCDF: {cause}")]
    NetCdf {
        /// The file.
        path: String,
        /// What failed.
        cause: String,
    },
    /// An object store could not be reached or answered with an error (access denied, a
    /// server that stopped answering, an unknown scheme or option).
    #[error("{url}: {cause}")]
    Storage {
        /// The URL of the object or directory.
        url: String,
        /// What failed, as the server or client said it.
        cause: String,
    },
    /// `to_zarr` would replace an existing array and was not told to.
    #[error("{path} already exists; use overwrite(true) to replace it")]
    AlreadyExists {
        /// The path written to.
        path: String,
    },

    /// A plan that cannot leave this process (it holds a user function) was asked to.
    #[error("this plan cannot be serialised or run elsewhere: it contains {op} (a Rust closure, which is code, not data); compute it here, or express it with array operations")]
    NotPortable {
        /// The operation that is not data (`map_blocks`).
        op: &'static str,
    },
    /// A serialised plan that cannot be read back (bad JSON, another format version, a node
    /// whose content does not match its id).
    #[error("invalid plan: {reason}")]
    Plan {
        /// What is wrong with it.
        reason: String,
    },

    /// A delayed task's function panicked; the panic was caught and the computation
    /// stopped.
    #[error("task {task:?} panicked: {message}")]
    TaskPanicked {
        /// The task's name.
        task: String,
        /// The panic's message.
        message: String,
    },

    /// The executor could not start its worker threads.
    #[error("a pool of {threads} threads could not be started: {cause}")]
    ThreadPool {
        /// The number of threads asked for.
        threads: usize,
        /// The operating system's error.
        cause: String,
    },

    /// Storage was asked of a process without an executor: a program that depends on
    /// `strata-api` alone, or a notebook whose kernel could not load it.
    #[error("{what} needs Strata's executor, and no executor is loaded in this process (a program links it by depending on the `strata` crate)")]
    NoExecutor {
        /// What needed it (`open_zarr`, ...).
        what: String,
    },
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
