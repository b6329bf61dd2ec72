//! The inspector tests.
