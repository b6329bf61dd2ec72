//! placeholder

pub mod graph;
pub mod loader;
pub mod validate;

pub use graph::{EditError, Graph};
pub use loader::{load_graph, GraphError};
pub use validate::{validate, ComponentCatalog, ValidationError};
