//! Compiler command lines: which source files a make or ninja line compiles, and whether it links.

use bstr::ByteSlice;

use super::shapes::COMPILER_RE;

/// Whether a line starts like a compiler command line (cheap; for long lines).
pub(super) fn command_start(body: &[u8]) -> bool {
    let first = body
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or(b"");
    let name = basename(first);
    COMPILER_RE.is_match(name) || is_wrapper(name) || matches!(first, b"cd" | b"libtool:")
}

pub(super) fn basename(path: &[u8]) -> &[u8] {
    match path.rfind_byteset(b"/\\") {
        Some(at) => &path[at + 1..],
        None => path,
    }
}

pub(super) fn is_wrapper(name: &[u8]) -> bool {
    matches!(
        name,
        b"ccache" | b"sccache" | b"distcc" | b"icecc" | b"buildcache" | b"time" | b"nice" | b"env"
    )
}

pub(super) fn is_libtool_word(word: &[u8]) -> bool {
    matches!(
        word,
        b"libtool:" | b"compile:" | b"libtool" | b"bash" | b"sh" | b"--silent" | b"--quiet"
    ) || word.starts_with(b"--tag=")
        || word.starts_with(b"--mode=")
}

/// Splits a shell command line into words (quotes and backslashes as a shell reads them).
pub(super) fn shell_words(line: &[u8]) -> Vec<Vec<u8>> {
    const MAX_WORDS: usize = 8192;
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut in_word = false;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < line.len() && words.len() < MAX_WORDS {
        let b = line[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' && i + 1 < line.len() => {
                i += 1;
                word.push(line[i]);
            }
            Some(_) => word.push(b),
            None => match b {
                b'\'' | b'"' => {
                    quote = Some(b);
                    in_word = true;
                }
                b'\\' if i + 1 < line.len() => {
                    i += 1;
                    word.push(line[i]);
                    in_word = true;
                }
                b if b.is_ascii_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                b';' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    words.push(b"&&".to_vec());
                }
                _ => {
                    word.push(b);
                    in_word = true;
                }
            },
        }
        i += 1;
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Options of gcc and clang whose value is the next word.
pub(super) fn takes_argument(option: &[u8]) -> bool {
    matches!(
        option,
        b"-o"
            | b"-MF"
            | b"-MT"
            | b"-MQ"
            | b"-I"
            | b"-include"
            | b"-imacros"
            | b"-isystem"
            | b"-iquote"
            | b"-idirafter"
            | b"-iprefix"
            | b"-iwithprefix"
            | b"-isysroot"
            | b"--sysroot"
            | b"-x"
            | b"-D"
            | b"-U"
            | b"-L"
            | b"-l"
            | b"-Xlinker"
            | b"-Xpreprocessor"
            | b"-Xassembler"
            | b"-Xclang"
            | b"-T"
            | b"-arch"
            | b"-target"
            | b"-aux-info"
            | b"-dumpbase"
            | b"-dumpdir"
            | b"--param"
            | b"-z"
            | b"-u"
            | b"-e"
    )
}

pub(super) fn is_source_file(word: &[u8]) -> bool {
    let Some(dot) = word.rfind_byte(b'.') else {
        return false;
    };
    if word[..dot].is_empty() || word[dot + 1..].contains(&b'/') {
        return false;
    }
    matches!(
        &word[dot + 1..],
        b"c" | b"cc"
            | b"cp"
            | b"cxx"
            | b"cpp"
            | b"CPP"
            | b"c++"
            | b"C"
            | b"m"
            | b"mm"
            | b"M"
            | b"i"
            | b"ii"
            | b"s"
            | b"S"
            | b"sx"
            | b"cu"
    )
}

/// The source files a command line compiles, each with the directory a `cd DIR &&` before it
/// named. Empty when the line is no compiler run.
pub(super) fn compiled_sources(line: &[u8]) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    let words = shell_words(line);
    let mut sources = Vec::new();
    let mut cwd: Option<Vec<u8>> = None;
    for segment in words.split(|w| w == b"&&" || w == b"||") {
        if segment.len() == 2 && segment[0] == b"cd" {
            cwd = Some(segment[1].clone());
            continue;
        }
        let Some(at) = compiler_at(segment) else {
            continue;
        };
        let mut skip_next = false;
        for word in segment.iter().skip(at + 1) {
            if skip_next {
                skip_next = false;
                continue;
            }
            if word.starts_with(b"-") {
                skip_next = takes_argument(word);
                continue;
            }
            if is_source_file(word) {
                sources.push((cwd.clone(), word.clone()));
            }
        }
    }
    sources
}

/// Where the compiler is among a command's words (after wrappers, libtool's words and
/// `VAR=value` assignments).
pub(super) fn compiler_at(segment: &[Vec<u8>]) -> Option<usize> {
    for (i, word) in segment.iter().enumerate().take(10) {
        let name = basename(word);
        if COMPILER_RE.is_match(name) {
            return Some(i);
        }
        let skippable = is_wrapper(name)
            || is_libtool_word(word)
            || is_libtool_word(name)
            || (word.contains(&b'=') && !word.starts_with(b"-"));
        if !skippable {
            return None;
        }
    }
    None
}

/// Whether a command line links: the compiler run with `-o` and objects or libraries to link.
pub(super) fn is_link_command(line: &[u8]) -> bool {
    let words = shell_words(line);
    words.split(|w| w == b"&&" || w == b"||").any(|segment| {
        let Some(at) = compiler_at(segment) else {
            return false;
        };
        let (mut output, mut objects, mut skip_next) = (false, false, false);
        for word in segment.iter().skip(at + 1) {
            if skip_next {
                skip_next = false;
                continue;
            }
            if word.starts_with(b"-") {
                output |= word == b"-o";
                skip_next = takes_argument(word);
                continue;
            }
            objects |= is_object_file(word);
        }
        output && objects
    })
}

pub(super) fn is_object_file(word: &[u8]) -> bool {
    let Some(dot) = word.rfind_byte(b'.') else {
        return false;
    };
    !word[..dot].is_empty()
        && !word[dot + 1..].contains(&b'/')
        && matches!(
            &word[dot + 1..],
            b"o" | b"obj" | b"a" | b"so" | b"lo" | b"la" | b"lib" | b"dylib"
        )
}
