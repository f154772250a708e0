//! How an array's shape is cut into chunks: per axis, a list of chunk lengths (regular, with
//! a shorter last chunk, or irregular).

use std::ops::Range;

use crate::error::Error;

/// An array's chunking (dask's `chunks`): the length of every chunk along every axis, which
/// also gives the array's shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkGrid {
    /// `chunks[axis]` lists the lengths of that axis's chunks; they sum to the axis length.
    chunks: Vec<Vec<usize>>,
}

/// How a caller asks for chunks along the axes.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// The same chunk length on every axis (`-1` in dask: the whole axis is `usize::MAX`).
    Uniform(usize),
    /// One chunk length per axis (`usize::MAX`: the whole axis).
    PerAxis(Vec<usize>),
    /// Explicit lengths per axis.
    Explicit(Vec<Vec<usize>>),
    /// Chunks of about this many bytes, as square as the shape allows (dask's "auto").
    Bytes(usize),
}

impl From<&[usize]> for ChunkSpec {
    fn from(c: &[usize]) -> Self {
        ChunkSpec::PerAxis(c.to_vec())
    }
}

impl<const N: usize> From<&[usize; N]> for ChunkSpec {
    fn from(c: &[usize; N]) -> Self {
        ChunkSpec::PerAxis(c.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for ChunkSpec {
    fn from(c: [usize; N]) -> Self {
        ChunkSpec::PerAxis(c.to_vec())
    }
}

impl From<Vec<usize>> for ChunkSpec {
    fn from(c: Vec<usize>) -> Self {
        ChunkSpec::PerAxis(c)
    }
}

impl From<usize> for ChunkSpec {
    fn from(c: usize) -> Self {
        ChunkSpec::Uniform(c)
    }
}

impl ChunkGrid {
    /// Regular chunks of `chunk` along each axis (the last chunk of an axis may be shorter).
    pub fn regular(shape: &[usize], chunk: &[usize]) -> Result<ChunkGrid, Error> {
        if shape.len() != chunk.len() {
            return Err(Error::ShapeMismatch { op: "chunks", left: shape.to_vec(), right: chunk.to_vec() });
        }
        let chunks = shape
            .iter()
            .zip(chunk)
            .map(|(&n, &c)| {
                if c == 0 && n > 0 {
                    return Err(Error::InvalidChunks { reason: "a chunk length of 0".into() });
                }
                // An empty axis has no chunks, whatever length was asked for (0 included).
                let c = c.max(1).min(n.max(1));
                let mut lens = vec![c; n / c];
                if n % c != 0 {
                    lens.push(n % c);
                }
                Ok(lens)
            })
            .collect::<Result<_, _>>()?;
        Ok(ChunkGrid { chunks })
    }

    /// The grid `spec` asks for over `shape`; `item_size` (bytes per element) sizes
    /// [`ChunkSpec::Bytes`] chunks. An error when the spec does not fit the shape.
    pub fn from_spec(shape: &[usize], spec: &ChunkSpec, item_size: usize) -> Result<ChunkGrid, Error> {
        match spec {
            ChunkSpec::Uniform(c) => Self::regular(shape, &vec![*c; shape.len()]),
            ChunkSpec::PerAxis(c) => Self::regular(shape, c),
            ChunkSpec::Explicit(lists) => {
                if lists.len() != shape.len() {
                    return Err(Error::InvalidChunks { reason: format!("{} chunk lists for {} axes", lists.len(), shape.len()) });
                }
                for (axis, (list, &n)) in lists.iter().zip(shape).enumerate() {
                    if list.iter().sum::<usize>() != n || (n > 0 && list.contains(&0)) {
                        return Err(Error::InvalidChunks { reason: format!("chunks {list:?} do not tile axis {axis} of length {n}") });
                    }
                }
                Ok(ChunkGrid { chunks: lists.clone() })
            }
            ChunkSpec::Bytes(target) => {
                let elements = (*target / item_size.max(1)).max(1) as f64;
                let side = elements.powf(1.0 / shape.len().max(1) as f64).floor().max(1.0) as usize;
                // Axes shorter than the side give their slack to the others.
                let mut chunk: Vec<usize> = shape.iter().map(|&n| side.min(n.max(1))).collect();
                let mut total: f64 = chunk.iter().map(|&c| c as f64).product();
                for (axis, &n) in shape.iter().enumerate().rev() {
                    while chunk[axis] < n && total / chunk[axis] as f64 * (chunk[axis] + 1) as f64 <= elements {
                        total = total / chunk[axis] as f64 * (chunk[axis] + 1) as f64;
                        chunk[axis] += 1;
                    }
                }
                Self::regular(shape, &chunk)
            }
        }
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.chunks.len()
    }

    /// The array's shape: each axis's chunk lengths summed.
    pub fn shape(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.iter().sum()).collect()
    }

    /// The chunk lengths, one list per axis (dask's `chunks`).
    pub fn chunks(&self) -> &[Vec<usize>] {
        &self.chunks
    }

    /// The largest chunk length along each axis (dask's `chunksize`).
    pub fn chunk_shape(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.iter().copied().max().unwrap_or(0)).collect()
    }

    /// Number of chunks along each axis.
    pub fn grid_shape(&self) -> Vec<usize> {
        self.chunks.iter().map(Vec::len).collect()
    }

    /// The total number of chunks (dask's `npartitions`).
    pub fn nchunks(&self) -> usize {
        self.chunks.iter().map(Vec::len).product()
    }

    /// Where each chunk along `axis` starts and ends.
    pub fn ranges(&self, axis: usize) -> Vec<Range<usize>> {
        let mut start = 0;
        self.chunks[axis]
            .iter()
            .map(|&len| {
                let r = start..start + len;
                start += len;
                r
            })
            .collect()
    }

    /// Every chunk's region, in row-major order of chunk indices.
    pub fn regions(&self) -> Vec<Vec<Range<usize>>> {
        let per_axis: Vec<Vec<Range<usize>>> = (0..self.ndim()).map(|a| self.ranges(a)).collect();
        let mut out = vec![Vec::new()];
        for ranges in &per_axis {
            let mut next = Vec::with_capacity(out.len() * ranges.len());
            for prefix in &out {
                for r in ranges {
                    let mut region = prefix.clone();
                    region.push(r.clone());
                    next.push(region);
                }
            }
            out = next;
        }
        out
    }

    /// Chunks whose regions overlap `region`, along each axis (index ranges into the grid).
    pub fn overlapping(&self, axis: usize, range: &Range<usize>) -> Vec<(usize, Range<usize>)> {
        self.ranges(axis)
            .into_iter()
            .enumerate()
            .filter(|(_, r)| r.start < range.end && range.start < r.end)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_grid_with_short_edge_chunks() {
        let g = ChunkGrid::regular(&[10, 7], &[4, 7]).unwrap();
        assert_eq!(g.chunks(), &[vec![4, 4, 2], vec![7]]);
        assert_eq!(g.nchunks(), 3);
        assert_eq!(g.regions()[2], vec![8..10, 0..7]);
        assert_eq!(g.shape(), vec![10, 7]);
        assert!(ChunkGrid::regular(&[10], &[0]).is_err());
        assert_eq!(ChunkGrid::regular(&[10], &[usize::MAX]).unwrap().chunks(), &[vec![10]]);
        // An empty axis is no division by zero, whatever chunk length it is given.
        assert_eq!(ChunkGrid::regular(&[0, 3], &[0, 2]).unwrap().chunks(), &[vec![], vec![2, 1]]);
        assert_eq!(ChunkGrid::regular(&[0], &[5]).unwrap().chunks(), &[Vec::<usize>::new()]);
        let empty = crate::array::zeros::<f64>(&[0, 3], 2);
        assert!(crate::array::zeros::<f64>(&[0], 0).compute().unwrap().is_empty());
        assert_eq!(empty.compute().unwrap().shape(), &[0, 3]);
        assert_eq!(empty.sum(..).scalar().unwrap(), 0.0);
    }

    #[test]
    fn byte_target_chunks_are_near_the_target() {
        let g = ChunkGrid::from_spec(&[10_000, 10_000], &ChunkSpec::Bytes(8_000_000), 8).unwrap();
        let c = g.chunk_shape();
        let bytes = c[0] * c[1] * 8;
        assert!(bytes <= 8_000_000 && bytes > 4_000_000, "{c:?}");
    }

    #[test]
    fn explicit_chunks_must_tile_the_axis() {
        assert!(ChunkGrid::from_spec(&[5], &ChunkSpec::Explicit(vec![vec![2, 3]]), 8).is_ok());
        assert!(ChunkGrid::from_spec(&[5], &ChunkSpec::Explicit(vec![vec![2, 2]]), 8).is_err());
    }
}
