//! The change-point detector and the grouping of steps across builders, over JSON lines, for
//! `scripts/bench-metrics` (the accuracy benchmark of `docs/performance.md`). It calls the
//! `analyze::changepoint` functions that `probtrack ingest` and `reanalyze` call on a lane's
//! stored series (`metrics::judge`), without a database, so that accuracy is measured apart from
//! storage.
//!
//! usage: changepoints < tasks.jsonl > answers.jsonl
//!
//! Each input line is one task, answered by one output line with the same `id`:
//!
//! * `{"id": …, "detect": [values…], "direction": "lower"|"higher", "params": {…}}` →
//!   `{"id": …, "steps": [{"index", "index_at_confirmation", "confirmed_at", "before", "after",
//!   "z", "kind"}]}`. `params` may set any of `threshold`, `min_after`, `min_before`, `window`,
//!   `scale_window`, `min_change` (the others keep their defaults).
//! * `{"id": …, "group": [{"lane", "kind", "changes": […], "confirmed"}]}` → `{"id": …,
//!   "groups": [{"members": […], "kind", "suspects": […]}]}`.
//! * `{"id": …, "corroborate": [values…], "at": …, "kind": "regression"|"improvement",
//!   "direction": …, "params": {…}}` → `{"id": …, "at": …, "step": null | {…}}`: the step that
//!   another builder's step explains at `at` on this lane (`analyze::changepoint::corroborate`),
//!   as the judge finds it at each ingest: at the first build from `at` where the series so far,
//!   with the lane's own steps confirmed by then, confirms it (so a step the lane confirms itself
//!   later may be corroborated sooner). The fields are those `detect` gives. `params` may also
//!   set `corroborate`. In place of `at`, `"candidates": [[index, [changes…]]…], "suspects":
//!   […], "others": […]` (the lane's candidate places with their blamelist windows, the group's
//!   suspects and the changes that move the series the other way: the suspects of its groups of
//!   the other kind, returns included) let `corroboration_place` choose it, as the judge does;
//!   `at` is then `null` where no place holds a suspect or the one that does is ambiguous (it
//!   holds one of `others` too), and the answer's `step` with it.
//! * `{"id": …, "departures": [values…], "direction": …, "params": {…}}` → `{"id": …,
//!   "departures": [null | {"kind", "z"}…]}`: for each build, how it alone departs from the
//!   lane's level (`analyze::changepoint::departure`, with the lane's own steps over its whole
//!   series, as the judge pairs builders' first builds after a change). `params` may also set
//!   `pair`.
//! * `{"id": …, "defaults": true}` → `{"id": …, "params": {…}}`: the default parameters.

use std::collections::HashSet;
use std::io::{self, BufRead, BufWriter, Write};

use probtrack::analyze::changepoint::{
    corroborate, corroboration_place, departure, detect, group_steps, ChangePoint, LaneStep,
    Params, StepKind, CORROBORATED_WITHIN,
};
use probtrack_parsers::metrics::Direction;
use serde_json::{json, Value};

fn params_json(p: &Params) -> Value {
    json!({
        "threshold": p.threshold,
        "min_after": p.min_after,
        "min_before": p.min_before,
        "window": p.window,
        "scale_window": p.scale_window,
        "min_change": p.min_change,
        "corroborate": p.corroborate,
        "pair": p.pair,
    })
}

fn params_from(value: Option<&Value>) -> Params {
    let mut p = Params::default();
    let Some(v) = value else { return p };
    let num = |key: &str| v.get(key).and_then(Value::as_f64);
    if let Some(x) = num("threshold") {
        p.threshold = x;
    }
    if let Some(x) = num("min_change") {
        p.min_change = x;
    }
    if let Some(x) = num("corroborate") {
        p.corroborate = x;
    }
    if let Some(x) = num("pair") {
        p.pair = x;
    }
    let int = |key: &str| v.get(key).and_then(Value::as_u64).map(|x| x as usize);
    if let Some(x) = int("min_after") {
        p.min_after = x;
    }
    if let Some(x) = int("min_before") {
        p.min_before = x;
    }
    if let Some(x) = int("window") {
        p.window = x;
    }
    if let Some(x) = int("scale_window") {
        p.scale_window = x;
    }
    p
}

fn kind_from(text: &str) -> StepKind {
    if text == "improvement" {
        StepKind::Improvement
    } else {
        StepKind::Regression
    }
}

fn step_json(s: &ChangePoint) -> Value {
    json!({
        "index": s.index,
        "index_at_confirmation": s.index_at_confirmation,
        "confirmed_at": s.confirmed_at,
        "before": s.before,
        "after": s.after,
        "z": s.z,
        "kind": s.kind.as_str(),
    })
}

fn numbers(values: &Value, key: &str) -> Result<Vec<f64>, String> {
    Ok(values
        .as_array()
        .ok_or(format!("`{key}` is not an array"))?
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect())
}

fn direction_of(task: &Value) -> Result<Direction, String> {
    task.get("direction")
        .and_then(Value::as_str)
        .unwrap_or("lower")
        .parse()
}

/// The place a `corroborate` task tests: its `at`, or where `corroboration_place` puts it among
/// its `candidates` (`None`: no window holds a suspect, or the one that does is ambiguous).
fn place_of(task: &Value) -> Result<Option<usize>, String> {
    if let Some(at) = task.get("at") {
        return Ok(Some(at.as_u64().ok_or("`at` is not an index")? as usize));
    }
    let set = |key: &str| -> Result<HashSet<String>, String> {
        let list = (task.get(key).and_then(Value::as_array)).ok_or(format!("no `{key}` array"))?;
        Ok(list.iter().map(Value::to_string).collect())
    };
    let (suspects, others) = (set("suspects")?, set("others")?);
    let candidates = (task.get("candidates").and_then(Value::as_array))
        .ok_or("a `corroborate` task needs `at` or `candidates`")?;
    let mut places = Vec::with_capacity(candidates.len());
    for c in candidates {
        let (at, window) = (
            c.get(0).and_then(Value::as_u64),
            c.get(1).and_then(Value::as_array),
        );
        let (Some(at), Some(window)) = (at, window) else {
            return Err("a candidate is not [index, [changes…]]".into());
        };
        places.push((at as usize, window.iter().map(Value::to_string).collect()));
    }
    Ok(corroboration_place(places, &suspects, |c| {
        others.contains(c)
    }))
}

fn answer(task: &Value) -> Result<Value, String> {
    let id = task.get("id").cloned().unwrap_or(Value::Null);
    if task.get("defaults").is_some() {
        return Ok(json!({"id": id, "params": params_json(&Params::default())}));
    }
    if let Some(values) = task.get("detect") {
        let values = numbers(values, "detect")?;
        let direction = direction_of(task)?;
        let params = params_from(task.get("params"));
        let steps: Vec<Value> = detect(&values, direction, &params)
            .iter()
            .map(step_json)
            .collect();
        return Ok(json!({"id": id, "steps": steps}));
    }
    if let Some(values) = task.get("departures") {
        let values = numbers(values, "departures")?;
        let direction = direction_of(task)?;
        let params = params_from(task.get("params"));
        let own = detect(&values, direction, &params);
        let out: Vec<Value> = (0..values.len())
            .map(|i| match departure(&values, &own, i, direction, &params) {
                Some(step) => json!({"kind": step.kind.as_str(), "z": step.z}),
                None => Value::Null,
            })
            .collect();
        return Ok(json!({"id": id, "departures": out}));
    }
    if let Some(values) = task.get("corroborate") {
        let values = numbers(values, "corroborate")?;
        let direction = direction_of(task)?;
        let params = params_from(task.get("params"));
        let Some(at) = place_of(task)? else {
            return Ok(json!({"id": id, "at": null, "step": null}));
        };
        let kind = kind_from(task.get("kind").and_then(Value::as_str).unwrap_or(""));
        // As at each ingest: the series as it grew, with the lane's own steps confirmed by then
        // (a step the lane confirms itself later does not stand in the way before it).
        let last = (at + CORROBORATED_WITHIN * params.min_after.max(1)).min(values.len());
        let step = (at + 1..=last).find_map(|end| {
            let own: Vec<ChangePoint> = detect(&values[..end], direction, &params);
            corroborate(&values[..end], &own, at, kind, direction, &params)
        });
        return Ok(json!({"id": id, "at": at, "step": step.as_ref().map(step_json)}));
    }
    if let Some(steps) = task.get("group") {
        let steps: Vec<LaneStep<Value, Value>> = steps
            .as_array()
            .ok_or("`group` is not an array")?
            .iter()
            .map(|s| LaneStep {
                lane: s.get("lane").cloned().unwrap_or(Value::Null),
                kind: kind_from(s.get("kind").and_then(Value::as_str).unwrap_or("")),
                changes: s
                    .get("changes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                confirmed: s.get("confirmed").and_then(Value::as_i64).unwrap_or(0),
            })
            .collect();
        let groups: Vec<Value> = group_steps(&steps)
            .into_iter()
            .map(|g| json!({"members": g.members, "kind": g.kind.as_str(), "suspects": g.suspects}))
            .collect();
        return Ok(json!({"id": id, "groups": groups}));
    }
    Err("a task needs `detect`, `departures`, `corroborate`, `group` or `defaults`".into())
}

fn main() {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.unwrap_or_else(|err| {
            eprintln!("changepoints: reading line {}: {err}", n + 1);
            std::process::exit(3)
        });
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<Value>(&line)
            .map_err(|err| err.to_string())
            .and_then(|task| answer(&task));
        match result {
            Ok(value) => {
                let _ = writeln!(out, "{value}");
            }
            Err(err) => {
                eprintln!("changepoints: line {}: {err}", n + 1);
                std::process::exit(3)
            }
        }
    }
    let _ = out.flush();
}
