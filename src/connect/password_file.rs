//! Passwords from a file, so that a server URL need not carry one (where it would show on command
//! lines and in CI configuration): libpq's password file for PostgreSQL (`PGPASSFILE`, else
//! `~/.pgpass`, lines of `host:port:database:user:password`) and a MySQL option file for
//! MySQL/MariaDB (`PROBTRACK_MYSQL_DEFAULTS_FILE`, else `~/.my.cnf`, `password=` in its `[client]`
//! group). Each is read only when the URL has no password. A file that would give a password while
//! others may read it is refused (libpq ignores such a file with a warning; refusing says why the
//! connection has no password), as is one that cannot be read.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn home(name: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(name))
}

/// The file named by `var`, else `~/default`; `None` when neither names one that exists.
fn locate(var: &str, default: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => home(default).filter(|p| p.exists()),
    }
}

fn read(path: &Path, var: &str) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        // libpq: a PGPASSFILE that does not exist is no password, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::usage(format!(
            "cannot read the password file `{}`: {e}",
            path.display()
        ))
        .hint(format!(
            "fix its permissions, or point {var} at a file this user can read"
        ))),
    }
}

/// Refuses a file that group or others may access (libpq's rule: `u=rw` or less).
#[cfg(unix)]
fn check_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        return Err(Error::usage(format!(
            "the password file `{}` has group or world access, so probtrack does not use it",
            path.display()
        ))
        .hint(format!("make it private: `chmod 600 {}`", path.display())));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<()> {
    Ok(())
}

/// The fields of one `.pgpass` line, with `\:` and `\\` unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// The PostgreSQL password for `user` at `host:port` in `database`, from `PGPASSFILE` or
/// `~/.pgpass` (the first line that matches; `*` matches anything).
pub(crate) fn pgpass(host: &str, port: u16, database: &str, user: &str) -> Result<Option<String>> {
    let Some(path) = locate("PGPASSFILE", ".pgpass") else {
        return Ok(None);
    };
    let Some(text) = read(&path, "PGPASSFILE")? else {
        return Ok(None);
    };
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = pgpass_fields(line);
        if fields.len() != 5 {
            continue;
        }
        if fields
            .iter()
            .zip(wanted)
            .all(|(field, want)| field == "*" || field == want)
        {
            check_private(&path)?;
            return Ok(Some(fields[4].clone()));
        }
    }
    Ok(None)
}

/// An option file value: quotes removed, MySQL's escapes (`\n`, `\t`, `\s`, `\\`, …) resolved.
fn option_value(raw: &str) -> String {
    let raw = raw.trim();
    let quoted = raw.len() >= 2
        && (raw.starts_with('"') && raw.ends_with('"')
            || raw.starts_with('\'') && raw.ends_with('\''));
    let inner = if quoted {
        &raw[1..raw.len() - 1]
    } else {
        // Unquoted, `#` starts a comment.
        raw.split(" #").next().unwrap_or(raw).trim_end()
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The MySQL password from the `[client]` group of `PROBTRACK_MYSQL_DEFAULTS_FILE` or `~/.my.cnf`.
pub(crate) fn mysql_option_file() -> Result<Option<String>> {
    const VAR: &str = "PROBTRACK_MYSQL_DEFAULTS_FILE";
    let Some(path) = locate(VAR, ".my.cnf") else {
        return Ok(None);
    };
    let Some(text) = read(&path, VAR)? else {
        if std::env::var_os(VAR).is_some() {
            return Err(Error::usage(format!(
                "{VAR} names `{}`, which does not exist",
                path.display()
            ))
            .hint("point it at a MySQL option file with `password=` in its `[client]` group"));
        }
        return Ok(None);
    };
    let mut group = String::new();
    let mut password = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = name.trim().to_ascii_lowercase();
            continue;
        }
        if group != "client" {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        // Option names may use `-` or `_`; a later line wins, as in MySQL.
        if key.trim().replace('_', "-") == "password" {
            password = Some(option_value(value));
        }
    }
    if password.is_some() {
        check_private(&path)?;
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_unescape_colons_and_backslashes() {
        assert_eq!(
            pgpass_fields(r"db\:x:5432:*:me:pa\:ss\\w:rd"),
            ["db:x", "5432", "*", "me", r"pa:ss\w:rd"]
        );
    }

    #[test]
    fn option_values_lose_quotes_comments_and_escapes() {
        assert_eq!(option_value(" \"a b#c\" "), "a b#c");
        assert_eq!(option_value("secret # note"), "secret");
        assert_eq!(option_value(r"x\sy\\z"), r"x y\z");
    }
}
