//! The limits of ingesting a JUnit history, measured on the same files as `probtrack import`:
//! what no ingester built on quick-xml and SQLite can beat. `scripts/bench` builds it
//! (`cargo build --release --example limits`), runs it and reads the JSON it prints.
//!
//! usage: limits HISTORY_DIR [DB_DIR]
//!
//! * the quick-xml scan floor: every `HISTORY_DIR/*/*.xml` in sorted order, one thread, a
//!   `quick_xml::Reader` over a buffered file, reading each `<testcase>`'s `name`, `classname`
//!   and `time` attributes (unescaped, time parsed) and noting whether a `<failure>`, `<error>`
//!   or `<skipped>` child follows (a status is the least an ingester needs). No test identity,
//!   no message, no database.
//! * the rusqlite floor: one narrow row per result, `(test INTEGER, build INTEGER, status
//!   INTEGER)`, test = the testcase's position in its file, build = the file's position,
//!   inserted with one prepared statement in one transaction into a fresh database in DB_DIR
//!   (default: the system's temporary directory) with probtrack's settings (WAL,
//!   synchronous=NORMAL); once without any index, once with a `(test, build)` index created
//!   after the inserts, in the same transaction. Bytes per result after a WAL checkpoint.
//!
//! The figures (seconds, testcases/s, MB/s, bytes per result) go to stdout as one JSON object.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rusqlite::Connection;

const MB: f64 = 1_000_000.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let Some(history) = args.next().map(PathBuf::from) else {
        eprintln!("usage: limits HISTORY_DIR [DB_DIR]");
        std::process::exit(2);
    };
    let db_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let files = report_files(&history)?;
    let bytes: u64 = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()))
        .sum::<Result<_, _>>()?;

    let start = Instant::now();
    let mut statuses = Vec::with_capacity(files.len());
    let mut checksum = 0.0f64; // keeps the attribute reads observable
    for file in &files {
        statuses.push(scan(file, &mut checksum)?);
    }
    let scan_s = start.elapsed().as_secs_f64();
    let cases: usize = statuses.iter().map(Vec::len).sum();

    let plain = sqlite_floor(&db_dir.join("limits-floor.db"), &statuses, false)?;
    let indexed = sqlite_floor(&db_dir.join("limits-floor.db"), &statuses, true)?;

    let figures = serde_json::json!({
        "files": files.len(),
        "bytes": bytes,
        "testcases": cases,
        "checksum": checksum,
        "scan": {
            "seconds": scan_s,
            "testcases_per_s": cases as f64 / scan_s,
            "mb_per_s": bytes as f64 / MB / scan_s,
        },
        "sqlite_no_index": plain.json(cases),
        "sqlite_index_after": indexed.json(cases),
    });
    println!("{}", serde_json::to_string_pretty(&figures)?);
    Ok(())
}

fn report_files(history: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(history)? {
        let dir = dir?.path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "xml") {
                files.push(file);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// One file's statuses, in testcase order: 0 passed, 1 failed or error, 2 skipped.
fn scan(path: &Path, checksum: &mut f64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut reader = Reader::from_reader(BufReader::with_capacity(1 << 16, File::open(path)?));
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut statuses = Vec::new();
    let mut depth_in_case = false;
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"testcase" => {
                testcase(&e, reader.decoder(), checksum)?;
                statuses.push(0);
                depth_in_case = true;
            }
            Event::Empty(e) if e.local_name().as_ref() == b"testcase" => {
                testcase(&e, reader.decoder(), checksum)?;
                statuses.push(0);
            }
            Event::Start(e) | Event::Empty(e) if depth_in_case => {
                let status = match e.local_name().as_ref() {
                    b"failure" | b"error" => 1,
                    b"skipped" => 2,
                    _ => 0,
                };
                if let Some(last) = statuses.last_mut() {
                    *last = (*last).max(status);
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"testcase" => depth_in_case = false,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(statuses)
}

fn testcase(
    e: &BytesStart,
    decoder: Decoder,
    checksum: &mut f64,
) -> Result<(), Box<dyn std::error::Error>> {
    for attr in e.attributes() {
        let attr = attr?;
        match attr.key.as_ref() {
            b"name" | b"classname" => {
                *checksum += attr.decode_and_unescape_value(decoder)?.len() as f64
            }
            b"time" => {
                *checksum += attr
                    .decode_and_unescape_value(decoder)?
                    .parse::<f64>()
                    .unwrap_or(0.0)
            }
            _ => {}
        }
    }
    Ok(())
}

struct Floor {
    seconds: f64,
    bytes: u64,
}

impl Floor {
    fn json(&self, cases: usize) -> serde_json::Value {
        serde_json::json!({
            "seconds": self.seconds,
            "results_per_s": cases as f64 / self.seconds,
            "bytes_per_result": self.bytes as f64 / cases.max(1) as f64,
        })
    }
}

fn sqlite_floor(db: &Path, statuses: &[Vec<u8>], index: bool) -> rusqlite::Result<Floor> {
    let remove = || {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    };
    remove();
    let start = Instant::now();
    let mut conn = Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE results (test INTEGER NOT NULL, build INTEGER NOT NULL, \
         status INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO results (test, build, status) VALUES (?, ?, ?)")?;
        for (build, file) in statuses.iter().enumerate() {
            for (test, status) in file.iter().enumerate() {
                insert.execute((test as i64, build as i64, *status as i64))?;
            }
        }
    }
    if index {
        tx.execute_batch("CREATE INDEX results_test_build ON results (test, build)")?;
    }
    tx.commit()?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(conn);
    let seconds = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    remove();
    Ok(Floor { seconds, bytes })
}
