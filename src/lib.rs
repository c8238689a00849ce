//! reghivedump: a Splunk custom search command that flags attempts to dump the SAM,
//! SECURITY and SYSTEM registry hives with reg.exe (MITRE ATT&CK T1003), as the published
//! rule "Attempted Credential Dump From Registry via Reg exe" does.
//!
//! Data flows one way: stdin bytes → [`framing`] → [`protocol`] requests → [`records`]
//! (CSV rows) → [`fields`] → [`rule`] → [`annotate`] → [`records`] (reply rows) →
//! [`framing`] → stdout. The rule knows nothing of the protocol, and the protocol knows
//! nothing of registry hives. [`scan`] reuses the fields, rule and annotation for files,
//! reading Windows event XML with [`xml`]. A private module, `os`, gives the kernel hints
//! about the pipes and the request buffer.
//!
//! Unsafe code is denied but for three small places whose safety the compiler cannot
//! check, each with its argument beside it: the vector instructions that classify 64
//! bytes at a time for [`csvscan`], the zero-filled allocation of a chunk's storage in
//! [`framing`], and `madvise` in `os`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod annotate;
pub mod cli;
pub mod command;
pub mod csvscan;
pub mod error;
pub mod fields;
pub mod framing;
pub mod options;
mod os;
pub mod protocol;
pub mod records;
pub mod rule;
pub mod scan;
pub mod text;
pub mod xml;
