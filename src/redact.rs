//! Secrets stay secret: the one place that decides what is a secret and replaces it with `***`
//! in everything greenlight prints or sends (log lines, annotations, the step summary, the PR
//! comment, commit-status and deployment descriptions, the task-definition diff, errors).
//!
//! Three kinds of evidence, all applied by [`redact`]:
//! - values registered at run time ([`register`]): the GitHub token, and every secret met in
//!   the task definition ([`register_from_task_definition`]), so a later echo of the bare value
//!   anywhere is caught too. Registration also reaches the runner (`::add-mask::`) through the
//!   sink main installs with [`on_register`].
//! - shape: `KEY=value`, `key: value`, `"key": "value"` (env files, query strings, JDBC/ODBC
//!   connection strings, headers, YAML, JSON) where the key's name looks secret
//!   ([`is_secret_name`]); URL userinfo (`scheme://user:***@host`); PEM private-key bodies;
//!   well-known token formats (`ghp_…`, `xoxb-…`, JWTs …).
//! - nothing else: a value that looks random but sits under an innocent name is shown, because
//!   hiding image digests and ARNs would make every report useless.
//!
//! Only the value is replaced; the name and the surrounding line stay, so a reader still sees
//! which setting changed or failed.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Registered values shorter than this are refused: masking `true` or `8080` everywhere would
/// garble every line, and such values are still hidden wherever their name is shown with them.
pub const MIN_REGISTERED: usize = 6;

static REGISTRY: RwLock<Vec<String>> = RwLock::new(Vec::new());

type Sink = Arc<dyn Fn(&str) + Send + Sync>;
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Installs what to do with each newly registered value (main: print `::add-mask::`).
pub fn on_register(sink: impl Fn(&str) + Send + Sync + 'static) {
    if let Ok(mut s) = SINK.write() {
        *s = Some(Arc::new(sink));
    }
}

/// Registers a secret so that every later occurrence is redacted; each line of a multi-line
/// value counts on its own too (a PEM key may be logged a line at a time). Returns whether
/// anything new was registered.
pub fn register(value: &str) -> bool {
    let value = value.trim();
    if value.chars().count() < MIN_REGISTERED {
        return false;
    }
    let mut parts: Vec<&str> = vec![value];
    if value.contains('\n') {
        parts.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|l| l.chars().count() >= MIN_REGISTERED && *l != value),
        );
    }
    let mut new = false;
    if let Ok(mut reg) = REGISTRY.write() {
        for p in parts {
            if !reg.iter().any(|r| r == p) {
                reg.push(p.to_string());
                new = true;
            }
        }
        // Longest first, so a value that contains another is replaced whole.
        reg.sort_by_key(|r| std::cmp::Reverse(r.len()));
    }
    if new {
        let sink = SINK.read().ok().and_then(|s| s.clone());
        if let Some(sink) = sink {
            sink(value);
        }
    }
    new
}

/// Registers every secret the task definition carries in plain text: secret-named environment
/// values, docker labels and log/FireLens options, and the secret parts of any other string
/// (a URL's password, `--password=…` in a command). Returns how many were new.
pub fn register_from_task_definition(doc: &Map<String, Value>) -> usize {
    let mut found = Vec::new();
    collect_json(&Value::Object(doc.clone()), None, &mut found);
    found.iter().filter(|v| register(v)).count()
}

fn collect_json(v: &Value, key: Option<&str>, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let pair = m.get("name").and_then(Value::as_str).zip(m.get("value"));
            for (k, child) in m {
                let name = match pair {
                    Some((name, _)) if k == "value" => name,
                    _ => k,
                };
                collect_json(child, Some(name), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_json(x, None, out)),
        Value::String(s) => {
            if key.is_some_and(|k| is_secret_pair(k, s)) {
                out.push(s.clone());
            } else {
                out.extend(secrets_in(s).into_iter().map(str::to_string));
            }
        }
        Value::Number(n) if key.is_some_and(is_secret_name) => out.push(n.to_string()),
        _ => {}
    }
}

/// The text with every secret in it replaced by [`MASK`].
pub fn redact(text: &str) -> String {
    let spans = spans(text);
    if spans.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in spans {
        out.push_str(&text[at..s]);
        out.push_str(MASK);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

/// The secret substrings of `text`, as [`redact`] would hide them.
pub fn secrets_in(text: &str) -> Vec<&str> {
    spans(text).into_iter().map(|(s, e)| &text[s..e]).collect()
}

/// A JSON value with secrets replaced: values of secret-named keys, the `value` of a
/// `{"name": …, "value": …}` pair whose name is secret, and secrets inside any other string.
pub fn redact_json(v: &Value) -> Value {
    redact_json_under(v, None)
}

fn redact_json_under(v: &Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(m) => {
            let pair = m.get("name").and_then(Value::as_str).zip(m.get("value"));
            Value::Object(
                m.iter()
                    .map(|(k, child)| {
                        let name = match pair {
                            Some((name, _)) if k == "value" => name,
                            _ => k,
                        };
                        (k.clone(), redact_json_under(child, Some(name)))
                    })
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_json_under(x, None)).collect()),
        Value::String(s) if key.is_some_and(|k| is_secret_pair(k, s)) && !s.is_empty() => {
            Value::String(MASK.into())
        }
        Value::String(s) => Value::String(redact(s)),
        Value::Number(_) if key.is_some_and(is_secret_name) => Value::String(MASK.into()),
        other => other.clone(),
    }
}

/// Whether `value` under `name` is a secret: [`is_secret_name`], except that `PWD`/`OLDPWD`
/// holding a path are the shell's working directories (while `PWD=…;` in an ODBC string is a
/// password).
pub fn is_secret_pair(name: &str, value: &str) -> bool {
    let bare = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if (bare.eq_ignore_ascii_case("PWD") || bare.eq_ignore_ascii_case("OLDPWD"))
        && (value.starts_with('/') || value.starts_with('~'))
    {
        return false;
    }
    is_secret_name(name)
}

/// Words that make a name secret wherever they stand in it.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASSPHRASE",
    "PASS",
    "PWD",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "AUTH",
    "AUTHORIZATION",
    "DSN",
    "SIG",
    "SIGNATURE",
    "SALT",
    "COOKIE",
];

/// Run-together forms: `DBPASSWORD`, `CSRFTOKEN`, `CLIENTSECRET`, `XAPIKEY`.
const SECRET_SUFFIXES: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY"];

/// `<word>_KEY` is a secret wherever it stands (`API_KEY_V2`) for these words.
const KEY_OWNERS: &[&str] = &[
    "API",
    "PRIVATE",
    "ACCESS",
    "SESSION",
    "SECRET",
    "ACCOUNT",
    "MASTER",
    "ENCRYPTION",
    "SIGNING",
    "HMAC",
    "LICENSE",
    "CLIENT",
    "APP",
    "SSH",
    "DEPLOY",
    "WEBHOOK",
    "STORAGE",
    "SERVICE",
    "ADMIN",
    "ROOT",
    "JWT",
    "SHARED",
];

/// A trailing `KEY` after these words names something that is not a credential: database and
/// cache keys, public halves, KMS key ids.
const INNOCENT_KEYS: &[&str] = &[
    "PUBLIC",
    "PUBLISHABLE",
    "CACHE",
    "PARTITION",
    "SORT",
    "PRIMARY",
    "FOREIGN",
    "OBJECT",
    "ROUTING",
    "IDEMPOTENCY",
    "HASH",
    "RANGE",
    "S3",
    "BUCKET",
    "SHARD",
    "GROUP",
    "KMS",
    "LOOKUP",
    "DEDUP",
    "DEDUPLICATION",
    "MESSAGE",
    "SEARCH",
    "COMPOSITE",
    "UNIQUE",
];

/// A last word that turns a secret-sounding name into a setting about the secret, or a
/// reference to it: `PASSWORD_FILE`, `SECRET_ARN`, `TOKEN_TTL`, `AUTH_ENABLED`, and
/// `AWS_ACCESS_KEY_ID` (an identifier AWS itself does not treat as secret; the secret access
/// key is).
const QUALIFIERS: &[&str] = &[
    "FILE",
    "PATH",
    "DIR",
    "ARN",
    "ID",
    "NAME",
    "ENABLED",
    "DISABLED",
    "ENABLE",
    "DISABLE",
    "REQUIRED",
    "LENGTH",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "TIMEOUT",
    "LIMIT",
    "COUNT",
    "SIZE",
    "TYPE",
    "MODE",
    "POLICY",
    "PROVIDER",
    "ALGORITHM",
    "ALG",
    "VERSION",
    "REGION",
    "ENDPOINT",
    "URL",
    "URI",
    "HOST",
    "PORT",
    "USER",
    "USERNAME",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "METHOD",
    "FORMAT",
    "PREFIX",
    "ROTATION",
    "INTERVAL",
    "SECONDS",
    "MINUTES",
    "HOURS",
    "DAYS",
    "MS",
    "MIN",
    "MAX",
    "DOMAIN",
    "SERVER",
    "SERVICE",
    "TENANT",
    "REALM",
    "STRATEGY",
    "BACKEND",
    "CALLBACK",
    "REDIRECT",
    "PROTOCOL",
    "SCHEME",
    "LOCATION",
    "ROLE",
    "PARAMETER",
    "PARAM",
];

/// The words of a name: split at anything not a letter or digit and at camelCase humps
/// (`dbPassword`, `APIKey`), upper-cased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let hump = c.is_ascii_uppercase()
            && (prev.is_some_and(|p| p.is_ascii_lowercase())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase())));
        if hump && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a variable, option, parameter or field of this name holds a secret. Word-based, so
/// `AUTHOR`, `KEYBOARD_LAYOUT`, `TOKENIZER_MODEL`, `PRIVATE_SUBNETS` and `MAX_TOKENS` are not,
/// while `MYSQL_PWD`, `dbPassword`, `X-Api-Key` and `splunk-token` are. A trailing `KEY` is a
/// secret after any word but a few innocent ones (`STRIPE_KEY`, `TLS_KEY`; not `CACHE_KEY`); a
/// bare `KEY` is not, it is too often a database or map key.
pub fn is_secret_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else { return false };
    if QUALIFIERS.contains(&last.as_str()) && w.len() > 1 {
        return false;
    }
    let word_hit = w.iter().any(|x| {
        SECRET_WORDS.contains(&x.as_str())
            || SECRET_SUFFIXES
                .iter()
                .any(|s| x.len() > s.len() && x.ends_with(s))
            || x.strip_suffix("KEY")
                .is_some_and(|owner| KEY_OWNERS.contains(&owner))
    });
    let key_hit = w
        .windows(2)
        .any(|p| p[1] == "KEY" && KEY_OWNERS.contains(&p[0].as_str()))
        || (last == "KEY" && w.len() >= 2 && !INNOCENT_KEYS.contains(&w[w.len() - 2].as_str()));
    word_hit || key_hit
}

/// Byte ranges of every secret in `text`, sorted and merged.
fn spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    registered(text, &mut spans);
    pem_bodies(text, &mut spans);
    userinfo(text, &mut spans);
    key_values(text, &mut spans);
    token_shapes(text, &mut spans);
    spans.retain(|(s, e)| s < e);
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn registered(text: &str, out: &mut Vec<(usize, usize)>) {
    let Ok(reg) = REGISTRY.read() else { return };
    for value in reg.iter() {
        out.extend(
            text.match_indices(value.as_str())
                .map(|(i, m)| (i, i + m.len())),
        );
    }
}

/// Everything between `-----BEGIN … PRIVATE KEY-----` and its END line (or the end of the
/// text, when it was cut).
fn pem_bodies(text: &str, out: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(i) = text[from..].find("-----BEGIN ") {
        let begin = from + i;
        let Some(j) = text[begin + 11..].find("-----") else {
            return;
        };
        let label_end = begin + 11 + j;
        let body = label_end + 5;
        if !text[begin + 11..label_end].ends_with("PRIVATE KEY") {
            from = body;
            continue;
        }
        let end = text[body..]
            .find("-----END ")
            .map_or(text.len(), |k| body + k);
        out.push((body, end));
        from = end.max(body);
        if from >= text.len() {
            return;
        }
    }
}

/// `scheme://user:password@host`: the password. A user alone is shown (`ssh://git@…`) unless
/// it looks like a key rather than a name (Sentry DSNs, `https://<token>@host`).
fn userinfo(text: &str, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    for (i, _) in text.match_indices("://") {
        let start = i + 3;
        let end = b[start..]
            .iter()
            .position(|&c| {
                matches!(
                    c,
                    b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`' | b')' | b']' | b'|'
                ) || c.is_ascii_whitespace()
            })
            .map_or(b.len(), |p| start + p);
        let Some(at) = text[start..end].rfind('@').map(|p| start + p) else {
            continue;
        };
        match text[start..at].find(':').map(|p| start + p) {
            Some(colon) if colon + 1 < at => out.push((colon + 1, at)),
            Some(_) => {}
            None => {
                let user = &text[start..at];
                if looks_random(user, 16) {
                    out.push((start, at));
                }
            }
        }
    }
}

fn looks_random(s: &str, min: usize) -> bool {
    s.len() >= min
        && s.bytes().any(|c| c.is_ascii_digit())
        && s.bytes().any(|c| c.is_ascii_alphabetic())
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Values that stand for a secret without being one: references and placeholders. `rest` is
/// the text from the value on, for references that run past the value's end.
fn is_reference(value: &str, rest: &str) -> bool {
    value.starts_with(MASK)
        || value.starts_with("arn:")
        || rest.starts_with("(from ")
        || value.eq_ignore_ascii_case("value")
        || matches!(value, "…" | "...")
        || (value.starts_with('<') && value.ends_with('>'))
        || value.starts_with("${")
        || value.starts_with("$(")
        || value.starts_with("{{")
        || value
            .strip_prefix('$')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase() || c == '_'))
}

/// `KEY=value`, `KEY = value`, `key: value`, `"key": "value"` and `'key': 'value'` where the
/// key's name is secret: the value, up to where such a value ends (`&` in a query, `;` in a
/// connection string, a quote, the end of the line). An `Authorization`-style scheme word
/// (`Bearer`, `Basic` …) is kept and what follows it hidden.
fn key_values(text: &str, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let mut floor = 0;
    let mut i = 0;
    while i < b.len() {
        let sep = b[i];
        if sep != b'=' && sep != b':' {
            i += 1;
            continue;
        }
        match secret_value_at(text, i, floor) {
            Some((s, e)) => {
                out.push((s, e));
                floor = e;
                i = e.max(i + 1);
            }
            None => i += 1,
        }
    }
}

fn secret_value_at(text: &str, i: usize, floor: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let sep = b[i];
    if b.get(i + 1) == Some(&sep) || (sep == b'=' && b.get(i + 1) == Some(&b'>')) {
        return None;
    }
    let mut k_end = i;
    if sep == b'=' {
        while k_end > floor && b[k_end - 1] == b' ' {
            k_end -= 1;
        }
    }
    let quote = (k_end > floor && matches!(b[k_end - 1], b'"' | b'\'')).then(|| b[k_end - 1]);
    if quote.is_some() {
        k_end -= 1;
    }
    let mut k_start = k_end;
    while k_start > floor && is_key_char(b[k_start - 1]) {
        k_start -= 1;
    }
    if let Some(q) = quote
        && (k_start == floor || b[k_start - 1] != q)
    {
        return None;
    }
    let key = &text[k_start..k_end];
    if !key.bytes().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut vs = i + 1;
    // `key:value` without a space or quotes is an ARN or a URL part (`secret:web-db`), not a
    // setting.
    if sep == b':' && quote.is_none() && !matches!(b.get(vs), Some(b' ' | b'\t')) {
        return None;
    }
    while matches!(b.get(vs), Some(b' ' | b'\t')) {
        vs += 1;
    }
    let (vs, ve) = match b.get(vs)? {
        q @ (b'"' | b'\'') => {
            let q = *q;
            let mut j = vs + 1;
            while j < b.len() && b[j] != q && b[j] != b'\n' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            (vs + 1, j.min(b.len()))
        }
        b'{' if sep == b'=' => {
            let close = text[vs..].find('}').map_or(b.len(), |p| vs + p);
            (vs + 1, close)
        }
        _ => {
            let mut vs = vs;
            let word_end = text[vs..]
                .find(|c: char| c.is_ascii_whitespace())
                .map_or(b.len(), |p| vs + p);
            let word = &text[vs..word_end];
            if ["bearer", "basic", "token", "digest", "bot"]
                .iter()
                .any(|s| word.eq_ignore_ascii_case(s))
                && b.get(word_end) == Some(&b' ')
            {
                vs = word_end + 1;
            }
            let stop = |c: u8| {
                if sep == b'=' {
                    c.is_ascii_whitespace()
                        || matches!(c, b'&' | b';' | b'"' | b'\'' | b'`' | b'<' | b'>')
                } else {
                    matches!(
                        c,
                        b'\n' | b'\r' | b',' | b';' | b'"' | b'\'' | b'`' | b'}' | b']'
                    )
                }
            };
            let mut ve = vs;
            while ve < b.len() && !stop(b[ve]) {
                ve += 1;
            }
            while ve > vs && b[ve - 1].is_ascii_whitespace() {
                ve -= 1;
            }
            (vs, ve)
        }
    };
    let value = &text[vs..ve];
    if value.is_empty() || is_reference(value, &text[vs..]) || !is_secret_pair(key, value) {
        return None;
    }
    Some((vs, ve))
}

/// Token formats recognisable on their own; the prefix is kept so a reader knows what leaked.
const TOKEN_PREFIXES: &[(&str, usize)] = &[
    ("ghp_", 20),
    ("gho_", 20),
    ("ghu_", 20),
    ("ghs_", 20),
    ("ghr_", 20),
    ("github_pat_", 20),
    ("glpat-", 16),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxs-", 10),
    ("xapp-", 10),
    ("sk_live_", 16),
    ("rk_live_", 16),
    ("sk-proj-", 16),
    ("sk-ant-", 16),
    ("npm_", 20),
    ("AIza", 30),
    ("SG.", 20),
    ("hvs.", 20),
    ("dop_v1_", 20),
];

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

fn token_shapes(text: &str, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    for (prefix, min) in TOKEN_PREFIXES {
        for (i, _) in text.match_indices(prefix) {
            if i > 0 && is_token_char(b[i - 1]) {
                continue;
            }
            let s = i + prefix.len();
            let e = b[s..]
                .iter()
                .position(|&c| !is_token_char(c))
                .map_or(b.len(), |p| s + p);
            if e - s >= *min {
                out.push((s, e));
            }
        }
    }
    // JWTs: three base64url parts, the first two JSON objects (`eyJ` is `{"`).
    for (i, _) in text.match_indices("eyJ") {
        if i > 0 && is_token_char(b[i - 1]) {
            continue;
        }
        let e = b[i..]
            .iter()
            .position(|&c| !is_token_char(c))
            .map_or(b.len(), |p| i + p);
        let parts: Vec<&str> = text[i..e].split('.').collect();
        if parts.len() == 3 && parts[1].starts_with("eyJ") && parts[2].len() >= 16 {
            out.push((i, e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_judged_by_words() {
        for n in [
            "MYSQL_PWD",
            "DB_PASSWORD",
            "dbPassword",
            "X-Api-Key",
            "splunk-token",
            "AWS_SECRET_ACCESS_KEY",
            "STRIPE_KEY",
            "JWT_KEY",
            "DBPASSWORD",
            "APIKEY",
            "SENTRY_DSN",
            "SECRET_KEY_BASE",
            "Authorization",
            "ACCESS_KEY_V2",
            "X-Amz-Signature",
            "PWD",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "AUTHOR",
            "KEYBOARD_LAYOUT",
            "TOKENIZER_MODEL",
            "MAX_TOKENS",
            "PRIVATE_SUBNETS",
            "PASSWORD_FILE",
            "PWD_DIR",
            "AWS_ACCESS_KEY_ID",
            "SECRET_ARN",
            "AUTH_ENABLED",
            "CACHE_KEY",
            "PUBLIC_KEY",
            "KEY_PREFIX",
            "APP_VERSION",
            "awslogs-group",
            "MONKEY",
            "KEY",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn the_shell_working_directory_is_not_a_password() {
        assert_eq!(redact("PWD=/home/app"), "PWD=/home/app");
        assert_eq!(redact("Server=db;PWD=hunter22;"), "Server=db;PWD=***;");
    }

    #[test]
    fn registered_values_are_replaced_anywhere() {
        assert!(!register("short"));
        assert!(register("zq-registered-Value-91"));
        assert!(!register("zq-registered-Value-91"));
        assert_eq!(
            redact("got zq-registered-Value-91, twice: zq-registered-Value-91"),
            "got ***, twice: ***"
        );
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_registered() {
        assert!(register("first-line-of-key\nsecond-line-of-key\nab"));
        assert_eq!(redact("got second-line-of-key and ab"), "got *** and ab");
    }

    #[test]
    fn json_values_under_secret_names_are_masked() {
        let v = serde_json::json!({"environment": [{"name": "MYSQL_PWD", "value": "pw"}, {"name": "A", "value": "b"}],
            "options": {"splunk-token": "tok", "awslogs-group": "/ecs/web"}, "n": {"API_KEY": 12345}});
        assert_eq!(
            redact_json(&v),
            serde_json::json!({"environment": [{"name": "MYSQL_PWD", "value": "***"}, {"name": "A", "value": "b"}],
            "options": {"splunk-token": "***", "awslogs-group": "/ecs/web"}, "n": {"API_KEY": "***"}})
        );
    }

    #[test]
    fn the_task_definition_registers_its_secrets() {
        let doc = serde_json::json!({"containerDefinitions": [{"environment": [
            {"name": "MYSQL_PWD", "value": "td-mysql-pw-1"},
            {"name": "JDBC_URL", "value": "jdbc:postgresql://db/app?user=app&password=td-jdbc-pw-2"}],
            "command": ["--api-key=td-cmd-key-3"],
            "logConfiguration": {"logDriver": "splunk", "options": {"splunk-token": "td-splunk-4"}}}]});
        let n = register_from_task_definition(doc.as_object().unwrap());
        assert_eq!(n, 4);
        assert_eq!(
            redact("td-mysql-pw-1 td-jdbc-pw-2 td-cmd-key-3 td-splunk-4"),
            "*** *** *** ***"
        );
    }
}
