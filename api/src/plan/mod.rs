//! The lazy computation as plain data: a DAG of [`Node`]s, each with its shape, chunk grid and
//! element type. Building a plan does no work; `exec` evaluates it.
//!
//! A node's id is a hash of what it computes (its operation and parameters, its inputs' ids,
//! its chunks and type), as dask's `tokenize` names tasks: the same expression built twice
//! gets the same id, so a shared sub-plan is computed once, and ids mean the same in another
//! process. Sources are described, not opened ([`source`]); values given whole are carried by
//! content ([`embedded`]). Only user closures (`map_blocks`) are not data: a plan holding one
//! runs here but cannot be serialised ([`serial`]).
//!
//! - [`build`]: node construction and type inference (shapes, chunks, result types);
//! - [`optimize`]: rewrites that do less work, each a named pass;
//! - [`explain`]: a readable text of a whole plan;
//! - [`serial`]: plans to and from JSON.

use std::collections::HashSet;
use std::sync::Arc;

use twox_hash::XxHash3_128;

use crate::array::{ChunkGrid, DType};
use crate::error::Error;

pub mod build;
pub mod embedded;
pub mod explain;
pub(crate) mod float;
mod op;
pub mod optimize;
pub mod serial;
pub mod source;

pub use embedded::Embedded;
pub use explain::Explain;
pub use op::{AxisSelect, BinaryOp, BlockFn, Distribution, Groups, Op, ReduceOp, UnaryOp};
pub use source::{NetcdfRef, StoredRead, ZarrRef};

/// A shared node: how plans refer to their inputs, so a sub-plan used twice is one node.
pub type NodeRef = Arc<Node>;

/// A node's identity: the hash of its content (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u128);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl NodeId {
    /// The first 8 hex digits, as plans print them.
    pub fn short(&self) -> String {
        format!("{:08x}", (self.0 >> 96) as u32)
    }
}

/// One step of a plan: an operation over its input nodes, with the shape, chunks and element
/// type of what it computes (a dask graph layer, as data).
#[derive(Debug)]
pub struct Node {
    /// What the node computes, hashed: evaluation caches materialised results by it.
    pub id: NodeId,
    /// The operation and its parameters, inputs included.
    pub op: Op,
    /// The result's shape and how it is cut into chunks (the unit of work).
    pub grid: ChunkGrid,
    /// The result's element type.
    pub dtype: DType,
}

/// The id of a node with this content.
fn content_id(op: &Op, grid: &ChunkGrid, dtype: DType) -> NodeId {
    let mut h = XxHash3_128::new();
    h.write(b"strata-node-1\0");
    h.write(op.name().as_bytes());
    h.write(b"\0");
    h.write(dtype.name().as_bytes());
    for axis in grid.chunks() {
        h.write(&(axis.len() as u64).to_le_bytes());
        for &c in axis {
            h.write(&(c as u64).to_le_bytes());
        }
    }
    match op {
        Op::Literal { data } | Op::Persisted { data } => h.write(&data.token().to_le_bytes()),
        // A closure has no content to hash; the same closure over the same input is the same
        // computation. While a node lives it holds its closure, so no other closure can have
        // its address.
        Op::MapBlocks { input, f } => {
            h.write(&input.id.0.to_le_bytes());
            h.write(&(Arc::as_ptr(f) as *const () as usize as u64).to_le_bytes());
        }
        Op::Invalid { error } => h.write(error.to_string().as_bytes()),
        // The parameters as JSON, streamed into the hash; inputs by their ids.
        _ => {
            if let Err(e) = serde_json::to_writer(HashWriter(&mut h), &op.map_inputs(|input| input.id.0)) {
                // Not reachable for portable operations; an unhashable one must not collide.
                h.write(format!("{op:?} {e} {:p}", op).as_bytes());
            }
        }
    }
    NodeId(h.finish_128())
}

/// Feeds what is written to a hasher.
struct HashWriter<'a>(&'a mut XxHash3_128);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Node {
    /// A node computing `op`, its id hashed from its content. Nothing is checked: the
    /// [`build`] functions work out `grid` and `dtype` for each operation.
    pub fn new(op: Op, grid: ChunkGrid, dtype: DType) -> NodeRef {
        let id = content_id(&op, &grid, dtype);
        Arc::new(Node { id, op, grid, dtype })
    }

    /// A node that could not be built: computing any plan using it returns `error`.
    pub fn invalid(error: Error, grid: ChunkGrid, dtype: DType) -> NodeRef {
        Node::new(Op::Invalid { error }, grid, dtype)
    }

    /// The result's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.grid.shape()
    }

    /// The size of the whole result in bytes (elements times the element size).
    pub fn nbytes(&self) -> u64 {
        self.shape().iter().map(|&n| n as u64).product::<u64>() * self.dtype.size_of() as u64
    }

    /// Every node of the plan once, inputs before the nodes that use them.
    pub fn post_order(self: &NodeRef) -> Vec<NodeRef> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        fn visit(node: &NodeRef, seen: &mut HashSet<NodeId>, out: &mut Vec<NodeRef>) {
            if !seen.insert(node.id) {
                return;
            }
            for input in node.op.inputs() {
                visit(input, seen, out);
            }
            out.push(node.clone());
        }
        visit(self, &mut seen, &mut out);
        out
    }

    /// The first error recorded while the plan was built, if any.
    pub fn first_error(self: &NodeRef) -> Option<Error> {
        self.post_order().iter().find_map(|n| match &n.op {
            Op::Invalid { error } => Some(error.clone()),
            _ => None,
        })
    }

    /// Whether every node is plain data (no `map_blocks` closure, no build error), so the
    /// plan can be serialised and evaluated elsewhere.
    pub fn is_portable(self: &NodeRef) -> bool {
        self.post_order().iter().all(|n| n.op.is_portable())
    }

    /// The plan as readable text, one node per line (see [`explain`]).
    pub fn explain(self: &NodeRef) -> Explain {
        Explain::of(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::array::{from_array, ones, RandomState};

    #[test]
    fn equal_expressions_have_equal_ids_and_different_ones_do_not() {
        let a = ones::<f64>(&[10, 10], &[5, 5]);
        let b = ones::<f64>(&[10, 10], &[5, 5]);
        assert_eq!(a.plan().id, b.plan().id);
        assert_eq!((&a + 1.0).sum(&[0]).plan().id, (&b + 1.0).sum(&[0]).plan().id);
        assert_ne!((&a + 1.0).plan().id, (&a + 2.0).plan().id);
        assert_ne!(a.plan().id, ones::<f64>(&[10, 10], &[2, 5]).plan().id, "other chunks");
        assert_ne!(a.plan().id, ones::<f32>(&[10, 10], &[5, 5]).plan().id, "other type");
        assert_ne!(a.sum(&[0]).plan().id, a.sum(&[1]).plan().id);
        let state = RandomState::new(7);
        assert_ne!(state.random(&[4], 2).plan().id, state.random(&[4], 2).plan().id, "each draw is its own stream");
        let values = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[3]), |i| i[0] as f64);
        assert_eq!(from_array(values.clone(), 3).plan().id, from_array(values.clone(), 3).plan().id);
        assert_ne!(from_array(values.clone(), 3).plan().id, from_array(values * 2.0, 3).plan().id);
    }

    #[test]
    fn closures_are_told_apart_and_make_a_plan_not_portable() {
        let a = ones::<f64>(&[4], 2);
        let f = a.map_blocks(|b| b.clone());
        let g = a.map_blocks(|b| b.clone());
        assert_ne!(f.plan().id, g.plan().id);
        assert!(a.plan().is_portable());
        assert!(!f.plan().is_portable());
    }

    #[test]
    fn full_of_nan_serialises_and_hashes() {
        let a = crate::array::full::<f64>(&[3], f64::NAN, 3);
        let b = crate::array::full::<f64>(&[3], f64::NAN, 3);
        assert_eq!(a.plan().id, b.plan().id);
        assert_ne!(a.plan().id, crate::array::full::<f64>(&[3], f64::INFINITY, 3).plan().id);
    }
}
