//! Every file greenlight reads goes through here: a bounded read (a huge file is refused after
//! reading one byte past the limit, not read whole), the encoding checked (UTF-8 BOM dropped,
//! UTF-16 named), nesting bounded before any parser sees the text (YAML parsers go quadratic
//! on deep flow nesting), and duplicate keys refused where serde would silently keep the last.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The largest JSON file read: far above any real task definition (AWS caps a registered one
/// at 64 KiB) yet small enough to parse in milliseconds.
pub const JSON_LIMIT: u64 = 1024 * 1024;
/// The largest YAML file read; YAML parsing is slower per byte than JSON.
pub const YAML_LIMIT: u64 = 256 * 1024;
/// The deepest nesting of lists and objects accepted; real files stay under ten.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// YAML by extension (`.yml`, `.yaml`); anything else is JSON.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml") => Format::Yaml,
            _ => Format::Json,
        }
    }

    pub fn limit(self) -> u64 {
        match self {
            Format::Json => JSON_LIMIT,
            Format::Yaml => YAML_LIMIT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        }
    }
}

fn kib(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The file's text, read at most one byte past the format's size limit, with a UTF-8 BOM
/// removed and its nesting checked; `what` names the file in messages ("task definition").
pub fn read_text(path: &Path, what: &str, format: Format) -> Result<String> {
    let limit = format.limit();
    let file = std::fs::File::open(path).map_err(|e| cannot_read(path, what, &e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot_read(path, what, &e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::file(
            path,
            format!(
                "is larger than {}, the most greenlight reads for a {} {what}",
                kib(limit),
                format.name()
            ),
            "check that the path names the right file; no real file of this kind is this big",
        ));
    }
    let text = decode(path, what, bytes)?;
    check_depth(path, &text, format)?;
    Ok(text)
}

fn cannot_read(path: &Path, what: &str, e: &std::io::Error) -> Error {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ".".into());
    Error::file(
        path,
        format!("cannot read the {what}: {e}"),
        format!("check the path (relative to the working directory {cwd})"),
    )
}

/// UTF-8 text from the raw bytes: a BOM is dropped, UTF-16 (an editor's "Unicode" setting)
/// is named rather than reported as garbage.
fn decode(path: &Path, what: &str, mut bytes: Vec<u8>) -> Result<String> {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        // Without a BOM, ASCII text in UTF-16 has a NUL in every other byte.
        || (bytes.len() >= 4
            && bytes.iter().take(64).filter(|b| **b == 0).count() * 4
                >= bytes.len().min(64));
    if utf16 {
        return Err(Error::file(
            path,
            format!("is UTF-16; save it as UTF-8 (the {what} must be UTF-8 text)"),
            "re-save it as UTF-8 in the editor, or convert it: `iconv -f UTF-16 -t UTF-8`",
        ));
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "save it as UTF-8",
        )
    })
}

/// Refuses nesting deeper than `MAX_DEPTH` before any parser runs: the bracket depth of flow
/// collections (and for JSON everything), skipping quoted strings and YAML comments. A plain
/// YAML scalar holding a bracket may count it; that errs on the side of refusing files no one
/// writes by hand.
fn check_depth(path: &Path, text: &str, format: Format) -> Result<()> {
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut in_str: Option<u8> = None;
    let mut escaped = false;
    let mut in_comment = false;
    let mut prev = b'\n';
    for &b in text.as_bytes() {
        if b == b'\n' {
            line += 1;
            in_comment = false;
            // A YAML single-quoted string may span lines; a double-quoted one too. Keep state.
        }
        if in_comment {
            prev = b;
            continue;
        }
        if let Some(q) = in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' && q == b'"' {
                escaped = true;
            } else if b == q {
                in_str = None;
            }
            prev = b;
            continue;
        }
        let token_start = matches!(
            prev,
            b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':'
        );
        match b {
            b'"' if format == Format::Json || token_start => in_str = Some(b'"'),
            b'\'' if format == Format::Yaml && token_start => in_str = Some(b'\''),
            b'#' if format == Format::Yaml && matches!(prev, b' ' | b'\t' | b'\n') => {
                in_comment = true
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::File {
                        path: path.to_path_buf(),
                        line: Some(line),
                        field: None,
                        problem: format!(
                            "nests lists and objects more than {MAX_DEPTH} deep (line {line})"
                        ),
                        fix: format!("flatten the structure to at most {MAX_DEPTH} levels"),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = b;
    }
    Ok(())
}

/// Reads a JSON or YAML file (by extension) into a JSON value, refusing duplicate keys at any
/// depth. Returns the text too, for line numbers.
pub fn read_document(path: &Path, what: &str) -> Result<(String, Value)> {
    let format = Format::of(path);
    let text = read_text(path, what, format)?;
    let value = parse(path, &text, format)?;
    Ok((text, value))
}

/// The most time one file's parse may take. The nesting scan keeps ordinary hostile input
/// away from the parsers' slow paths; this bounds whatever gets past it.
pub const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Parses text already read by `read_text`, within `PARSE_BUDGET`.
pub fn parse(path: &Path, text: &str, format: Format) -> Result<Value> {
    parse_within(path, text, format, PARSE_BUDGET)
}

/// `parse` with its own time budget. The parse runs on a thread of its own; one that overruns
/// is abandoned (the run ends with exit 2 right after, which ends the thread too).
pub fn parse_within(
    path: &Path,
    text: &str,
    format: Format,
    budget: std::time::Duration,
) -> Result<Value> {
    use std::sync::mpsc::RecvTimeoutError;
    let refused = |problem: String, fix: &str| Error::File {
        path: path.to_path_buf(),
        line: None,
        field: None,
        problem,
        fix: fix.into(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (owned_path, owned_text) = (path.to_path_buf(), text.to_string());
    std::thread::Builder::new()
        .name("parse".into())
        .spawn(move || {
            let _ = tx.send(parse_now(&owned_path, &owned_text, format));
        })
        .map_err(|e| refused(format!("could not be parsed: {e}"), "try again"))?;
    match rx.recv_timeout(budget) {
        Ok(parsed) => parsed,
        Err(RecvTimeoutError::Timeout) => Err(refused(
            format!(
                "took more than {} s to parse, the most greenlight spends on one file",
                budget.as_secs_f64()
            ),
            "flatten deeply nested flow-style `[...]`/`{...}` structures into block style",
        )),
        Err(RecvTimeoutError::Disconnected) => Err(refused(
            "could not be parsed: the parser stopped without an answer".into(),
            "check that the file is well-formed",
        )),
    }
}

fn parse_now(path: &Path, text: &str, format: Format) -> Result<Value> {
    let seed = Checked { at: String::new() };
    match format {
        Format::Yaml => {
            let de = serde_norway::Deserializer::from_str(text);
            seed.deserialize(de).map_err(|e| Error::File {
                path: path.to_path_buf(),
                line: e.location().map(|l| l.line()),
                field: None,
                problem: format!("is not valid YAML: {e}"),
                fix: "fix it at that position".into(),
            })
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            let value = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
            value.map_err(|e| Error::File {
                path: path.to_path_buf(),
                line: Some(e.line()),
                field: None,
                problem: format!("is not valid JSON: {e}"),
                fix: "fix it at that position (name the file .yaml to write YAML)".into(),
            })
        }
    }
}

/// Builds a `serde_json::Value` like its own `Deserialize` does, but refuses a key that
/// appears twice in one object, naming where.
struct Checked {
    /// The path of the value being read, `containerDefinitions[0]` style; empty at the top.
    at: String,
}

impl Checked {
    fn child_key(&self, key: &str) -> Checked {
        Checked {
            at: if self.at.is_empty() {
                key.to_string()
            } else {
                format!("{}.{key}", self.at)
            },
        }
    }

    fn where_(&self) -> String {
        if self.at.is_empty() {
            "the top-level object".into()
        } else {
            format!("`{}`", self.at)
        }
    }
}

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Checked {
            at: format!("{}[{}]", self.at, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "key `{key}` appears twice in {}; only one can count, so say which by removing the other",
                    self.where_()
                )));
            }
            let v = map.next_value_seed(self.child_key(&key))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A map key as a string, as serde_json's own `Value` takes YAML's scalar keys.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Key {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E>(self) -> std::result::Result<String, E> {
        Ok("null".into())
    }
}

/// Parse time of the largest files accepted, for `scripts/bench`-style reporting: a JSON task
/// definition just under 1 MiB and a YAML AppSpec just under 256 KiB nested just under the
/// limit. Returns (bytes, duration) for each.
pub fn bench_largest_accepted() -> Result<Vec<(String, usize, std::time::Duration)>> {
    let mut out = Vec::new();
    let json = largest_json();
    let start = std::time::Instant::now();
    parse(Path::new("bench.json"), &json, Format::Json)?;
    out.push(("json".into(), json.len(), start.elapsed()));
    let yaml = largest_yaml();
    let start = std::time::Instant::now();
    check_depth(Path::new("bench.yml"), &yaml, Format::Yaml)?;
    parse(Path::new("bench.yml"), &yaml, Format::Yaml)?;
    out.push(("yaml".into(), yaml.len(), start.elapsed()));
    Ok(out)
}

/// A task definition of many environment variables, just under `JSON_LIMIT`.
pub fn largest_json() -> String {
    let mut env = String::new();
    let mut i = 0;
    let head =
        r#"{"family":"web","containerDefinitions":[{"name":"web","image":"web:1","environment":["#;
    let tail = "]}]}";
    loop {
        let entry = format!(r#"{{"name":"VAR_{i:07}","value":"{}"}}"#, "x".repeat(40));
        let sep = if i == 0 { "" } else { "," };
        if head.len() + env.len() + sep.len() + entry.len() + tail.len() > JSON_LIMIT as usize {
            break;
        }
        env.push_str(sep);
        env.push_str(&entry);
        i += 1;
    }
    format!("{head}{env}{tail}")
}

/// A YAML document just under `YAML_LIMIT`: flow nesting one short of the limit, then block
/// entries filling the rest.
pub fn largest_yaml() -> String {
    let nested = format!(
        "deep: {}x{}\n",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    let mut s = String::from("version: 0.0\n");
    s.push_str(&nested);
    s.push_str("filler:\n");
    let mut i = 0;
    loop {
        let line = format!(
            "  - {{key: k{i:07}, value: [a, b, c, {}]}}\n",
            "y".repeat(30)
        );
        if s.len() + line.len() > YAML_LIMIT as usize {
            break;
        }
        s.push_str(&line);
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_parse_that_overruns_its_budget_is_refused_naming_the_file() {
        let path = Path::new("taskdef.json");
        let text = largest_json();
        let slow = parse_within(
            path,
            &text,
            Format::Json,
            std::time::Duration::from_micros(1),
        );
        let e = slow.expect_err("a 1 MiB document does not parse in a microsecond");
        assert!(
            e.to_string().contains("taskdef.json") && e.to_string().contains("to parse"),
            "{e}"
        );
        assert!(
            parse(path, &text, Format::Json).is_ok(),
            "within the real budget"
        );
    }

    use super::*;

    fn write(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn err(name: &str, bytes: &[u8]) -> String {
        let (_d, path) = write(name, bytes);
        let e = read_document(&path, "task definition").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let e = err("t.json", br#"{"a": 1, "a": 2}"#);
        assert!(
            e.contains("key `a` appears twice in the top-level object"),
            "{e}"
        );
        let e = err(
            "t.json",
            br#"{"containerDefinitions": [{"name": "web", "image": "x", "name": "db"}]}"#,
        );
        assert!(
            e.contains("key `name` appears twice in `containerDefinitions[0]`"),
            "{e}"
        );
        let e = err("t.yml", b"a:\n  b: 1\n  b: 2\n");
        assert!(e.contains("key `b` appears twice in `a`"), "{e}");
    }

    #[test]
    fn values_match_serde_json() {
        let src = r#"{"a": [1, -2, 3.5, true, null, "s"], "b": {"c": {}}}"#;
        let (_d, path) = write("t.json", src.as_bytes());
        let (_, v) = read_document(&path, "x").unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(src).unwrap());
        let (_d, path) = write("t.yaml", b"a: [1, -2, 3.5, true, ~, s]\nb: {c: {}}\n");
        let (_, y) = read_document(&path, "x").unwrap();
        assert_eq!(y, v);
    }

    #[test]
    fn encodings() {
        let (_d, path) = write("t.json", b"\xEF\xBB\xBF{\"a\": 1}");
        assert_eq!(read_document(&path, "x").unwrap().1["a"], 1);
        let utf16: Vec<u8> = "{\"a\": 1}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let e = err("t.json", &utf16);
        assert!(e.contains("is UTF-16; save it as UTF-8"), "{e}");
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(&utf16);
        assert!(err("t.json", &bom).contains("is UTF-16"));
        assert!(err("t.json", b"{\"a\": \"\xC3\x28\"}").contains("is not UTF-8"));
    }

    #[test]
    fn sizes_are_bounded_and_named() {
        let big = vec![b' '; JSON_LIMIT as usize + 1];
        assert!(err("t.json", &big).contains("is larger than 1 MiB"));
        let big = vec![b' '; YAML_LIMIT as usize + 1];
        assert!(err("t.yml", &big).contains("is larger than 256 KiB"));
        let (_d, path) = write("t.json", largest_json().as_bytes());
        read_document(&path, "x").unwrap();
        let (_d, path) = write("t.yml", largest_yaml().as_bytes());
        read_document(&path, "x").unwrap();
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let start = std::time::Instant::now();
        let e = err("t.yml", deep.as_bytes());
        assert!(e.contains("more than 64 deep"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert!(err("t.json", deep.as_bytes()).contains("more than 64 deep"));
        let ok = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        let (_d, path) = write("t.json", ok.as_bytes());
        read_document(&path, "x").unwrap();
        // Brackets in strings and comments do not count.
        let quoted = format!(
            "a: \"{}\" # {}\nb: '{}'\n",
            "[".repeat(80),
            "{".repeat(80),
            "[".repeat(80)
        );
        let (_d, path) = write("t.yml", quoted.as_bytes());
        read_document(&path, "x").unwrap();
    }

    #[test]
    fn largest_accepted_files_parse_quickly() {
        for (kind, bytes, took) in bench_largest_accepted().unwrap() {
            eprintln!("{kind}: {bytes} bytes parsed in {took:?}");
            assert!(took < std::time::Duration::from_secs(5), "{kind}: {took:?}");
        }
    }
}
