//! Values carried inside a plan (`from_array`, `persist`): identified by a hash of their
//! bytes, so that equal data gives equal node ids, and serialised by content (dtype, shape and
//! little-endian bytes in base64), so that a plan holding them can travel.

use std::sync::Arc;

use base64::Engine;
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use twox_hash::XxHash3_128;

use crate::array::{Block, DType};

/// Blocks of values inside a plan, with the hash of their content.
#[derive(Clone)]
pub struct Embedded {
    token: u128,
    blocks: Arc<Vec<Block>>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} block(s), {} bytes, token {:032x}", self.blocks.len(), self.nbytes(), self.token)
    }
}

impl Embedded {
    /// `blocks`, hashed once here (dtype, shape and bytes of each).
    pub fn new(blocks: Vec<Block>) -> Embedded {
        let mut hasher = XxHash3_128::new();
        for block in &blocks {
            hasher.write(block.dtype().name().as_bytes());
            hasher.write(&(block.shape().len() as u64).to_le_bytes());
            for &n in block.shape() {
                hasher.write(&(n as u64).to_le_bytes());
            }
            write_bytes(block, |bytes| hasher.write(bytes));
        }
        Embedded { token: hasher.finish_128(), blocks: Arc::new(blocks) }
    }

    /// One block (a literal array).
    pub fn one(block: Block) -> Embedded {
        Embedded::new(vec![block])
    }

    /// The hash of the content, which node ids are built from.
    pub fn token(&self) -> u128 {
        self.token
    }

    /// The blocks, in the order given.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The bytes the blocks' elements take, all blocks together.
    pub fn nbytes(&self) -> usize {
        self.blocks.iter().map(Block::nbytes).sum()
    }
}

/// An element's little-endian bytes (bool as one byte, 0 or 1).
trait LeBytes: Sized + Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le_bytes {
    ($($t:ty),*) => {$(
        impl LeBytes for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
        }
    )*};
}
le_bytes!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl LeBytes for bool {
    const SIZE: usize = 1;
    fn put(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn get(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

/// Feeds `sink` the block's elements as little-endian bytes in row-major order, a piece at a
/// time (no copy of the whole block).
fn write_bytes(block: &Block, mut sink: impl FnMut(&[u8])) {
    const PIECE: usize = 1 << 16;
    let mut buffer = Vec::with_capacity(PIECE + 8);
    crate::with_block!(block, array, T => {
        if let (true, Some(values)) = (cfg!(target_endian = "little"), array.as_slice()) {
            // SAFETY: `values` is a live slice of a primitive number type or bool, which have
            // no padding and no invalid bytes; on a little-endian machine their memory is
            // exactly the little-endian bytes `put` writes one by one.
            let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) };
            for piece in bytes.chunks(PIECE) {
                sink(piece);
            }
            return;
        }
        for &value in array.iter() {
            <T as LeBytes>::put(value, &mut buffer);
            if buffer.len() >= PIECE {
                sink(&buffer);
                buffer.clear();
            }
        }
    });
    if !buffer.is_empty() {
        sink(&buffer);
    }
}

fn block_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Block, String> {
    crate::with_dtype!(dtype, T => {
        let count: usize = shape.iter().product();
        if bytes.len() != count * <T as LeBytes>::SIZE {
            return Err(format!("{} bytes for {count} {dtype} values of shape {shape:?}", bytes.len()));
        }
        let values: Vec<T> = bytes.chunks_exact(<T as LeBytes>::SIZE).map(<T as LeBytes>::get).collect();
        ArrayD::from_shape_vec(IxDyn(shape), values).map(<T as crate::array::BlockElement>::wrap).map_err(|e| e.to_string())
    })
}

/// How one block is written in a serialised plan.
#[derive(Serialize, Deserialize)]
struct BlockRecord {
    dtype: DType,
    shape: Vec<usize>,
    /// Little-endian element bytes, row-major, in base64.
    data: String,
}

impl Serialize for Embedded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let records: Vec<BlockRecord> = self
            .blocks
            .iter()
            .map(|block| {
                let mut bytes = Vec::with_capacity(block.nbytes());
                write_bytes(block, |piece| bytes.extend_from_slice(piece));
                BlockRecord { dtype: block.dtype(), shape: block.shape().to_vec(), data: base64::engine::general_purpose::STANDARD.encode(bytes) }
            })
            .collect();
        records.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Embedded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Embedded, D::Error> {
        let records = Vec::<BlockRecord>::deserialize(deserializer)?;
        let blocks = records
            .into_iter()
            .map(|r| {
                let bytes = base64::engine::general_purpose::STANDARD.decode(r.data.as_bytes()).map_err(|e| e.to_string())?;
                block_from_bytes(r.dtype, &r.shape, &bytes)
            })
            .collect::<Result<Vec<Block>, String>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Embedded::new(blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_content_equal_token_and_round_trip() {
        let a = Block::F32(ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 4 + i[1]) as f32 * 0.5));
        let b = Block::Bool(ArrayD::from_shape_fn(IxDyn(&[5]), |i| i[0] % 2 == 0));
        let one = Embedded::new(vec![a.clone(), b.clone()]);
        assert_eq!(one.token(), Embedded::new(vec![a.clone(), b.clone()]).token());
        // The same bytes as another type, or in another shape, are other data.
        assert_ne!(one.token(), Embedded::new(vec![a.cast(DType::F64), b.clone()]).token());
        let reshaped = a.reshape(&[4, 3]).unwrap();
        assert_ne!(Embedded::one(a.clone()).token(), Embedded::one(reshaped).token());
        let json = serde_json::to_string(&one).unwrap();
        let back: Embedded = serde_json::from_str(&json).unwrap();
        assert_eq!(back.blocks(), one.blocks());
        assert_eq!(back.token(), one.token());
    }

    #[test]
    fn a_transposed_view_hashes_as_its_logical_order() {
        let a = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as i64);
        let t = a.t().to_owned();
        let t_view = Block::I64(a.clone().reversed_axes());
        assert_eq!(Embedded::one(Block::I64(t)).token(), Embedded::one(t_view).token());
    }

    #[test]
    fn truncated_data_is_refused() {
        let json = r#"[{"dtype":"float64","shape":[2],"data":"AAAAAAAA8D8="}]"#;
        let err = serde_json::from_str::<Embedded>(json).unwrap_err().to_string();
        assert!(err.contains("8 bytes for 2 float64 values"), "{err}");
    }
}
