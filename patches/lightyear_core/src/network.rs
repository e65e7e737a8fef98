// TODO: use newtype instead of u16
/// ID used to serialize IDs over the network efficiently
pub type NetId = u16;
