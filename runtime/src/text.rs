//! Files by pattern (for bags and many-file datasets), and text files' lines for bags
//! (`Bag::read_text`), gzip-compressed ones decompressed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The files `pattern` names (a file, a directory's files, or a glob), sorted.
pub(crate) fn files(pattern: &str) -> Result<Vec<PathBuf>, Error> {
    let fail = |cause: String| Error::Read { path: pattern.to_owned(), cause };
    let path = Path::new(pattern);
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .map_err(|e| fail(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect()
    } else if path.is_file() {
        vec![path.to_owned()]
    } else {
        glob::glob(pattern).map_err(|e| fail(e.to_string()))?.filter_map(Result::ok).filter(|p| p.is_file()).collect()
    };
    files.sort();
    if files.is_empty() {
        return Err(fail("no files match".into()));
    }
    Ok(files)
}

/// The lines of `path` without their endings, decompressed when it ends in `.gz`.
pub(crate) fn lines(path: &Path) -> Result<Vec<String>, Error> {
    let fail = |e: std::io::Error| Error::Read { path: path.display().to_string(), cause: e.to_string() };
    let file = std::fs::File::open(path).map_err(fail)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader).lines().collect::<Result<Vec<_>, _>>().map_err(fail)
}
