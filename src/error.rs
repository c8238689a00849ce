//! Everything that can end a protocol session early.

use std::fmt;
use std::io;

use crate::framing::FrameError;
use crate::options::OptionError;
use crate::protocol::MetadataError;
use crate::records::BodyError;

/// Why a session failed. Every message is fit to show a user: none quotes the request
/// metadata, which holds the session key.
#[derive(Debug)]
pub enum Error {
    /// A chunk could not be read.
    Frame(FrameError),
    /// A chunk's metadata is not a request this command understands.
    Metadata(MetadataError),
    /// The search's options are wrong.
    Options(OptionError),
    /// An execute body is not the CSV splunkd sends.
    Body(BodyError),
    /// Requests came in an order the protocol does not allow.
    Sequence(&'static str),
    /// Writing a reply failed.
    Output(io::Error),
}

impl Error {
    /// Whether the reader of the replies went away (a closed pipe), which ends the
    /// session quietly: nobody is left to tell.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Frame(e) => e.fmt(f),
            Error::Metadata(e) => e.fmt(f),
            Error::Options(e) => e.fmt(f),
            Error::Body(e) => e.fmt(f),
            Error::Sequence(what) => f.write_str(what),
            Error::Output(e) => write!(f, "cannot write reply: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Error::Frame(e)
    }
}

impl From<MetadataError> for Error {
    fn from(e: MetadataError) -> Self {
        Error::Metadata(e)
    }
}

impl From<OptionError> for Error {
    fn from(e: OptionError) -> Self {
        Error::Options(e)
    }
}

impl From<BodyError> for Error {
    fn from(e: BodyError) -> Self {
        Error::Body(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Output(e)
    }
}
