//! The one integration-test binary: every test drives the real `probtrack` binary in a private
//! temporary directory with a fresh database.

// The Test builder, fixture paths, and JSON helpers.
mod harness;
// A generator of synthetic histories with a known truth.
mod generate;

// Ingesting reports: dialects, idempotence, several files, bad input, concurrency.
mod ingest;
// Blamelists from a real git repository.
mod blamelist;
// The database file: missing, newer, older, settings.
mod store;
// Incremental analysis vs reanalyze on long generated histories.
mod analysis;
// flaky: ranking on scripted and generated histories.
mod flaky;
// Problems, since, show, users, builders on the sample history.
mod problems;
// Every fixture through parse: exact results, auto-detection.
mod fixtures;
// The text formats: go test -json, TAP, libtest, unittest; mixed-format histories.
mod formats;
// For people: completions, colour, escaping, gating, import, prune.
mod people;
// report --html: the static site, parsed back, links, escaping, and a headless browser.
mod report;
// Reliability: kills, a full disk, read-only, concurrency, untrusted text, the binary's link.
mod reliability;
// Queries: builds, history, parse, parsers, output formats.
mod queries;
// Triage: clusters, notify (local HTTP and SMTP servers), links and notes, mark-bad, rename.
mod triage;
// Issue 19: retirements, renames and arrival order leave Problems whole and the same.
mod issue19;
// The reference model of the Problem rules, against random histories.
mod model;
// The output contract byte for byte: every JSON and CSV view on the sample history.
mod views;
// Shared databases: copy between backends, many ingests at once.
mod shared;
// Faults on the servers: restarts, terminated and cut connections, a killed lock holder.
mod faults;
// Parser plugins: a program registered in probtrack.toml, its output checked.
mod plugins;
// Build metrics: ingest, metric Problems, metrics and metric NAME, accept, hostile files.
mod metrics;
// IRC against a real ngircd: notify to a channel, the bot answering in one.
mod irc;
// notify to chat: XMPP (a real prosody), Matrix (a real Synapse), Zulip and Discord (loopback).
mod im;
// import --buildbot: a master's answers that go wrong, credentials, retries.
mod buildbot;
// Verified TLS against private PostgreSQL and MariaDB servers with a certificate authority of the test's.
mod tls;
// Passwords never in output, errors, server logs or the database; password files.
mod secrets;
// Every file under tests/it is listed above.
mod forgotten;
// Test coverage: ingested, stored, shown, lost coverage as Problems, hostile reports.
mod coverage;
