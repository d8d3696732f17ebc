use super::*;
use bstr::ByteSlice;

use crate::collect::{collect, Collected};
use crate::model::{Kind, Status};

fn parse_with(input: &[u8], source_root: Option<&str>) -> Collected {
    let mut options = ParseOptions::new("build.log");
    options.source_root = source_root.map(str::to_owned);
    collect(&Gcc, &mut &input[..], &options).expect("a compiler log always parses")
}

fn parse(input: &[u8]) -> Collected {
    parse_with(input, None)
}

/// `(identity, status, count)` of every result, in order.
fn summary(collected: &Collected) -> Vec<(String, Status, u64)> {
    collected
        .results
        .iter()
        .map(|r| {
            let count = r.details.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
            (r.test.to_string(), r.status, count)
        })
        .collect()
}

/// Checks the results' identities, statuses and counts.
#[track_caller]
fn check(input: &[u8], expected: &[(&str, Status, u64)]) -> Collected {
    let collected = parse(input);
    let expected: Vec<(String, Status, u64)> = expected
        .iter()
        .map(|(id, status, count)| ((*id).to_owned(), *status, *count))
        .collect();
    assert_eq!(summary(&collected), expected);
    collected
}

fn compiled(collected: &Collected) -> Vec<String> {
    collected.compiled.iter().map(|c| c.to_string()).collect()
}

fn detail<'a>(collected: &'a Collected, index: usize, key: &str) -> &'a serde_json::Value {
    collected.results[index]
        .details
        .get(key)
        .unwrap_or(&serde_json::Value::Null)
}

fn text(collected: &Collected, index: usize) -> &str {
    detail(collected, index, "text").as_str().unwrap_or("")
}

use Status::{Error as E, Failed as F};

// ---------------------------------------------------------------------------------------------
// Small cases of the parser's own logic.

#[test]
fn a_warning_and_an_error_with_flag_and_severity_as_flag() {
    let c = check(
        b"gcc -c src/a.c -o a.o\n\
          src/a.c:3:5: warning: unused variable 'x' [-Wunused-variable]\n\
          src/a.c:9:1: error: expected ';' before '}' token\n",
        &[
            ("a.c:-Wunused-variable:unused variable 'x'", F, 1),
            ("a.c:error:expected ';' before '}' token", E, 1),
        ],
    );
    let r = &c.results[0];
    assert_eq!(r.kind, Kind::Compile);
    assert_eq!(
        r.message.as_ref().map(|m| m.to_string()).as_deref(),
        Some("unused variable 'x'")
    );
    assert_eq!(detail(&c, 0, "line"), 3);
    assert_eq!(detail(&c, 0, "column"), 5);
    assert_eq!(detail(&c, 0, "flag"), "-Wunused-variable");
    assert_eq!(detail(&c, 0, "file"), "src/a.c");
    assert_eq!(compiled(&c), ["a.c"]);
}

#[test]
fn messages_are_normalised_for_the_identity_but_kept_as_printed() {
    let c = check(
        "a.c:1:1: warning: array subscript 12 is above array bounds of \u{2018}int[10]\u{2019} [-Warray-bounds]\n\
         a.c:7:1: warning: array subscript 13 is above array bounds of 'int[10]' [-Warray-bounds]\n\
         a.c:8:1: warning: cast to pointer 0x7ffd1234abcd from `int32_t' [-Wint-to-pointer-cast]\n\
         a.c:9:1: warning: value 1.5e3f and 3DSExport, sha256 [-Wfloat-conversion]\n"
            .as_bytes(),
        &[
            ("a.c:-Warray-bounds:array subscript N is above array bounds of 'int[N]'", F, 2),
            ("a.c:-Wint-to-pointer-cast:cast to pointer 0xN from 'int32_t'", F, 1),
            ("a.c:-Wfloat-conversion:value N and 3DSExport, sha256", F, 1),
        ],
    );
    assert_eq!(
        c.results[0]
            .message
            .as_ref()
            .map(|m| m.to_string())
            .as_deref(),
        Some("array subscript 12 is above array bounds of \u{2018}int[10]\u{2019}")
    );
}

#[test]
fn one_identity_once_per_report_with_its_count() {
    // A header's warning, printed once per translation unit that includes it.
    let c = check(
        b"gcc -c src/a.c\n\
          In file included from src/a.c:1:\n\
          src/h.h:3:5: warning: unused variable 'x' [-Wunused-variable]\n\
          gcc -c src/b.c\n\
          In file included from src/b.c:2:\n\
          src/h.h:3:5: warning: unused variable 'x' [-Wunused-variable]\n\
          gcc -c src/c.c\n\
          In file included from src/c.c:2:\n\
          src/h.h:3:5: error: unused variable 'x' [-Werror=unused-variable]\n",
        &[("h.h:-Wunused-variable:unused variable 'x'", E, 3)],
    );
    // The first occurrence's text, with the include chain that led to it.
    assert_eq!(
        text(&c, 0),
        "In file included from src/a.c:1:\nsrc/h.h:3:5: warning: unused variable 'x' [-Wunused-variable]\n"
    );
    assert_eq!(compiled(&c), ["a.c", "b.c", "c.c"]);
}

#[test]
fn the_common_prefix_of_the_compiled_files_is_stripped() {
    let log = b"make[1]: Entering directory '/home/ci/proj/lib'\n\
                gcc -c util.c -o util.o\n\
                util.c:2:1: warning: no newline at end of file\n\
                make[1]: Leaving directory '/home/ci/proj/lib'\n\
                make[1]: Entering directory '/home/ci/proj/app'\n\
                cc -I../lib -c main.c -o main.o\n\
                ../lib/util.h:4:3: warning: 'f' defined but not used [-Wunused-function]\n\
                /usr/include/stdio.h:9:9: note: declared here\n\
                make[1]: Leaving directory '/home/ci/proj/app'\n";
    let c = check(
        log,
        &[
            ("lib/util.c:warning:no newline at end of file", F, 1),
            (
                "lib/util.h:-Wunused-function:'f' defined but not used",
                F,
                1,
            ),
        ],
    );
    assert_eq!(compiled(&c), ["lib/util.c", "app/main.c"]);
    assert_eq!(detail(&c, 1, "file"), "../lib/util.h");

    // `--source-root` wins over the common prefix.
    let c = parse_with(log, Some("/home/ci"));
    assert_eq!(
        summary(&c)[0].0,
        "proj/lib/util.c:warning:no newline at end of file"
    );
    assert_eq!(compiled(&c), ["proj/lib/util.c", "proj/app/main.c"]);
}

#[test]
fn without_compiled_files_the_diagnostics_common_prefix_is_stripped() {
    check(
        b"/w/p/src/a.c:1:1: warning: x\n/w/p/inc/b.h:1:1: warning: y\n/usr/include/c.h:1:1: warning: z\n",
        &[
            ("src/a.c:warning:x", F, 1),
            ("inc/b.h:warning:y", F, 1),
            ("/usr/include/c.h:warning:z", F, 1),
        ],
    );
    // A single relative file keeps its directory; `..` prefixes go.
    check(
        b"../main.cpp:1:26: warning: unused variable 'a' [-Wunused-variable]\n",
        &[("main.cpp:-Wunused-variable:unused variable 'a'", F, 1)],
    );
}

#[test]
fn notes_and_source_lines_attach_to_the_diagnostic_they_explain() {
    let c = check(
        "src/a.c: In function \u{2018}main\u{2019}:\n\
         src/a.c:4:29: warning: implicit declaration of function \u{2018}printf\u{2019} [-Wimplicit-function-declaration]\n\
         \x20   4 | int g(void) { printf(\"%d\", 1); }\n\
         \x20     |               ^~~~~~\n\
         In file included from src/a.c:1:\n\
         src/b.h:2:1: note: include \u{2018}<stdio.h>\u{2019} or provide a declaration of \u{2018}printf\u{2019}\n\
         \x20 +++ |+#include <stdio.h>\n\
         src/a.c:5:1: error: expected declaration\n\
         1 warning and 1 error generated.\n\
         unrelated line\n\
         src/a.c:9:1: note: an orphan note is no result\n"
            .as_bytes(),
        &[
            ("a.c:-Wimplicit-function-declaration:implicit declaration of function 'printf'", F, 1),
            ("a.c:error:expected declaration", E, 1),
        ],
    );
    assert_eq!(
        text(&c, 0),
        "src/a.c: In function \u{2018}main\u{2019}:\n\
         src/a.c:4:29: warning: implicit declaration of function \u{2018}printf\u{2019} [-Wimplicit-function-declaration]\n\
         \x20   4 | int g(void) { printf(\"%d\", 1); }\n\
         \x20     |               ^~~~~~\n\
         In file included from src/a.c:1:\n\
         src/b.h:2:1: note: include \u{2018}<stdio.h>\u{2019} or provide a declaration of \u{2018}printf\u{2019}\n\
         \x20 +++ |+#include <stdio.h>\n"
    );
    assert_eq!(text(&c, 1), "src/a.c:5:1: error: expected declaration\n");
}

#[test]
fn clang_flags_categories_and_ranges() {
    check(
        b"t.c:3:11: warning: conversion specifies type 'char *' [-Wformat,Format String]\n\
          t.c:3:11: warning: conversion specifies type 'char *' [-Wformat,1]\n\
          e.c:47:15:{47:8-47:14}{47:17-47:24}: error: invalid operands to binary expression\n\
          u.c:2:5: error: unused variable 'v' [-Werror,-Wunused-variable]\n\
          m.cpp:2:5: warning: constructors must be explicit [google-explicit-constructor]\n",
        &[
            ("t.c:-Wformat:conversion specifies type 'char *'", F, 2),
            ("e.c:error:invalid operands to binary expression", E, 1),
            ("u.c:-Wunused-variable:unused variable 'v'", E, 1),
            (
                "m.cpp:google-explicit-constructor:constructors must be explicit",
                F,
                1,
            ),
        ],
    );
}

#[test]
fn linker_errors_have_the_linker_as_their_place() {
    let c = check(
        b"gcc -o app main.o\n\
          /usr/bin/ld: /tmp/cc2oDdBz.o: in function `main':\n\
          m.c:(.text+0xa): undefined reference to `missing'\n\
          /usr/bin/ld: m.c:(.text+0x16): undefined reference to `other'\n\
          /home/me/foo.cpp:7: undefined reference to `missing'\n\
          collect2: error: ld returned 1 exit status\n\
          /usr/bin/ld: cannot find -lnosuchlib: No such file or directory\n\
          ld.lld-15: error: undefined symbol: lld::elf::demangle(llvm::StringRef)\n\
          >>> referenced by a.c:3\n\
          ld.lld: warning: creating a DT_TEXTREL in a shared object\n\
          ld.lld: note: a note alone\n",
        &[
            ("ld:error:undefined reference to 'missing'", E, 2),
            ("ld:error:undefined reference to 'other'", E, 1),
            (
                "ld:error:cannot find -lnosuchlib: No such file or directory",
                E,
                1,
            ),
            (
                "ld:error:undefined symbol: lld::elf::demangle(llvm::StringRef)",
                E,
                1,
            ),
            ("ld:warning:creating a DT_TEXTREL in a shared object", F, 1),
        ],
    );
    assert_eq!(
        text(&c, 0),
        "/usr/bin/ld: /tmp/cc2oDdBz.o: in function `main':\n\
         m.c:(.text+0xa): undefined reference to `missing'\n\
         collect2: error: ld returned 1 exit status\n"
    );
    assert!(text(&c, 3).contains(">>> referenced by a.c:3"));
    // A failed link whose cause was not recognised is an error of its own.
    check(
        b"gcc -o app a.o\nsomething odd\ncollect2: error: ld returned 1 exit status\n",
        &[("ld:error:ld returned N exit status", E, 1)],
    );
}

#[test]
fn driver_diagnostics_name_the_tool() {
    check(
        b"gcc: error: nosuch.c: No such file or directory\n\
          x86_64-linux-gnu-gcc-12: error: nosuch.c: No such file or directory\n\
          cc1plus: warning: command-line option '-Wmissing-prototypes' is valid for C but not for C++\n\
          clang: warning: argument unused during compilation: '-L/x' [-Wunused-command-line-argument]\n",
        &[
            ("gcc:error:nosuch.c: No such file or directory", E, 2),
            ("cc1plus:warning:command-line option '-Wmissing-prototypes' is valid for C but not for C++", F, 1),
            ("clang:-Wunused-command-line-argument:argument unused during compilation: '-L/x'", F, 1),
        ],
    );
}

#[test]
fn prefixes_colours_and_carriage_returns_are_removed() {
    check(
        b"[Build on CentOS 7] keyval_lex.c:947:23: warning: comparison [-Wsign-compare]\r\n\
          11% scanner.cpp:1518:28: warning: null dereference\n\
          14:57:50       [exec] src/x.cxx:52: warning: truncated\n\
          2024-05-01T10:00:00.123Z \x1b[01m\x1b[Kb.c:1:2:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kbad [\x1b[01;35m\x1b[K-Wbad\x1b[m\x1b[K]\n\
          C/C++: /project/src/M.cpp:35:15: warning: unused parameter 'p' [-Wunused-parameter]\n\
          [3/10] gcc -c src/z.c -o z.o\n",
        &[
            ("keyval_lex.c:-Wsign-compare:comparison", F, 1),
            ("scanner.cpp:warning:null dereference", F, 1),
            // Relative to `src`, the directory of the one compiled file.
            ("x.cxx:warning:truncated", F, 1),
            ("b.c:-Wbad:bad", F, 1),
            ("/project/src/M.cpp:-Wunused-parameter:unused parameter 'p'", F, 1),
        ],
    );
}

#[test]
fn lines_that_only_look_like_diagnostics_are_not_results() {
    check(
        b"14:22:36 New:   vobs/a/b.sh \"symbolic link d6377eb4.fc7711e5.8fd8.00:50:56:bc:54:8e\" SYMLINK\n\
          2017-01-09 23:58:38.845 TheApp[23132:1512765431] void cb(...[Line 346] SQL error: 23 misuse\n\
          /Volumes/w/Splot.m:85: error: -[SplotTests testSplots] : ((x) is true) failed - gone\n\
          [javac] /w/ShutdownSignalHandler.java:62: warning: Signal is internal proprietary API\n\
          configure.ac:9: installing `auto/config.guess'\n\
          see https://example.com:8080/a: error: nothing\n\
          make: *** [Makefile:12: app] Error 1\n\
          CMake Warning (dev) in CMakeLists.txt:\n\
          identity oid:b694f709.1b014e0d.bf63.6c:03:05:8f:bc:23@vobuuid:bdbb9ca6.e88d43c1.abe7.9a:23:03:11:84:a1 1\n",
        &[],
    );
}

#[test]
fn a_location_wrapped_onto_its_own_line() {
    // The message is wrapped too: its rest is part of it (and of its identity).
    let c = check(
        b"/x/include/F.h:17:\nwarning: class F has virtual functions but\nnon-virtual destructor\n\
          /x/include/F.h:\nIn instantiation of F<T>:\nT.h:67:   instantiated from here\n",
        &[(
            "F.h:warning:class F has virtual functions but non-virtual destructor",
            F,
            1,
        )],
    );
    assert_eq!(
        text(&c, 0),
        "/x/include/F.h:17:\nwarning: class F has virtual functions but\nnon-virtual destructor\n"
    );
}

#[test]
fn a_wrapped_message_goes_on_on_the_next_lines() {
    // Old gcc's `may be used` then `uninitialized in this function`, with a note after it.
    let c = check(
        b"main/mep.cpp:352: warning: 's2.lub' may be used\n\
          uninitialized in this function\n\
          main/mep.cpp:1477: note: 's2.lub' was declared here\n",
        &[(
            "mep.cpp:warning:'s2.lub' may be used uninitialized in this function",
            F,
            1,
        )],
    );
    assert_eq!(
        c.results[0]
            .message
            .as_ref()
            .map(|m| m.to_string())
            .as_deref(),
        Some("'s2.lub' may be used uninitialized in this function")
    );
    assert!(text(&c, 0).ends_with("note: 's2.lub' was declared here\n"));
    // The flag on the wrapped line is the diagnostic's (cc1plus's message ends with a number).
    let c = check(
        b"In member function 'void C::f(int)':\n\
          cc1plus: warning: 'void* memset(void*, int)': specified size 18446744073709551612\n\
          exceeds maximum object size 9223372036854775807 [-Wstringop-overflow=]\n\
          \n\
          cc1: warning: 'void* memset(void*, int)': specified size 18446744073709551612\n\
          \x20  exceeds maximum object size 9223372036854775807 [-Wstringop-overflow=]\n",
        &[
            ("cc1plus:-Wstringop-overflow=:'void* memset(void*, int)': specified size N exceeds maximum object size N", F, 1),
            ("cc1:-Wstringop-overflow=:'void* memset(void*, int)': specified size N exceeds maximum object size N", F, 1),
        ],
    );
    assert_eq!(detail(&c, 0, "flag"), "-Wstringop-overflow=");
    // Over several lines; and a header's wrapped warning seen twice is one identity.
    check(
        b"src/h.h:3: warning: the value of\nthe thing that is\nvery long here [-Wlong]\n\
          src/h.h:3: warning: the value of\nthe thing that is\nvery long here [-Wlong]\n\
          src/h.h:4: warning: a b c but\nd e\nsrc/h.h:4: warning: a b c but\n",
        &[
            (
                "h.h:-Wlong:the value of the thing that is very long here",
                F,
                2,
            ),
            ("h.h:warning:a b c but d e", F, 1),
            ("h.h:warning:a b c but", F, 1),
        ],
    );
}

#[test]
fn source_lines_and_other_lines_do_not_continue_a_message() {
    let c = check(
        // A clang source line (not indented) shows by the caret line after it.
        b"a.c:2:1: error: the declaration of\n\
          static int counter\n\
          ^\n\
          a.c:5:3: error: 'x' undeclared but\n\
          \x20 int x = 1;\n\
          \x20 ^\n\
          a.c:8:3: error: 'y' undeclared (first use in this function)\n\
          Linking CXX executable app\n\
          a.c:9:3: error: bad use of\n\
          make[2]: *** [app] Error 1\n\
          a.c:10:3: error: bad use of\n\
          warning: something else\n\
          a.c:11:3: warning: unused thing [-Wunused]\n\
          the next words [-Wother]\n",
        &[
            ("a.c:error:the declaration of", E, 1),
            ("a.c:error:'x' undeclared but", E, 1),
            (
                "a.c:error:'y' undeclared (first use in this function)",
                E,
                1,
            ),
            ("a.c:error:bad use of", E, 2),
            ("a.c:-Wunused:unused thing", F, 1),
        ],
    );
    assert_eq!(
        text(&c, 0),
        "a.c:2:1: error: the declaration of\nstatic int counter\n^\n"
    );
}

#[test]
fn gcc_json_arrays() {
    let log = br#"gcc -fdiagnostics-format=json -c src/a.c -o a.o
[{"kind": "warning", "locations": [{"caret": {"line": 3, "file": "src/a.c", "column": 34}}], "option": "-Wunused-variable", "children": [{"kind": "note", "locations": [{"caret": {"line": 1, "file": "src/a.c", "column": 1}}], "message": "declared here"}], "message": "unused variable \u2018p\u2019"}]
gcc -fdiagnostics-format=json -c src/b.c -o b.o
[]
gcc -fdiagnostics-format=json -c src/c.c -o c.o
[{"kind": "fatal error", "locations": [{"caret": {"line": 2, "file": "src/c.c", "column": 10}}], "children": [], "message": "x.h: No such file or directory"}, {"kind": "error", "locations": [], "message": "oops"}]
[{"kind": "warning", "message": "broken
"#;
    let c = check(
        log,
        &[
            ("a.c:-Wunused-variable:unused variable 'p'", F, 1),
            ("c.c:error:x.h: No such file or directory", E, 1),
            ("gcc:error:oops", E, 1),
        ],
    );
    assert_eq!(
        text(&c, 0),
        "src/a.c:3:34: warning: unused variable \u{2018}p\u{2019} [-Wunused-variable]\n\
         src/a.c:1:1: note: declared here\n"
    );
    assert_eq!(detail(&c, 1, "severity"), "fatal error");
    assert_eq!(compiled(&c), ["a.c", "b.c", "c.c"]);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}

#[test]
fn a_json_array_longer_than_a_line_may_be() {
    let mut log = b"[".to_vec();
    for i in 0..3000 {
        if i > 0 {
            log.extend_from_slice(b", ");
        }
        log.extend_from_slice(
            format!(
                r#"{{"kind": "warning", "locations": [{{"caret": {{"line": {i}, "file": "a.c", "column": 1}}}}], "option": "-Wx", "message": "m{}"}}"#,
                i % 7
            )
            .as_bytes(),
        );
    }
    log.extend_from_slice(b"]\na.c:1:1: warning: after\n");
    assert!(log.len() > LINE_CAP);
    let c = parse(&log);
    assert_eq!(c.results.len(), 8);
    assert_eq!(summary(&c)[0], ("a.c:-Wx:m0".to_owned(), F, 429));
}

#[test]
fn compiled_files_from_command_lines() {
    let c = parse(
        b"[1/3] /usr/bin/x86_64-linux-gnu-gcc-12 -Iinc -MD -MF a.d -o obj/a.o -c src/a.c\n\
          cd /b/build && /usr/bin/c++ -DX -o CMakeFiles/t.dir/w.cpp.o -c /b/src/w.cpp\n\
          libtool: compile:  gcc -DHAVE_CONFIG_H -c src/lt.c  -fPIC -DPIC -o .libs/lt.o\n\
          ccache clang++ -std=c++17 -x c++ -c 'src/sp ace.cc' -o sp.o\n\
          gcc -c -Wall -DDIR=\\\"/usr/share\\\" \\\n\
          \t-o figlet.o src/figlet.c\n\
          \x20 CC      src/kern.o\n\
          \x20 CC [M]  src/mod.o\n\
          gcc -o app a.o b.o -lm\n\
          gcc-ar rcs lib.a a.o\n\
          echo gcc -c src/no.c\n",
    );
    assert_eq!(
        compiled(&c),
        [
            "src/a.c",
            "/b/src/w.cpp",
            "src/lt.c",
            "src/sp ace.cc",
            "src/figlet.c",
            "src/kern.c",
            "src/mod.c"
        ]
    );
    assert!(c.results.is_empty());
}

#[test]
fn sniffing() {
    assert_eq!(
        Gcc.sniff(b"make\nsrc/a.c:3:5: warning: x [-Wy]\n"),
        Confidence::HIGH
    );
    assert_eq!(Gcc.sniff(b"src/a.c:3:5: error: x\n"), Confidence::HIGH);
    assert_eq!(
        Gcc.sniff(br#"[{"kind": "warning", "locations": []}]"#),
        Confidence::HIGH
    );
    assert_eq!(Gcc.sniff(b"src/a.c:3: warning: x\n"), Confidence::MEDIUM);
    assert_eq!(
        Gcc.sniff(b"gcc -O2 -c src/a.c -o a.o\n"),
        Confidence::MEDIUM
    );
    assert_eq!(Gcc.sniff(b"hello\nworld\n"), Confidence::NONE);
    assert_eq!(
        Gcc.sniff(
            b"<?xml version=\"1.0\"?>\n<testsuite><system-out>a.c:1:2: warning: x</system-out>"
        ),
        Confidence::NONE
    );
    assert_eq!(
        Gcc.sniff(
            b"a.test_x ... [FAIL]\n  File \"/x/a.py\", line 3, in test_x\nFAILED (failures=1)\n"
        ),
        Confidence::NONE
    );
    assert_eq!(
        Gcc.sniff(b"[javac] /w/A.java:62: warning: Signal is internal proprietary API\n"),
        Confidence::NONE
    );
    // Linker errors without a severity, and link command lines.
    for log in [
        &b"Some text\n\ng++ a.o main.o libm.a -L/x/lib -lMyLib -o app\n/usr/bin/ld: cannot find -lMyLib\n"[..],
        b"/usr/bin/ld: cannot find -lMyLib\n",
        b"ld: undefined reference to `f'\n",
        b"/usr/bin/ld: main.o: in function `main':\n",
        b"collect2: error: ld returned 1 exit status\n",
        b"ld.lld: error: undefined symbol: f\n",
        b"gcc -O2 -o app a.o b.o\n",
    ] {
        assert_eq!(Gcc.sniff(log), Confidence::MEDIUM, "{}", log.as_bstr());
    }
    // A location wrapped onto its own line, its diagnostic on the next.
    assert_eq!(
        Gcc.sniff(
            b"/x/F.h:17:\nwarning: class F has virtual functions but\nnon-virtual destructor\n"
        ),
        Confidence::MEDIUM
    );
    for log in [
        &b"/x/F.h:17:\nnote: declared here\n"[..],
        b"/x/F.h:17:\n\nwarning: far away\n",
        b"warning: no location\n",
        b"gcc version : 3.4.6\nld version  : 2.15.92.0.2\n",
        b"gcc -o app\n",
        b"ld: a line\n",
    ] {
        assert_eq!(Gcc.sniff(log), Confidence::NONE, "{}", log.as_bstr());
    }
}

#[test]
fn hostile_input_never_panics_and_memory_stays_bounded() {
    // A very long line without a newline, binary junk, NULs, invalid UTF-8, lone escapes.
    let mut log = vec![b'x'; 3 * LINE_CAP];
    log.extend_from_slice(
        b"\n\x00\xff\xfe\x1b\x1b[\x1b]8;;\n\xe2\x80a.c:1:1: warning: \xff\xfe [-W\xff]\n",
    );
    log.extend_from_slice(b"[{\"kind\": \"warning\", \"message\": \"\xff\"}]\n");
    log.extend_from_slice(b"gcc \\\n");
    let c = parse(&log);
    assert_eq!(c.results.len(), 2, "{:?}", summary(&c));
    for junk in [
        &b""[..],
        b"\n",
        b"\r\r\r",
        b"\x1b",
        b":",
        b"a:1:",
        b"a:1:\n",
        b"[{\"kind\"",
        b"\\",
    ] {
        let _ = parse(junk);
        let _ = Gcc.sniff(junk);
    }
    // Lines with no diagnostics: nothing is kept.
    let mut big = Vec::new();
    for i in 0..20_000 {
        big.extend_from_slice(format!("[{i}/20000] building thing {i}: done\n").as_bytes());
    }
    assert!(parse(&big).results.is_empty());
}

#[test]
fn read_errors_say_where() {
    struct Failing;
    impl io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let mut input = io::BufReader::new(Failing);
    let err = collect(&Gcc, &mut input, &ParseOptions::new("b.log")).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "failed to parse compiler log at b.log:1: disk on fire"
    );
}

// ---------------------------------------------------------------------------------------------
// Real logs: fixtures/gcc (see each directory's PROVENANCE.md).

fn fixture(path: &str) -> Collected {
    let full = format!("{}/../fixtures/gcc/{path}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"));
    parse(&bytes)
}

#[track_caller]
fn check_fixture(path: &str, expected: &[(&str, Status, u64)]) -> Collected {
    let collected = fixture(path);
    let expected: Vec<(String, Status, u64)> = expected
        .iter()
        .map(|(id, status, count)| ((*id).to_owned(), *status, *count))
        .collect();
    assert_eq!(summary(&collected), expected, "{path}");
    collected
}

fn position(collected: &Collected, prefix: &str) -> usize {
    collected
        .results
        .iter()
        .position(|r| r.test.starts_with(prefix.as_bytes()))
        .unwrap_or_else(|| panic!("no result starts with {prefix}"))
}

/// make -k with gcc 12. util.h's two warnings are printed for each of the four files that include
/// it; its -Wsign-compare at line 8 and the one of the macro at line 13 share an identity.
const MAKE_GCC: &[(&str, Status, u64)] = &[
        ("util.h:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 5),
        ("util.h:-Wunused-variable:unused variable 'unused_in_header'", F, 4),
        ("main.c:-Wunused-parameter:unused parameter 'user_data'", F, 1),
        ("main.c:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 1),
        ("main.c:-Wformat=:format '%s' expects argument of type 'char *', but argument N has type 'int'", F, 1),
        ("main.c:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'long int'", F, 1),
        ("main.c:-Wunused-variable:unused variable 'unused_local'", F, 1),
        ("ld:error:undefined reference to 'frobnicate'", E, 1),
        ("parse.c:error:'struct token' has no member named 'lenght'", E, 1),
        ("parse.c:-Wimplicit-function-declaration:implicit declaration of function 'strlen'", F, 1),
        ("parse.c:-Wbuiltin-declaration-mismatch:incompatible implicit declaration of built-in function 'strlen'", F, 1),
        ("parse.c:error:'undefined_counter' undeclared (first use in this function)", E, 1),
        ("parse.c:-Wunused-but-set-variable:variable 'tok' set but not used", F, 1),
        ("parse.c:-Wunused-parameter:unused parameter 'unused_param'", F, 1),
        ("parse.c:-Wreturn-type:control reaches end of non-void function", F, 2),
        ("missing.c:error:generated/version.h: No such file or directory", E, 1),
        ("templates.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'std::vector<unsigned int>::size_type' {aka 'long unsigned int'}", F, 1),
        ("templates.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'const __gnu_cxx::__alloc_traits<std::allocator<unsigned int>, unsigned int>::value_type' {aka 'const unsigned int'} and 'int'", F, 1),
        ("templates.cpp:error:no match for 'operator*' (operand types are 'const std::__cxx11::basic_string<char>' and 'int')", E, 1),
        ("widget.cpp:-Wunused-parameter:unused parameter 'unused_hint'", F, 1),
        ("widget.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 1),
        ("widget.cpp:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'const char*'", F, 1),
        ("widget.cpp:-Wunused-variable:unused variable 'leftover'", F, 1),
];

#[test]
fn make_gcc() {
    let c = check_fixture("make-gcc/build.log", MAKE_GCC);
    assert_eq!(
        compiled(&c),
        [
            "main.c",
            "util.c",
            "parse.c",
            "missing.c",
            "templates.cpp",
            "widget.cpp"
        ]
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(detail(&c, 0, "line"), 8);
    assert_eq!(detail(&c, 0, "column"), 11);
    assert_eq!(detail(&c, 0, "file"), "src/util.h");
    assert!(text(&c, 0).starts_with("In file included from src/config.h:4,\n                 from src/main.c:3:\nsrc/util.h: In function"));
    // The source lines that say `/* error: … */` stay text of the error they follow.
    let lenght = position(&c, "parse.c:error:'struct token'");
    assert!(text(&c, lenght).contains("/* error: no member named"));
    let link = position(&c, "ld:");
    assert!(text(&c, link).contains("collect2: error: ld returned 1 exit status"));
    let fatal = position(&c, "missing.c:");
    assert_eq!(detail(&c, fatal, "severity"), "fatal error");
}

#[test]
fn make_gcc_in_the_c_locale_with_colours_and_without_columns_gives_the_same_identities() {
    check_fixture("make-gcc-c-locale/build.log", MAKE_GCC);
    let color = check_fixture("make-gcc-color/build.log", MAKE_GCC);
    assert!(!text(&color, 0).contains('\x1b'));
    let no_column = check_fixture("make-gcc-no-column/build.log", MAKE_GCC);
    assert_eq!(detail(&no_column, 0, "column"), &serde_json::Value::Null);
    assert_eq!(detail(&no_column, 0, "line"), 8);
}

#[test]
fn make_gcc_macro_expansion_note_is_part_of_the_warning() {
    let c = fixture("make-gcc/build.log");
    let main = fixture("make-gcc/build.log");
    assert_eq!(text(&c, 0), text(&main, 0));
    let log = std::fs::read_to_string(format!(
        "{}/../fixtures/gcc/make-gcc/build.log",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    // The macro's warning is a later occurrence of util.h's identity: its note is in the log but
    // not a result of its own.
    assert!(log.contains("note: in expansion of macro"));
    assert!(c
        .results
        .iter()
        .all(|r| !r.test.to_string().contains("in expansion of")));
}

#[test]
fn ninja_gcc() {
    let mut expected: Vec<_> = MAKE_GCC
        .iter()
        .copied()
        .filter(|(id, _, _)| !id.starts_with("missing.c:") && !id.starts_with("ld:"))
        .collect();
    expected.push(("ld:error:undefined reference to 'frobnicate'", E, 1));
    let c = check_fixture("ninja-gcc/build.log", &expected);
    assert_eq!(
        compiled(&c),
        ["main.c", "util.c", "parse.c", "templates.cpp", "widget.cpp"]
    );
}

const MAKE_CLANG: &[(&str, Status, u64)] = &[
        ("util.h:-Wunused-variable:unused variable 'unused_in_header'", F, 4),
        ("util.h:-Wsign-compare:comparison of integers of different signs: 'int' and 'unsigned int'", F, 4),
        ("main.c:-Wunused-parameter:unused parameter 'user_data'", F, 1),
        ("main.c:-Wformat:format specifies type 'char *' but the argument has type 'int'", F, 1),
        ("main.c:-Wformat:format specifies type 'int' but the argument has type 'long'", F, 1),
        ("main.c:-Wunused-variable:unused variable 'unused_local'", F, 1),
        ("main.c:-Wsign-compare:comparison of integers of different signs: 'int' and 'unsigned int'", F, 2),
        ("ld:error:undefined reference to 'frobnicate'", E, 1),
        ("parse.c:error:no member named 'lenght' in 'struct token'", E, 1),
        ("parse.c:-Wimplicit-function-declaration:implicitly declaring library function 'strlen' with type 'unsigned long (const char *)'", F, 1),
        ("parse.c:error:use of undeclared identifier 'undefined_counter'", E, 1),
        ("parse.c:-Wunused-parameter:unused parameter 'unused_param'", F, 1),
        ("missing.c:error:'generated/version.h' file not found", E, 1),
        ("templates.cpp:-Wsign-compare:comparison of integers of different signs: 'int' and 'std::vector::size_type' (aka 'unsigned long')", F, 1),
        ("templates.cpp:-Wsign-compare:comparison of integers of different signs: 'const __gnu_cxx::__alloc_traits<std::allocator<unsigned int>, unsigned int>::value_type' (aka 'const unsigned int') and 'int'", F, 1),
        ("templates.cpp:error:invalid operands to binary expression ('const std::basic_string<char>' and 'int')", E, 1),
        ("widget.cpp:-Wunused-parameter:unused parameter 'unused_hint'", F, 1),
        ("widget.cpp:-Wformat:format specifies type 'int' but the argument has type 'const char *'", F, 1),
        ("widget.cpp:-Wunused-variable:unused variable 'leftover'", F, 1),
        ("widget.cpp:-Wsign-compare:comparison of integers of different signs: 'int' and 'unsigned int'", F, 1),
];

#[test]
fn make_clang() {
    let c = check_fixture("make-clang/build.log", MAKE_CLANG);
    let color = check_fixture("make-clang-color/build.log", MAKE_CLANG);
    assert_eq!(text(&c, 0), text(&color, 0));
    // clang's notes (macro expansion, template instantiation) stay with their warning.
    let template = position(&c, "templates.cpp:error:");
    assert!(
        text(&c, template).contains("note: in instantiation of function template specialization")
    );
    let link = position(&c, "ld:");
    assert!(text(&c, link).contains("clang: error: linker command failed"));
}

#[test]
fn make_gcc_json() {
    // The same diagnostics as make-gcc, but gcc's JSON places the macro's warning at its expansion
    // (main.c:24) where the text output names the macro's definition (util.h:13).
    let c = check_fixture(
        "make-gcc-json/build.log",
        &[
        ("util.h:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 4),
        ("util.h:-Wunused-variable:unused variable 'unused_in_header'", F, 4),
        ("main.c:-Wunused-parameter:unused parameter 'user_data'", F, 1),
        ("main.c:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 2),
        ("main.c:-Wformat=:format '%s' expects argument of type 'char *', but argument N has type 'int'", F, 1),
        ("main.c:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'long int'", F, 1),
        ("main.c:-Wunused-variable:unused variable 'unused_local'", F, 1),
        ("ld:error:undefined reference to 'frobnicate'", E, 1),
        ("parse.c:error:'struct token' has no member named 'lenght'", E, 1),
        ("parse.c:-Wimplicit-function-declaration:implicit declaration of function 'strlen'", F, 1),
        ("parse.c:-Wbuiltin-declaration-mismatch:incompatible implicit declaration of built-in function 'strlen'", F, 1),
        ("parse.c:error:'undefined_counter' undeclared (first use in this function)", E, 1),
        ("parse.c:-Wunused-but-set-variable:variable 'tok' set but not used", F, 1),
        ("parse.c:-Wunused-parameter:unused parameter 'unused_param'", F, 1),
        ("parse.c:-Wreturn-type:control reaches end of non-void function", F, 2),
        ("missing.c:error:generated/version.h: No such file or directory", E, 1),
        ("templates.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'std::vector<unsigned int>::size_type' {aka 'long unsigned int'}", F, 1),
        ("templates.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'const __gnu_cxx::__alloc_traits<std::allocator<unsigned int>, unsigned int>::value_type' {aka 'const unsigned int'} and 'int'", F, 1),
        ("templates.cpp:error:no match for 'operator*' (operand types are 'const std::__cxx11::basic_string<char>' and 'int')", E, 1),
        ("widget.cpp:-Wunused-parameter:unused parameter 'unused_hint'", F, 1),
        ("widget.cpp:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 1),
        ("widget.cpp:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'const char*'", F, 1),
        ("widget.cpp:-Wunused-variable:unused variable 'leftover'", F, 1),
        ],
    );
    assert_eq!(compiled(&c).len(), 6);
    assert!(text(&c, 0).starts_with("src/util.h:8:11: warning: "));
}

#[test]
fn incremental_builds_keep_identities_and_report_what_they_compiled() {
    let first = check_fixture(
        "incremental/build-1.log",
        &[
        ("common.h:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 3),
        ("alpha.c:-Wunused-variable:unused variable 'spare'", F, 1),
        ("beta.c:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'long int'", F, 1),
        ("gamma.c:-Wunused-parameter:unused parameter 'argv'", F, 1),
        ],
    );
    assert_eq!(compiled(&first), ["alpha.c", "beta.c", "gamma.c"]);
    let second = check_fixture(
        "incremental/build-2.log",
        &[
        ("common.h:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 1),
        ("beta.c:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'long int'", F, 1),
        ],
    );
    assert_eq!(compiled(&second), ["beta.c"]);
}

#[test]
fn real_figlet_logs() {
    let gcc = check_fixture(
        "real-figlet-gcc/build.log",
        &[
        ("zipio.h:-Wunused-value:right-hand operand of comma expression has no effect", F, 13),
        ("zipio.c:-Wsign-compare:comparison of integer expressions of different signedness: 'long int' and 'long unsigned int'", F, 2),
        ("zipio.c:-Wsign-compare:comparison of integer expressions of different signedness: 'long unsigned int' and 'long int'", F, 1),
        ("zipio.c:-Wsign-compare:comparison of integer expressions of different signedness: 'size_t' {aka 'long unsigned int'} and 'long int'", F, 2),
        ("inflate.c:-Wsign-compare:operand of '?:' changes signedness from 'int' to 'unsigned int' due to unsignedness of other operand", F, 1),
        ("utf8.c:-Wsign-compare:comparison of integer expressions of different signedness: 'long int' and 'size_t' {aka 'long unsigned int'}", F, 2),
        ],
    );
    // make echoes commands continued with a backslash.
    assert!(
        compiled(&gcc).contains(&"figlet.c".to_owned()),
        "{:?}",
        compiled(&gcc)
    );
    assert_eq!(
        text(&gcc, 0).matches("note: in expansion of macro").count(),
        1
    );
    check_fixture(
        "real-figlet-clang/build.log",
        &[
        ("zipio.c:-Wsign-compare:comparison of integers of different signs: 'long' and 'unsigned long'", F, 2),
        ("zipio.c:-Wsign-compare:comparison of integers of different signs: 'unsigned long' and 'long'", F, 3),
        ("utf8.c:-Wsign-compare:comparison of integers of different signs: 'long' and 'unsigned long'", F, 2),
        ],
    );
}

#[test]
fn every_fixture_sniffs_as_a_compiler_log() {
    for path in [
        "make-gcc/build.log",
        "make-gcc-c-locale/build.log",
        "make-gcc-color/build.log",
        "make-gcc-json/build.log",
        "make-gcc-no-column/build.log",
        "make-clang/build.log",
        "make-clang-color/build.log",
        "ninja-gcc/build.log",
        "incremental/build-1.log",
        "incremental/build-2.log",
        "real-figlet-gcc/build.log",
        "real-figlet-clang/build.log",
        "latin1-gcc/build.log",
        "latin1-clang/build.log",
    ] {
        let full = format!("{}/../fixtures/gcc/{path}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"));
        let expected = if path.contains("no-column") {
            Confidence::MEDIUM
        } else {
            Confidence::HIGH
        };
        assert_eq!(Gcc.sniff(&bytes), expected, "{path}");
    }
}

#[test]
fn other_formats_fixtures_do_not_sniff_as_compiler_logs() {
    for dir in ["junit", "trial"] {
        let root = format!("{}/../fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    stack.push(entry.path());
                }
            } else if path
                .extension()
                .is_some_and(|e| e == "xml" || e == "txt" || e == "log")
            {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let head = &bytes[..bytes.len().min(crate::SNIFF_LEN)];
                assert!(Gcc.sniff(head) < Confidence::MEDIUM, "{}", path.display());
            }
        }
    }
}

#[test]
fn latin1_sources_make_logs_that_are_not_utf8() {
    let gcc = check_fixture(
        "latin1-gcc/build.log",
        &[
            ("legacy.c:-Wsign-compare:comparison of integer expressions of different signedness: 'int' and 'unsigned int'", F, 1),
            ("legacy.c:-Wformat=:format '%d' expects argument of type 'int', but argument N has type 'const char *'", F, 1),
            ("legacy.c:error:stray '\\N' in program", E, 2),
            ("legacy.c:error:expected '=', ',', ';', 'asm' or '__attribute__' before '_total'", E, 1),
            ("legacy.c:error:'_total' undeclared (first use in this function)", E, 1),
            ("legacy.c:error:'caf' undeclared (first use in this function); did you mean 'scanf'?", E, 1),
            ("legacy.c:error:expected ';' before '_total'", E, 1),
            ("legacy.c:-Wunused-variable:unused variable 'unused_count'", F, 1),
            ("legacy.c:-Wreturn-type:control reaches end of non-void function", F, 1),
        ],
    );
    // The caret display's raw Latin-1 byte survives (shown lossily in the JSON-bound text).
    assert!(text(&gcc, 1).contains("printf(\"Caf\u{fffd} %d\\n\", msg);"));
    assert_eq!(compiled(&gcc), ["legacy.c"]);
    check_fixture(
        "latin1-clang/build.log",
        &[
            ("legacy.c:-Winvalid-source-encoding:illegal character encoding in string literal", F, 2),
            ("legacy.c:-Wformat:format specifies type 'int' but the argument has type 'const char *'", F, 1),
            ("legacy.c:error:source file is not valid UTF-N", E, 2),
            ("legacy.c:error:expected ';' at end of declaration", E, 1),
            ("legacy.c:error:expected ';' after return statement", E, 1),
            ("legacy.c:-Wsign-compare:comparison of integers of different signs: 'int' and 'unsigned int'", F, 1),
        ],
    );
}

/// clang-tidy's check names may hold capitals, `.` and `+`: they are the flag, not the message's end.
#[test]
fn clang_tidy_check_names_with_dots_and_pluses_are_flags() {
    let collected = check_fixture(
        "clang-tidy/build.log",
        &[
            (
                "tidy.cpp:clang-diagnostic-c++11-compat-reserved-user-defined-literal:identifier \
                 after literal will be treated as a reserved user-defined literal suffix in C++N",
                F,
                1,
            ),
            (
                "tidy.cpp:clang-analyzer-core.DivideZero:Division by zero",
                F,
                1,
            ),
        ],
    );
    let divide = &collected.results[1];
    assert_eq!(
        divide.message.as_ref().map(|m| m.to_string()).as_deref(),
        Some("Division by zero")
    );
    assert_eq!(
        divide.details.get("flag").and_then(|f| f.as_str()),
        Some("clang-analyzer-core.DivideZero")
    );
}
