//! Tests that drive the real binary: through a fake splunkd (protocol mode) and on the
//! command line (`scan`).

mod corpus;
mod errors;
mod faults;
mod oracle;
mod properties;
mod protocol;
mod quality;
mod recordings;
mod scan;
mod security;
mod util;
