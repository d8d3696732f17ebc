//! Matrix delivery: the client-server API (v3) with an access token.
//!
//! Rooms are named by id (`!…`) or alias (`#…`, resolved through the room directory) and joined
//! before the first message (a no-op when already in; it accepts an invite). A person's direct room
//! is the first the account's `m.direct` data lists for them, else a new private room that
//! invites them, recorded in `m.direct` as clients do. Each event is a `PUT` of `m.room.message`
//! with a transaction id derived from the Problem event and the room: the homeserver answers a
//! retried id with the event it already has, so a retry never posts twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::bot::{Question, Room};
use crate::chat::http::{encode, request_capped, Answer, MAX_ANSWER};
use crate::chat::Protocol;
use crate::notify::{Destination, Message};

/// How to reach the homeserver, and as whom.
#[derive(Clone)]
pub(crate) struct Matrix {
    /// The homeserver's client-server API base, `https://matrix.example.org`.
    pub homeserver: String,
    /// From `PROBTRACK_MATRIX_TOKEN`.
    pub token: Option<String>,
}

/// One `m.text` message: its body and the users it mentions (`m.mentions`: only they are
/// notified, whatever the body says).
pub(crate) struct MatrixText<'a> {
    pub body: &'a str,
    pub mentions: &'a [String],
    /// The transaction id's stem: the same for every retry of this message.
    pub key: &'a str,
}

/// One run's session: the rooms it resolved and joined, and the direct rooms it found.
pub(crate) struct Session<'a> {
    server: &'a Matrix,
    rooms: HashMap<String, String>,
    me: Option<String>,
    direct: Option<serde_json::Map<String, serde_json::Value>>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(server: &'a Matrix) -> Session<'a> {
        Session {
            server,
            rooms: HashMap::new(),
            me: None,
            direct: None,
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer, String> {
        self.call_capped(method, path, body, MAX_ANSWER)
    }

    /// [`Session::call`] that reads at most `cap` bytes of the answer (a longer one is an error).
    fn call_capped(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        cap: u64,
    ) -> Result<Answer, String> {
        let token = self
            .server
            .token
            .as_deref()
            .ok_or_else(|| crate::chat::destinations::missing("PROBTRACK_MATRIX_TOKEN"))?;
        let url = format!(
            "{}/_matrix/client/v3/{path}",
            self.server.homeserver.trim_end_matches('/')
        );
        request_capped(
            method,
            &url,
            Some(&format!("Bearer {token}")),
            "application/json",
            Some(
                body.map(|b| b.to_string())
                    .unwrap_or_else(|| "{}".to_owned()),
            ),
            cap,
        )
        .map_err(|e| format!("{}: {e}", self.server.homeserver))
    }

    fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        doing: &str,
    ) -> Result<serde_json::Value, String> {
        self.ok_capped(method, path, body, doing, MAX_ANSWER)
    }

    fn ok_capped(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        doing: &str,
        cap: u64,
    ) -> Result<serde_json::Value, String> {
        let answer = self
            .call_capped(method, path, body, cap)
            .map_err(|e| format!("{doing}: {e}"))?;
        if answer.status == 200 {
            Ok(answer.json())
        } else {
            Err(format!("{doing}: {}", answer.complaint()))
        }
    }

    /// The id of a room named by id or alias, joined.
    fn room(&mut self, room: &str) -> Result<String, String> {
        if let Some(id) = self.rooms.get(room) {
            return Ok(id.clone());
        }
        let shown = crate::report::safe(room.as_bytes());
        let joined = self.ok(
            "POST",
            &format!("join/{}", encode(room)),
            Some(serde_json::json!({})),
            &format!("joining room {shown}"),
        )?;
        let id = joined["room_id"]
            .as_str()
            .ok_or_else(|| format!("joining room {shown}: no room_id in the answer"))?
            .to_owned();
        self.rooms.insert(room.to_owned(), id.clone());
        Ok(id)
    }

    /// The account's user id.
    fn me(&mut self) -> Result<String, String> {
        if self.me.is_none() {
            let who = self.ok("GET", "account/whoami", None, "who am I")?;
            self.me = Some(
                who["user_id"]
                    .as_str()
                    .ok_or("whoami: no user_id in the answer")?
                    .to_owned(),
            );
        }
        Ok(self.me.clone().unwrap_or_default())
    }

    /// The direct room with `user`, made (and recorded in `m.direct`) when there is none.
    fn direct_room(&mut self, user: &str) -> Result<String, String> {
        let shown = crate::report::safe(user.as_bytes());
        let me = self.me()?;
        let data_path = format!("user/{}/account_data/m.direct", encode(&me));
        if self.direct.is_none() {
            // An answer that cannot be read or is not an object is an error, never "no direct
            // rooms": the PUT below would overwrite the account's list with this one room.
            let answer = self
                .call("GET", &data_path, None)
                .map_err(|e| format!("reading m.direct: {e}"))?;
            self.direct = Some(match answer.status {
                200 => answer
                    .json()
                    .as_object()
                    .cloned()
                    .ok_or("reading m.direct: the answer is not a JSON object")?,
                404 => serde_json::Map::new(),
                _ => return Err(format!("reading m.direct: {}", answer.complaint())),
            });
        }
        let direct = self.direct.get_or_insert_with(serde_json::Map::new);
        if let Some(room) = direct
            .get(user)
            .and_then(|rooms| rooms.as_array())
            .and_then(|rooms| rooms.iter().rev().find_map(|r| r.as_str()))
        {
            return Ok(room.to_owned());
        }
        let made = self.ok(
            "POST",
            "createRoom",
            Some(serde_json::json!({
                "is_direct": true,
                "invite": [user],
                "preset": "trusted_private_chat",
            })),
            &format!("opening a direct room with {shown}"),
        )?;
        let room = made["room_id"]
            .as_str()
            .ok_or_else(|| format!("opening a direct room with {shown}: no room_id"))?
            .to_owned();
        let direct = self.direct.get_or_insert_with(serde_json::Map::new);
        if let Some(rooms) = direct
            .entry(user.to_owned())
            .or_insert_with(|| serde_json::json!([]))
            .as_array_mut()
        {
            rooms.push(serde_json::json!(room));
        }
        let data = serde_json::Value::Object(direct.clone());
        self.ok(
            "PUT",
            &data_path,
            Some(data),
            "recording the direct room in m.direct",
        )?;
        Ok(room)
    }

    /// Sends `text` to `room` (an id or alias) or, with `person`, to that user's direct room.
    pub(crate) fn send(&mut self, to: Target<'_>, text: &MatrixText<'_>) -> Result<(), String> {
        let room = match to {
            Target::Room(room) => self.room(room)?,
            Target::Person(user) => self.direct_room(user)?,
        };
        let txn = transaction_id(text.key, &room);
        self.ok(
            "PUT",
            &format!(
                "rooms/{}/send/m.room.message/{}",
                encode(&room),
                encode(&txn)
            ),
            Some(serde_json::json!({
                "msgtype": "m.text",
                "body": text.body,
                "m.mentions": { "user_ids": text.mentions },
            })),
            &format!("sending to room {}", crate::report::safe(room.as_bytes())),
        )?;
        Ok(())
    }
}

/// Where a message goes.
pub(crate) enum Target<'a> {
    Room(&'a str),
    Person(&'a str),
}

/// `KEY.HASH`: the message's key and a short hash of the room, so one event in two rooms has two
/// ids and a retry in the same room the same one.
fn transaction_id(key: &str, room: &str) -> String {
    let hash = blake3::hash(room.as_bytes()).to_hex();
    format!("{key}.{}", &hash[..12])
}

/// `[notify.matrix]`: rooms, and a direct room with each responsible person who has a `matrix`
/// handle.
pub(crate) struct MatrixDestination {
    pub server: Matrix,
    pub rooms: Vec<String>,
    pub direct: bool,
}

/// The Matrix user ids of a message's people.
fn users(m: &Message) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for handle in m
        .recipients
        .iter()
        .filter_map(|r| r.handles.get(Protocol::Matrix))
        .map(str::trim)
        .filter(|h| h.starts_with('@') && h.contains(':'))
    {
        if !out.iter().any(|o| o == handle) {
            out.push(handle.to_owned());
        }
    }
    out
}

impl Destination for MatrixDestination {
    fn target(&self) -> &'static str {
        Protocol::Matrix.name()
    }

    fn protocol(&self) -> Option<Protocol> {
        Some(Protocol::Matrix)
    }

    fn wants(&self, m: &Message) -> bool {
        !self.rooms.is_empty() || (self.direct && !users(m).is_empty())
    }

    fn deliver(&mut self, messages: &[Message]) -> Vec<Result<(), String>> {
        let mut session = Session::new(&self.server);
        messages
            .iter()
            .map(|m| {
                let mentions = users(m);
                // The key names the Problem and its events; the test makes it unique to this
                // database's Problem (ids start again in a new database).
                let key = format!(
                    "{}.{}",
                    m.key,
                    &blake3::hash(m.test.as_bytes()).to_hex()[..8]
                );
                let text = MatrixText {
                    body: &m.text,
                    mentions: &mentions,
                    key: &key,
                };
                for room in &self.rooms {
                    session.send(Target::Room(room), &text)?;
                }
                if self.direct {
                    for user in &mentions {
                        session.send(Target::Person(user), &text)?;
                    }
                }
                Ok(())
            })
            .collect()
    }
}

/// How long one `/sync` waits for something to happen (a long poll; the HTTP timeout is longer).
const SYNC_WAIT_MS: u32 = 25_000;

/// The bot's Matrix transport: joins its rooms, follows them with `/sync` (a long poll from the
/// `since` token of the sync at connect, so messages from before are never answered) on a thread
/// of its own, and answers messages addressed to it with `m.notice` replies, each with a
/// transaction id made from the question's event, so that a retried answer is taken once.
pub(crate) struct MatrixRoom {
    server: Matrix,
    rooms: Vec<String>,
    /// The questions the sync thread heard, or the error that ended it.
    heard: Option<std::sync::mpsc::Receiver<Result<Question, String>>>,
    /// Tells the sync thread to end.
    stop: Arc<AtomicBool>,
}

impl MatrixRoom {
    pub(crate) fn new(server: Matrix, rooms: Vec<String>) -> MatrixRoom {
        MatrixRoom {
            server,
            rooms,
            heard: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// The most message events a sync takes per room (a busier room's older ones are skipped).
const SYNC_LIMIT: usize = 20;

/// The largest event a homeserver accepts (the spec's 64 KiB), twice over for what the sync
/// adds to each event.
const EVENT_MAX: u64 = 2 * 65_536;

/// How much of a sync's answer is read: `limit` events as large as they may be in each of
/// `rooms` rooms, and 1 MiB for the rest.
fn sync_cap(rooms: usize, limit: usize) -> u64 {
    (rooms.max(1) * limit) as u64 * EVENT_MAX + MAX_ANSWER
}

/// A `/sync`'s path and how much of its answer is read: from `since` up to [`SYNC_LIMIT`]
/// events per room, without it (the first, for the token) one.
fn sync_request(rooms: &[String], since: Option<&str>, wait_ms: u32) -> (String, u64) {
    let limit = if since.is_some() { SYNC_LIMIT } else { 1 };
    let filter = sync_filter(rooms, limit);
    let mut path = format!("sync?filter={}&timeout={wait_ms}", encode(&filter));
    if let Some(since) = since {
        path += &format!("&since={}", encode(since));
    }
    (path, sync_cap(rooms.len(), limit))
}

/// The sync filter: the message events of `rooms` (at most `limit` per room), nothing else.
fn sync_filter(rooms: &[String], limit: usize) -> String {
    serde_json::json!({
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "rooms": rooms,
            "timeline": {"types": ["m.room.message"], "limit": limit},
            "state": {"types": [], "lazy_load_members": true},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    })
    .to_string()
}

impl Session<'_> {
    /// One `/sync` of `rooms` from `since`, or without it a first one that only takes the token
    /// (one event per room, whatever was said while the bot was away); the answer.
    fn sync(
        &mut self,
        rooms: &[String],
        since: Option<&str>,
        wait_ms: u32,
    ) -> Result<serde_json::Value, String> {
        let (path, cap) = sync_request(rooms, since, wait_ms);
        self.ok_capped("GET", &path, None, "syncing", cap)
    }
}

/// The questions addressed to `names` in a sync's answer, in `rooms` (not the bot's own
/// messages, no notices, which are other bots', no edits).
fn questions(
    sync: &serde_json::Value,
    rooms: &[String],
    me: &str,
    names: &[String],
) -> Vec<Question> {
    let mut out = Vec::new();
    let Some(joined) = sync["rooms"]["join"].as_object() else {
        return out;
    };
    // Only its rooms, whatever the homeserver made of the filter.
    for (room, joined) in joined.iter().filter(|(id, _)| rooms.contains(id)) {
        for event in joined["timeline"]["events"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let content = &event["content"];
            let sender = event["sender"].as_str().unwrap_or_default();
            if event["type"] != "m.room.message"
                || sender == me
                || content["msgtype"] != "m.text"
                || content["m.relates_to"]["rel_type"] == "m.replace"
            {
                continue;
            }
            let body = content["body"].as_str().unwrap_or_default();
            // A reply quotes what it answers first (`> <@who> …`), in older clients.
            let body = body
                .lines()
                .skip_while(|l| l.starts_with("> "))
                .collect::<Vec<_>>()
                .join("\n");
            let body = body.trim();
            let Some(text) = names
                .iter()
                .find_map(|name| crate::bot::addressed(body, name))
            else {
                continue;
            };
            out.push(Question {
                room: room.clone(),
                asker: sender.to_owned(),
                text: text.to_owned(),
                direct: false,
                id: event["event_id"].as_str().map(str::to_owned),
            });
        }
    }
    out
}

impl Room for MatrixRoom {
    fn name(&self) -> String {
        format!("Matrix homeserver {}", self.server.homeserver)
    }

    fn protocol(&self) -> Protocol {
        Protocol::Matrix
    }

    fn connect(&mut self) -> Result<(), String> {
        self.leave();
        let place = self.name();
        let mut session = Session::new(&self.server);
        let me = session.me().map_err(|e| format!("{place}: {e}"))?;
        // Addressed by the user id, its local part, or the display name (what clients put
        // before a colon when one picks a person).
        let mut names = vec![me.clone()];
        let local = me.trim_start_matches('@').split(':').next().unwrap_or("");
        names.push(local.to_owned());
        if let Ok(profile) =
            session.call("GET", &format!("profile/{}/displayname", encode(&me)), None)
        {
            if let Some(name) = profile.json()["displayname"].as_str() {
                names.push(name.to_owned());
            }
        }
        names.retain(|n| !n.is_empty());
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();
        let mut ids = Vec::new();
        for room in &self.rooms {
            ids.push(session.room(room).map_err(|e| format!("{place}: {e}"))?);
        }
        let first = session
            .sync(&ids, None, 0)
            .map_err(|e| format!("{place}: {e}"))?;
        let mut since = first["next_batch"]
            .as_str()
            .ok_or_else(|| format!("{place}: syncing: no next_batch in the answer"))?
            .to_owned();
        let (tell, heard) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = Arc::clone(&stop);
        self.heard = Some(heard);
        let server = self.server.clone();
        std::thread::spawn(move || {
            let mut session = Session::new(&server);
            while !stop.load(Ordering::SeqCst) {
                let sync = match session.sync(&ids, Some(&since), SYNC_WAIT_MS) {
                    Ok(sync) => sync,
                    Err(e) => {
                        tell.send(Err(format!("{place}: {e}"))).ok();
                        return;
                    }
                };
                for question in questions(&sync, &ids, &me, &names) {
                    if tell.send(Ok(question)).is_err() {
                        return;
                    }
                }
                match sync["next_batch"].as_str() {
                    Some(next) => next.clone_into(&mut since),
                    None => {
                        tell.send(Err(format!("{place}: syncing: no next_batch")))
                            .ok();
                        return;
                    }
                }
            }
        });
        Ok(())
    }

    fn next(&mut self, wait: Duration) -> Result<Option<Question>, String> {
        use std::sync::mpsc::RecvTimeoutError;
        let Some(heard) = &self.heard else {
            return Err("not connected".to_owned());
        };
        match heard.recv_timeout(wait) {
            Ok(Ok(question)) => Ok(Some(question)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Ok(Err(e)) => {
                self.heard = None;
                Err(e)
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.heard = None;
                Err(format!("{}: the sync ended", self.name()))
            }
        }
    }

    fn reply(&mut self, to: &Question, lines: &[String]) -> Result<(), String> {
        let place = self.name();
        let session = Session::new(&self.server);
        // Plain text only (no HTML body); each line shown as written, so a line break in a test
        // name cannot start a line of its own.
        let body = lines
            .iter()
            .map(|l| crate::report::safe(l.as_bytes()))
            .collect::<Vec<_>>()
            .join("\n");
        let mut content = serde_json::json!({
            "msgtype": "m.notice",
            "body": body,
            // Only the asker is notified, whatever the text says (`@room` in a test name).
            "m.mentions": {"user_ids": [to.asker]},
        });
        let question = to.id.as_deref().unwrap_or_default();
        if !question.is_empty() {
            content["m.relates_to"] = serde_json::json!({"m.in_reply_to": {"event_id": question}});
        }
        let txn = transaction_id(&format!("probtrack-bot.{}", hash(question)), &to.room);
        session
            .ok(
                "PUT",
                &format!(
                    "rooms/{}/send/m.room.message/{}",
                    encode(&to.room),
                    encode(&txn)
                ),
                Some(content),
                &format!(
                    "answering in room {}",
                    crate::report::safe(to.room.as_bytes())
                ),
            )
            .map(|_| ())
            .map_err(|e| format!("{place}: {e}"))
    }

    /// Stops following the rooms (and stays in them: a room that takes invitations only would
    /// have to invite the bot again).
    fn leave(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.heard = None;
    }
}

fn hash(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_messages_addressed_to_the_bot_in_its_rooms_are_questions() {
        let event = |sender: &str, content: serde_json::Value| {
            serde_json::json!({"type": "m.room.message", "sender": sender,
                               "event_id": format!("${sender}"), "content": content})
        };
        let text = |body: &str| serde_json::json!({"msgtype": "m.text", "body": body});
        let sync = serde_json::json!({"rooms": {"join": {
            "!ci:x": {"timeline": {"events": [
                event("@ann:x", text("CI Bot: since t.a")),
                event("@bob:x", text("ci-bot, who")),
                event("@cy:x", text("> <@ann:x> hello\n\nci-bot: problems")),
                event("@ci-bot:x", text("ci-bot: help")),
                event("@dee:x", serde_json::json!({"msgtype": "m.notice", "body": "ci-bot: help"})),
                event("@eve:x", serde_json::json!({"msgtype": "m.text", "body": "ci-bot: flaky",
                    "m.relates_to": {"rel_type": "m.replace", "event_id": "$1"}})),
                event("@fay:x", text("ci-botty help")),
            ]}},
            "!other:x": {"timeline": {"events": [event("@gus:x", text("ci-bot: help"))]}},
        }}});
        let names = [
            "@ci-bot:x".to_owned(),
            "CI Bot".to_owned(),
            "ci-bot".to_owned(),
        ];
        let asked: Vec<(String, String, String)> =
            super::questions(&sync, &["!ci:x".to_owned()], "@ci-bot:x", &names)
                .into_iter()
                .map(|q| (q.asker, q.text, q.id.unwrap_or_default()))
                .collect();
        assert_eq!(
            asked,
            [
                ("@ann:x".into(), "since t.a".into(), "$@ann:x".into()),
                ("@bob:x".into(), "who".into(), "$@bob:x".into()),
                ("@cy:x".into(), "problems".into(), "$@cy:x".into()),
            ]
        );
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_sync_reads_all_its_events_at_their_largest() {
        let rooms = ["!a:x".to_owned(), "!b:x".to_owned()];
        let limit = |since: Option<&str>| {
            let (path, _) = super::sync_request(&rooms, since, 0);
            let filter = path.strip_prefix("sync?filter=").unwrap();
            let filter = percent_decode(filter.split('&').next().unwrap());
            let filter: serde_json::Value = serde_json::from_str(&filter).unwrap();
            filter["room"]["timeline"]["limit"].clone()
        };
        // The first sync only takes the token: one event per room, however much was said.
        assert_eq!(limit(None), 1);
        assert_eq!(limit(Some("s1")), super::SYNC_LIMIT);
        // Each room's events at 64 KiB each, and more, fit under the cap.
        for (n, limit) in [(1, 1), (1, super::SYNC_LIMIT), (5, super::SYNC_LIMIT)] {
            let largest = (n * limit) as u64 * 65_536 + (1 << 20);
            assert!(super::sync_cap(n, limit) > largest, "{n} rooms, {limit}");
        }
        // The old cap (1 MiB) and limit (50) could not hold 17 events of 64 KiB.
        assert!(super::sync_cap(1, super::SYNC_LIMIT) > 17 * 65_536);
    }

    #[test]
    fn a_transaction_id_is_the_same_on_retry_and_differs_per_room() {
        let a = super::transaction_id("probtrack-5-opened", "!a:example.org");
        assert_eq!(
            a,
            super::transaction_id("probtrack-5-opened", "!a:example.org")
        );
        assert_ne!(
            a,
            super::transaction_id("probtrack-5-opened", "!b:example.org")
        );
        assert!(a.starts_with("probtrack-5-opened."));
    }
}
