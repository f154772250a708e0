//! Empty: present only so that the build dependencies in Cargo.toml (declared for feature
//! alignment with the executor library) are part of the build graph.
fn main() {}
