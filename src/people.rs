//! People: authors as changes record them (`Name <email>`), merged into persons by the settings'
//! users map, so that one person who commits under two addresses is one responsible user; and
//! [`users`], who is on the hook for which Problems.

use std::collections::BTreeMap;

use crate::chat::Handles;
use crate::error::Result;
use crate::settings::{Settings, UserEntry};
use crate::store::{ProblemFilter, Store};
use crate::views::users::UserView;

/// `users`: each person with the Problems their changes started and fixed on `branch`
/// (intermittent ones only when asked), the most open Problems first.
pub(crate) fn users(
    store: &mut dyn Store,
    settings: &Settings,
    branch: Option<String>,
    intermittent: bool,
) -> Result<Vec<UserView>> {
    let problems = store.problems(&ProblemFilter {
        intermittent: (!intermittent).then_some(false),
        branch: Some(branch),
        ..ProblemFilter::default()
    })?;
    let mut users: BTreeMap<String, UserView> = BTreeMap::new();
    for problem in &problems {
        for (role, changes) in [("start", &problem.started_by), ("fix", &problem.fixed_by)] {
            let mut counted: Vec<String> = Vec::new();
            for author in changes.iter().filter_map(|c| c.author.as_deref()) {
                let person = person(settings, author);
                let entry = users.entry(person.name.clone()).or_default();
                entry.user.clone_from(&person.name);
                entry.chat = person.entry.and_then(|e| e.chat.clone());
                entry.handles = Handles::of(person.entry);
                if !entry.authors.iter().any(|a| a == author) {
                    entry.authors.push(author.to_owned());
                }
                if counted.contains(&person.name) {
                    continue;
                }
                counted.push(person.name.clone());
                if role == "start" {
                    entry.started += 1;
                    if problem.open {
                        entry.open_problems.push(problem.id);
                    }
                } else {
                    entry.fixed += 1;
                }
            }
        }
    }
    let mut view: Vec<UserView> = users.into_values().collect();
    view.sort_by(|a, b| {
        b.open_problems
            .len()
            .cmp(&a.open_problems.len())
            .then(a.user.cmp(&b.user))
    });
    Ok(view)
}

/// The name and e-mail parts of `Name <email>`.
pub(crate) fn split_author(author: &str) -> (&str, Option<&str>) {
    match author.rsplit_once('<') {
        Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches('>').trim())),
        None => (author.trim(), None),
    }
}

/// The person behind an author: the users map's entry, else the author's name.
pub(crate) fn person<'s>(settings: &'s Settings, author: &str) -> Person<'s> {
    let (name, email) = split_author(author);
    let entry = settings.users.iter().find(|u| {
        email.is_some_and(|e| u.emails.iter().any(|x| x.eq_ignore_ascii_case(e)))
            || u.aliases.iter().any(|a| a == name || a == author)
            || u.name == name
    });
    match entry {
        Some(entry) => Person {
            name: entry.name.clone(),
            entry: Some(entry),
        },
        None => Person {
            name: if name.is_empty() {
                author.to_owned()
            } else {
                name.to_owned()
            },
            entry: None,
        },
    }
}

pub(crate) struct Person<'s> {
    pub name: String,
    pub entry: Option<&'s UserEntry>,
}

/// Whether `query` (`--user`) names the author: the person's name, the author as recorded, its
/// name or its e-mail address.
pub(crate) fn matches(settings: &Settings, query: &str, author: &str) -> bool {
    let (name, email) = split_author(author);
    author == query
        || name == query
        || email.is_some_and(|e| e.eq_ignore_ascii_case(query))
        || person(settings, author).name == query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_map_merges_addresses() {
        let settings: Settings = toml::from_str(
            r#"
            [[users]]
            name = "Ada Lovelace"
            emails = ["ada@example.org", "ada@work.example"]
            chat = "@ada"
            "#,
        )
        .unwrap();
        let home = person(&settings, "Ada L <ada@example.org>");
        let work = person(&settings, "ada <ADA@work.example>");
        assert_eq!(home.name, "Ada Lovelace");
        assert_eq!(work.name, "Ada Lovelace");
        assert_eq!(person(&settings, "Bob <bob@example.org>").name, "Bob");
        assert!(matches(&settings, "Ada Lovelace", "ada <ada@work.example>"));
        assert!(matches(
            &settings,
            "bob@example.org",
            "Bob <bob@example.org>"
        ));
        assert!(!matches(&settings, "Bob", "Ada L <ada@example.org>"));
    }
}
