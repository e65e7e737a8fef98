pub mod input;
pub mod remote;
pub mod sync;
