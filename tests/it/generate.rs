//! A small generator of synthetic CI histories for tests that need many builds: deterministic,
//! with a known truth (which tests are flaky, which were broken by which revision and fixed by which).
//! Its JUnit is the minimal shape every producer writes; real producers' dialects are covered by the
//! fixtures.

use std::fmt::Write as _;
use std::path::Path;

/// A tiny deterministic random source (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the generator put in.
#[derive(Debug, Default)]
pub struct Truth {
    pub flaky: Vec<String>,
    /// (test, breaking revision index, fixing revision index or None, builders it breaks on).
    pub broken: Vec<(String, usize, Option<usize>, Vec<String>)>,
    pub revisions: Vec<String>,
}

pub struct Shape {
    pub builders: usize,
    pub builds: usize,
    pub tests: usize,
    pub flaky: usize,
    pub broken: usize,
    pub seed: u64,
}

fn revision(i: usize) -> String {
    format!("{:040x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15_u128)
}

/// Writes `dir/BUILDER/N.xml`, `builds.tsv` and `revisions.tsv`.
pub fn history(dir: &Path, shape: &Shape) -> Truth {
    let mut rng = Rng::new(shape.seed);
    let authors: Vec<String> = [
        "Ada <ada@example.org>",
        "Bob <bob@example.org>",
        "Cy <cy@example.org>",
        "Di <di@example.org>",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let n_revisions = shape.builds * 3 / 2 + 2;
    let revisions: Vec<String> = (0..n_revisions).map(revision).collect();
    let rev_author: Vec<usize> = (0..n_revisions)
        .map(|_| rng.below(authors.len() as u64) as usize)
        .collect();
    let builders: Vec<String> = (0..shape.builders)
        .map(|b| format!("builder-{b}"))
        .collect();
    let tests: Vec<String> = (0..shape.tests)
        .map(|t| format!("pkg.mod{}.TestCase.test_{t:03}", t % 5))
        .collect();
    let mut truth = Truth {
        revisions: revisions.clone(),
        ..Truth::default()
    };
    // Flaky tests with a failure probability; broken episodes over revision ranges.
    let flaky: Vec<(usize, f64)> = (0..shape.flaky)
        .map(|i| (i, 0.1 + 0.3 * rng.unit()))
        .collect();
    truth.flaky = flaky.iter().map(|(t, _)| tests[*t].clone()).collect();
    let mut broken = Vec::new();
    for e in 0..shape.broken {
        let test = shape.flaky + e;
        let start = 1 + rng.below(n_revisions as u64 - 10) as usize;
        let fixed = (rng.unit() < 0.8)
            .then(|| start + 3 + rng.below(20) as usize)
            .filter(|&f| f < n_revisions);
        let on: Vec<String> = if rng.unit() < 0.3 {
            vec![builders[rng.below(builders.len() as u64) as usize].clone()]
        } else {
            builders.clone()
        };
        broken.push((test, start, fixed, on.clone()));
        truth.broken.push((tests[test].clone(), start, fixed, on));
    }
    let late_test = shape.tests - 1; // added part-way through
    let mut builds_tsv = String::from("builder\tnumber\trevision\tauthor\ttimestamp\tchanges\n");
    for (b, builder) in builders.iter().enumerate() {
        std::fs::create_dir_all(dir.join(builder)).unwrap();
        let mut rev = 0usize;
        let mut previous: Option<usize> = None;
        for k in 0..shape.builds {
            rev = (rev + 1 + rng.below(2) as usize).min(n_revisions - 1);
            let number = 1000 * (b as i64 + 1) + k as i64;
            let minutes = rev as i64 * 60 + b as i64 * 7 + 5;
            let time = chrono::DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap();
            let changes: Vec<String> = match previous {
                Some(p) if p < rev => (p + 1..=rev).map(|r| revisions[r].clone()).collect(),
                Some(_) => Vec::new(),
                None => vec![revisions[rev].clone()],
            };
            previous = Some(rev);
            writeln!(
                builds_tsv,
                "{builder}\t{number}\t{}\t{}\t{}\t{}",
                revisions[rev],
                authors[rev_author[rev]],
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                changes.join(",")
            )
            .unwrap();
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuite name=\"pkg\" timestamp=\"{}\">\n",
                time.format("%Y-%m-%dT%H:%M:%S")
            );
            for (t, name) in tests.iter().enumerate() {
                if t == late_test && k < shape.builds / 3 {
                    continue;
                }
                let (classname, method) = name.rsplit_once('.').unwrap();
                let mut outcome = "";
                if let Some((_, p)) = flaky.iter().find(|(f, _)| *f == t) {
                    if rng.unit() < *p {
                        outcome = "<failure message=\"ConnectionResetError: reset by peer\"/>";
                    }
                }
                if let Some((_, start, fixed, on)) = broken.iter().find(|(x, ..)| *x == t) {
                    if on.contains(builder) && rev >= *start && fixed.is_none_or(|f| rev < f) {
                        outcome = "<failure message=\"AssertionError: 3 != 4\"/>";
                    }
                }
                let duration = 0.001 + rng.unit();
                writeln!(
                    xml,
                    "  <testcase classname=\"{classname}\" name=\"{method}\" time=\"{duration:.3}\">{outcome}</testcase>"
                )
                .unwrap();
            }
            xml.push_str("</testsuite>\n");
            std::fs::write(dir.join(builder).join(format!("{number}.xml")), xml).unwrap();
        }
    }
    std::fs::write(dir.join("builds.tsv"), builds_tsv).unwrap();
    let mut revisions_tsv = String::from("revision\tauthor\ttimestamp\tparent\n");
    for (i, r) in revisions.iter().enumerate() {
        let time = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 3600, 0).unwrap();
        writeln!(
            revisions_tsv,
            "{r}\t{}\t{}\t{}",
            authors[rev_author[i]],
            time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            if i == 0 {
                String::new()
            } else {
                revisions[i - 1].clone()
            }
        )
        .unwrap();
    }
    std::fs::write(dir.join("revisions.tsv"), revisions_tsv).unwrap();
    truth
}

/// One test's outcomes on one builder, a letter a build: `P` passed, `F` failed, `T` failed
/// another way (a timeout), `R` failed and then passed on a retry (a `flakyFailure`), `.` not in
/// the build.
pub struct Pattern<'a> {
    pub builder: &'a str,
    pub test: &'a str,
    pub outcomes: &'a str,
}

/// Writes `dir/BUILDER/N.xml` (builds numbered from 1, an hour apart, builders interleaved) and a
/// `builds.tsv` giving each build revision `rN`, for `probtrack import`.
pub fn scripted(dir: &Path, patterns: &[Pattern<'_>]) {
    let mut builders: Vec<&str> = patterns.iter().map(|p| p.builder).collect();
    builders.dedup();
    builders.sort_unstable();
    builders.dedup();
    let mut tsv = String::from("builder\tnumber\trevision\tauthor\ttimestamp\tchanges\n");
    for (b, builder) in builders.iter().enumerate() {
        std::fs::create_dir_all(dir.join(builder)).unwrap();
        let mine: Vec<&Pattern<'_>> = patterns.iter().filter(|p| p.builder == *builder).collect();
        let builds = mine.iter().map(|p| p.outcomes.len()).max().unwrap_or(0);
        for k in 0..builds {
            let number = k + 1;
            let time = chrono::DateTime::from_timestamp(
                1_700_000_000 + k as i64 * 3600 + b as i64 * 60,
                0,
            )
            .unwrap();
            writeln!(
                tsv,
                "{builder}\t{number}\tr{number}\tAda <ada@example.org>\t{}\tr{number}",
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
            .unwrap();
            let mut xml = String::from("<?xml version=\"1.0\"?>\n<testsuite name=\"scripted\">\n");
            for p in &mine {
                let (classname, name) = p.test.rsplit_once('.').unwrap();
                let child = match p.outcomes.as_bytes().get(k) {
                    Some(b'P') => "",
                    Some(b'F') => "<failure message=\"boom\"/>",
                    Some(b'T') => "<failure message=\"TimeoutError: no answer after 30.0 s\"/>",
                    Some(b'R') => "<flakyFailure message=\"boom\"/>",
                    _ => continue,
                };
                writeln!(xml, "  <testcase classname=\"{classname}\" name=\"{name}\" time=\"0.1\">{child}</testcase>").unwrap();
            }
            xml.push_str("</testsuite>\n");
            std::fs::write(dir.join(builder).join(format!("{number}.xml")), xml).unwrap();
        }
    }
    std::fs::write(dir.join("builds.tsv"), tsv).unwrap();
}
