//! Inputs no producer writes: fuzzer findings kept as fixtures (`malformed`), generated reports
//! and arbitrary lines (`properties`), and hostile XML and unbounded inputs (`hostile`). Each must
//! end in a result or a clear `ParseError`, never a panic, a hang or unbounded memory. See
//! `docs/reliability.md`.

mod hostile;
mod malformed;
mod properties;

use std::io::{self, BufRead, Read};

/// A reader over bytes in memory that hands out at most `chunk` bytes per call, so that buffer
/// boundaries fall everywhere (the fuzz targets read the same way).
pub(crate) struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl<'a> Chunked<'a> {
    pub(crate) fn new(data: &'a [u8], chunk: usize) -> Self {
        Chunked {
            data,
            chunk: chunk.max(1),
        }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.data.len().min(self.chunk).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.data[..self.data.len().min(self.chunk)])
    }

    fn consume(&mut self, n: usize) {
        self.data = &self.data[n.min(self.data.len())..];
    }
}
