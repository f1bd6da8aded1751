//! What a query says beyond its words, read before it is searched: the
//! values it gives a tool's arguments (quoted text, the name after
//! "called", what is to be told or kept after "remember that"; URLs,
//! addresses, paths and issue keys, which give hints instead, and are
//! named for the embedding model: "a URL"), who asks ("the user wants"),
//! its phrasal verbs, nouns used as verbs and "add" with two numbers, and
//! the hints of its shape (a question, a bare plural, a day, a sum). Pure.

use super::text::{is_number, is_stop_word, stem, words};

/// Whether the `i`th token of a query is written as a name: a capital
/// past the query's first letter ("Dana", "NVDA", "iPhone"), not a word a
/// typist could have slipped on.
pub fn is_name(i: usize, token: &str) -> bool {
    let mut letters = token.chars().filter(char::is_ascii_alphabetic);
    let first = letters.next();
    let capital_first = i > 0 && first.is_some_and(|c| c.is_ascii_uppercase());
    capital_first || letters.any(|c| c.is_ascii_uppercase())
}

/// The words of the query's names ([`is_name`]), as [`words`] makes them.
pub fn names(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .enumerate()
        .filter(|(i, token)| is_name(*i, token))
        .flat_map(|(_, token)| words(token))
        .collect()
}

/// The query without the values it gives a tool's arguments: a quoted span
/// ("type 'yes' into it", "put \"buy milk\" on my list"), the name after
/// "called", "named" or "titled" ("a folder called drafts"), and what is
/// to be told or kept ([`is_message_clause`]: "remember that the user
/// prefers dark mode"). They say what to write, not which tool writes it.
pub fn without_values(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    // The quote open: its character and the index of the token that opened it.
    let mut quote: Option<(char, usize)> = None;
    let mut drop_next = false;
    // Inside a message clause, which ends with its sentence.
    let mut message = false;
    // The last token kept: its index and where it starts in `out`.
    let mut last: Option<(usize, usize)> = None;
    let tokens: Vec<&str> = query.split_whitespace().collect();
    for (i, &tok) in tokens.iter().enumerate() {
        if message {
            message = !tok.ends_with(['.', ';', '!', '?']);
            continue;
        }
        if let Some((q, ..)) = quote {
            if closes(tok, q) {
                quote = None;
            }
            continue;
        }
        if is_message_clause(&tokens[..i], tok) {
            message = !tok.ends_with(['.', ';', '!', '?']);
            continue;
        }
        if is_the_asker(&tokens, i) {
            // And its article: "the user wants" says nothing of a tool.
            if let Some((_, start)) = last.filter(|(k, _)| k + 1 == i) {
                out.truncate(start);
            }
            continue;
        }
        if let Some(q) = opening_quote(tok) {
            if !closes(&tok[q.len_utf8()..], q) {
                quote = Some((q, i));
            }
            drop_next = false; // the quoted span was the name
            continue;
        }
        if drop_next {
            drop_next = false;
            continue;
        }
        let word = tok
            .trim_end_matches([',', '.', ':', ';'])
            .to_ascii_lowercase();
        drop_next = matches!(word.as_str(), "called" | "named" | "titled");
        last = Some((i, out.len()));
        out.push_str(tok);
        out.push(' ');
    }
    // A quote never closed ("the '90s") was no quote: its words count.
    if let Some((_, first)) = quote {
        for tok in query.split_whitespace().skip(first) {
            out.push_str(tok);
            out.push(' ');
        }
    }
    out
}

/// Whether `tok` is the "that" opening what a verb of telling or keeping
/// is to tell or keep: "remember that ...", "tell Sam that ...", "let the
/// team know that ...", "forget the fact that ...". The verb is at most
/// four tokens back, with no preposition between ("tell me about that
/// bug" asks about a bug). Verbs of checking are not among them: in
/// "make sure that the build passes" the build is what to check.
fn is_message_clause(before: &[&str], tok: &str) -> bool {
    const TELL_OR_KEEP: &[&str] = &[
        "remember", "memorize", "note", "record", "forget", "fact", "tell", "know", "remind",
        "inform", "notify", "warn", "say", "mention", "email", "message", "text", "ping",
    ];
    const PREPOSITIONS: &[&str] = &[
        "about", "on", "of", "for", "in", "with", "to", "from", "at", "by",
    ];
    if !is_one_of(tok, &["that"]) || tok.ends_with(['.', ';', '!', '?', ',']) {
        return false;
    }
    // Words that are nouns after an article or a possessive: "the message
    // that mentions the outage" describes a message, it says none.
    const NOUNS_TOO: &[&str] = &["note", "record", "email", "message", "text", "ping"];
    for (k, t) in before.iter().enumerate().rev().take(4) {
        if is_one_of(t, TELL_OR_KEEP) {
            let noun = is_one_of(t, NOUNS_TOO)
                && k > 0
                && opens_object(&before[k - 1].to_ascii_lowercase());
            return !noun;
        }
        if is_one_of(t, PREPOSITIONS) || t.ends_with(['.', ';', '!', '?', ',']) {
            return false;
        }
    }
    false
}

/// Whether `tokens[i]` is "user" as the one an agent works for, said as
/// who asks ("the user wants ...", "User asked: ..."): that is no tool's
/// user. "list the user's repos" and "add a user" keep the word.
fn is_the_asker(tokens: &[&str], i: usize) -> bool {
    const ASKS: &[&str] = &[
        "wants", "wanted", "asked", "asks", "needs", "needed", "prefers", "likes", "would", "said",
        "says",
    ];
    is_one_of(tokens[i], &["user"])
        && (i == 0 || is_one_of(tokens[i - 1], &["the"]))
        && tokens.get(i + 1).is_some_and(|next| is_one_of(next, ASKS))
}

/// The quote a token opens with, if any (`'yes'`, `"buy`, `“buy`).
fn opening_quote(tok: &str) -> Option<char> {
    let c = tok.chars().next()?;
    match c {
        '\'' | '"' | '`' => Some(c),
        '\u{2018}' => Some('\u{2019}'),
        '\u{201c}' => Some('\u{201d}'),
        _ => None,
    }
}

/// Whether `tok` ends a span quoted with `q` (trailing punctuation aside).
fn closes(tok: &str, q: char) -> bool {
    tok.trim_end_matches([',', '.', ':', ';', '!', '?', ')'])
        .ends_with(q)
}

/// A query token whose shape says what it is: an argument for the tool,
/// not a word describing it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Literal {
    Url,
    Email,
    Channel,
    File,
    Issue,
    /// `owner/name` with no dot: a repository (`acme/api`), a branch
    /// (`feature/login`) or a short path (`src/bin`); which, only the words
    /// around it tell (the model reads it as written).
    Pair,
}

impl Literal {
    fn of(token: &str) -> Option<Literal> {
        let t = bare(token);
        Some(
            if t.contains("://") || t.starts_with("www.") || is_bare_url(t) {
                Literal::Url
            } else if t.contains('@') && t.contains('.') && !t.starts_with('@') {
                Literal::Email
            } else if t.starts_with('#')
                && t.len() > 1
                && !t[1..].chars().all(|c| c.is_ascii_digit())
            {
                Literal::Channel
            } else if is_pair(t) {
                Literal::Pair
            } else if t.contains('/')
                || t.starts_with('~')
                || (file_extension(t).is_some() && !is_tech_name(t))
            {
                Literal::File
            } else if is_issue_key(t) {
                Literal::Issue
            } else {
                return None;
            },
        )
    }

    /// The hint it gives (see [`hint_terms`]); a pair's is a path's.
    fn hint(self) -> &'static str {
        match self {
            Literal::Url => "url",
            Literal::Email => "email",
            Literal::Channel => "channel",
            Literal::File | Literal::Pair => "file",
            Literal::Issue => "issue",
        }
    }
}

/// The query with its literal tokens cut down to what says something about
/// the tool (the hint of each says the rest): nothing of a URL, an address,
/// an issue key, a channel or a path, the extension of a file name
/// (`report.pdf` -> `pdf`). "bob@example.com" would otherwise search for
/// "example" and "com", words of countless descriptions, and "#deploys"
/// for deployments.
pub fn without_literals(query: &str) -> String {
    each_literal(query, |literal, token| match literal {
        Literal::File => file_extension(token).unwrap_or(""),
        Literal::Url | Literal::Email | Literal::Issue | Literal::Channel | Literal::Pair => "",
    })
}

/// The query with each literal token said as what it is: "extract the
/// text of https://example.com/q3.pdf" -> "extract the text of a URL". This
/// is the text the query is embedded as: a model reads a URL's or a path's
/// characters as words ("example", "q3", "pdf") that say nothing of the
/// tool wanted, where "a URL" says what the tool is given; so does a
/// channel's name ("let #deploys know" is about a message, not a deployment).
/// An `owner/name` pair is read as written: "a file" would be wrong for a
/// repository or a branch, and the model tells them apart by the words
/// around it.
pub fn literals_named(query: &str) -> String {
    each_literal(query, |literal, token| match literal {
        Literal::Url => "a URL",
        Literal::Email => "an email address",
        Literal::File => "a file",
        Literal::Issue => "an issue",
        Literal::Channel => "a channel",
        Literal::Pair => token,
    })
}

/// The query's tokens joined by single spaces, each literal token (without
/// the punctuation around it, which stays: "report.pdf," -> "a file,")
/// replaced by what `say` makes of it.
fn each_literal<'q>(query: &'q str, say: impl Fn(Literal, &'q str) -> &'q str) -> String {
    let mut out = String::with_capacity(query.len());
    for tok in query.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let Some(literal) = Literal::of(tok) else {
            out.push_str(tok);
            continue;
        };
        let core = bare(tok);
        // `core` starts at the first character `bare` kept: punctuation
        // cannot hold it, so the first match is where it is.
        let start = tok.find(core).unwrap_or(0);
        out.push_str(&tok[..start]);
        out.push_str(say(literal, core));
        out.push_str(&tok[start + core.len()..]);
    }
    out
}

/// Whether `token` is one of `words` (lower case), in any case and
/// whatever stands around it ("That," is "that").
fn is_one_of(token: &str, words: &[&str]) -> bool {
    let word = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    words.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// A token without the punctuation around it.
fn bare(token: &str) -> &str {
    token.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '!' | '?' | '(' | ')' | '"' | '\''))
}

/// The extension of what looks like a file name (`report.pdf`, `~/a/b.rs`).
fn file_extension(t: &str) -> Option<&str> {
    let (stem, ext) = t.rsplit_once('.')?;
    let file = !stem.is_empty()
        && (1..=5).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphanumeric())
        && ext.chars().any(|c| c.is_ascii_alphabetic())
        && !stem.chars().all(|c| c.is_ascii_digit());
    file.then_some(ext)
}

/// `owner/name` (an issue or pull request number after `#` aside): one
/// slash between two names of letters, digits, `-` and `_`.
fn is_pair(t: &str) -> bool {
    let t = t.split_once('#').map_or(t, |(before, _)| before);
    let name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    t.split_once('/').is_some_and(|(a, b)| name(a) && name(b))
}

/// A web address without its scheme: a host name with a dot, then a path
/// (`example.com/docs`, `docs.acme.dev/guides`), where a file's path starts
/// with a directory (`src/app.ts`, `./notes`).
fn is_bare_url(t: &str) -> bool {
    let Some((host, _)) = t.split_once('/') else {
        return false;
    };
    let Some((name, top)) = host.rsplit_once('.') else {
        return false;
    };
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && (2..=6).contains(&top.len())
        && top.chars().all(|c| c.is_ascii_lowercase())
}

/// A technology written like a file name: `Node.js`, `Socket.IO`,
/// `ASP.NET` (a capital first, and the suffix of such names).
fn is_tech_name(t: &str) -> bool {
    let Some((stem, ext)) = t.rsplit_once('.') else {
        return false;
    };
    stem.starts_with(|c: char| c.is_ascii_uppercase())
        && ["js", "io", "net"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
}

fn is_issue_key(t: &str) -> bool {
    let Some((key, num)) = t.split_once('-') else {
        return false;
    };
    key.len() >= 2
        && key.chars().all(|c| c.is_ascii_uppercase())
        && !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit())
}

/// Phrasal verbs that mean something other than their verb: (verb,
/// particle, how many words may stand between them, what they mean).
/// "pull up the orders" is a read, not a pull; "let Sarah know" a message.
const PHRASAL: &[(&str, &str, usize, &str)] = &[
    ("back", "up", 0, "backup"),
    ("bring", "up", 1, "show"),
    ("call", "off", 1, "cancel"),
    ("clean", "up", 1, "delete"),
    ("find", "out", 0, "get"),
    ("get", "rid", 0, "delete"),
    ("give", "me", 0, "get"),
    ("give", "us", 0, "get"),
    ("hand", "over", 3, "assign"),
    ("kick", "off", 1, "start"),
    ("let", "know", 4, "notify"),
    ("log", "in", 0, "login"),
    ("log", "out", 0, "logout"),
    ("look", "at", 0, "view"),
    ("look", "for", 0, "search"),
    ("look", "up", 1, "search"),
    ("pull", "up", 1, "show"),
    ("set", "up", 1, "create"),
    ("shut", "down", 1, "stop"),
    ("sign", "in", 0, "login"),
    ("sign", "out", 0, "logout"),
    ("sign", "up", 0, "register"),
    ("spin", "up", 1, "start"),
    ("sum", "up", 1, "summarize"),
    ("switch", "off", 2, "disable"),
    ("switch", "on", 2, "enable"),
    ("take", "down", 1, "remove"),
    ("tear", "down", 1, "delete"),
    ("throw", "away", 1, "delete"),
    ("turn", "off", 2, "disable"),
    ("turn", "on", 2, "enable"),
];

/// Nouns that are verbs of another meaning when a request starts with
/// them and an object follows: "file a bug" creates, "page the team"
/// notifies, "log 3 hours" records.
const VERB_SENSES: &[(&str, &str)] = &[
    ("book", "reserve"),
    ("file", "create"),
    ("log", "record"),
    ("page", "notify"),
    ("ship", "deploy"),
    ("text", "message"),
];

/// Words that open an object: determiners, possessives, numbers.
fn opens_object(w: &str) -> bool {
    matches!(
        w,
        "a" | "an"
            | "the"
            | "my"
            | "our"
            | "your"
            | "this"
            | "that"
            | "these"
            | "those"
            | "his"
            | "her"
            | "their"
            | "its"
            | "every"
            | "all"
            | "some"
            | "another"
            | "new"
    ) || is_number(w)
}

/// Whether `words` open with two numbers joined as an operation's
/// operands are: "2 and 3", "6 by 7", "3 from 10".
fn is_operands(words: &[String]) -> bool {
    matches!(
        words,
        [a, link, b, ..] if is_number(a)
            && matches!(link.as_str(), "and" | "to" | "by" | "from" | "with" | "plus")
            && is_number(b)
    )
}

/// `words` with each phrasal verb read as what it means: the verb becomes
/// its meaning and the particle goes ("look it up" -> "search it"); a
/// request opening with a noun's verb sense says that verb ("file a bug"
/// -> "create a bug").
pub fn phrasal(words: &[String]) -> Vec<String> {
    let mut out: Vec<Option<String>> = words.iter().cloned().map(Some).collect();
    if let (Some(first), Some(next)) = (words.first(), words.get(1)) {
        if let Some((_, verb)) = VERB_SENSES.iter().find(|(n, _)| n == first) {
            if opens_object(next) {
                out[0] = Some((*verb).to_owned());
            }
        }
    }
    for i in 0..words.len() {
        // "add 2 and 3" sums; "add 2 users" creates.
        if words[i] == "add" && is_operands(&words[i + 1..]) {
            out[i] = Some("sum".to_owned());
            continue;
        }
        let verb = stem(&words[i]);
        for &(v, particle, gap, meaning) in PHRASAL {
            if verb != v {
                continue;
            }
            let within = &words[i + 1..words.len().min(i + 2 + gap)];
            if let Some(j) = within.iter().position(|w| w == particle) {
                out[i] = Some(meaning.to_owned());
                out[i + 1 + j] = None;
                break;
            }
        }
    }
    out.into_iter().flatten().collect()
}

/// What the shape of a query's tokens says beyond its words: a URL means
/// a web page, a file name or path a file, an address an email, `#name` a
/// channel, `KEY-123` an issue; a question asks to read, not to change,
/// and "who", "when", "where" and "how many" ask for a person, a time, a
/// place or a count; a bare plural ("incidents") asks for a list; a day
/// named ("tomorrow") is a date, and numbers with an operator between them
/// a calculation.
pub fn hints(query: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |h: &'static str| {
        if !out.contains(&h) {
            out.push(h)
        }
    };
    for literal in query.split_whitespace().filter_map(Literal::of) {
        add(literal.hint());
    }
    let first = query
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(
        first.trim_end_matches(['?', ',']),
        "what"
            | "what's"
            | "which"
            | "who"
            | "whose"
            | "where"
            | "when"
            | "any"
            | "is"
            | "are"
            | "did"
            | "does"
            | "do"
            | "how"
            | "has"
            | "have"
    ) {
        add("read");
    }
    // A bare plural ("incidents", "open pull requests"?) asks for a list.
    let content: Vec<String> = words(&without_literals(query))
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .collect();
    let plural = |w: &String| {
        w.len() > 3
            && w.strip_suffix('s')
                .is_some_and(|one| !one.ends_with('s') && stem(one) == stem(w))
    };
    if (1..=2).contains(&content.len()) && content.last().is_some_and(plural) {
        add("list");
    }
    // What a question asks for: a person, a time, a place, a count.
    let lower = query.to_ascii_lowercase();
    let said = |w: &str| {
        lower
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
            .any(|t| t == w || t.strip_suffix("'s") == Some(w))
    };
    for (word, hint) in [("who", "who"), ("when", "when"), ("where", "where")] {
        if said(word) {
            add(hint);
        }
    }
    if lower.contains("how many") {
        add("count");
    }
    if ["today", "tomorrow", "yesterday", "tonight"]
        .iter()
        .any(|w| said(w))
    {
        add("when");
    }
    if is_arithmetic(query) {
        add("math");
    }
    out
}

/// Numbers with an operator between them ("17.5% of 2,340", "3 * (4 + 5)",
/// "12 divided by 4"): a calculation. Not a date ("12/05"), a size ("375 x
/// 812") or a phone number ("+1 415 555 0100").
fn is_arithmetic(query: &str) -> bool {
    let lower = query.to_ascii_lowercase();
    let numbers = lower
        .split(|c: char| !c.is_ascii_digit() && c != '.' && c != ',')
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .count();
    if numbers < 2 || query.contains("://") {
        return false;
    }
    let chars: Vec<char> = lower.chars().collect();
    // The first character other than a space from `i` on, going by `step`.
    let next = |i: usize, step: isize| {
        let mut j = i as isize + step;
        while chars.get(j as usize) == Some(&' ') && j >= 0 {
            j += step;
        }
        (j >= 0).then(|| chars.get(j as usize)).flatten().copied()
    };
    let operand = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '(' || c == ')');
    let between = |i: usize| operand(next(i, -1)) && operand(next(i, 1));
    let spaced = |i: usize| i > 0 && chars[i - 1] == ' ' && chars.get(i + 1) == Some(&' ');
    let symbol = chars.iter().enumerate().any(|(i, c)| match c {
        '+' | '*' | '^' | '=' | '÷' => between(i),
        '-' | '/' => spaced(i) && between(i),
        '%' => operand(next(i, -1)),
        _ => false,
    });
    let spoken = lower.split(|c: char| !c.is_ascii_alphabetic()).any(|w| {
        matches!(
            w,
            "plus" | "minus" | "times" | "divided" | "percent" | "sqrt" | "squared" | "cubed"
        )
    });
    symbol || spoken || is_spoken_operation(&lower)
}

/// An operation said with its verb and two numbers: "add 2 and 3", "the
/// sum of 4 and 5", "multiply 6 by 7", "subtract 3 from 10".
fn is_spoken_operation(lower: &str) -> bool {
    let words = words(lower);
    words.iter().enumerate().any(|(i, verb)| {
        let operands = words[i + 1..]
            .iter()
            .position(|w| !matches!(w.as_str(), "of" | "up"))
            .map_or(&[][..], |k| &words[i + 1 + k..]);
        matches!(
            verb.as_str(),
            "add" | "sum" | "multiply" | "subtract" | "divide" | "average"
        ) && is_operands(operands)
    })
}

/// The words a hint stands for (a small fixed set: hints are not expanded further).
pub fn hint_terms(hint: &str) -> &'static [&'static str] {
    match hint {
        "url" => &["url", "page", "web"],
        "email" => &["email", "mail"],
        "channel" => &["channel"],
        "file" => &["file", "path"],
        "issue" => &["issue"],
        "read" => &["read", "get", "list"],
        "list" => &["list"],
        "who" => &["user", "author", "member"],
        "when" => &["date", "time", "schedule"],
        "where" => &["location", "path", "address"],
        "count" => &["count", "number", "total"],
        "math" => &["calculate", "math", "arithmetic", "expression"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_named_for_the_model() {
        assert_eq!(
            literals_named("grab the text of https://example.com/post-1 so I can summarize it"),
            "grab the text of a URL so I can summarize it"
        );
        assert_eq!(
            literals_named("show me ~/Pictures/cat.jpg and report.pdf, then mail bob@example.com"),
            "show me a file and a file, then mail an email address"
        );
        assert_eq!(
            literals_named("who is watching PAY-77 in #general"),
            "who is watching an issue in a channel"
        );
        // An address without its scheme is one; a path is a file.
        assert_eq!(
            literals_named("watch competitor.com/pricing and docs.acme.dev/guides"),
            "watch a URL and a URL"
        );
        assert_eq!(
            literals_named("lint src/app.ts, ./notes/a.md and v1.2/x"),
            "lint a file, a file and a file"
        );
        // A repository, a branch or a short path: read as written.
        assert_eq!(
            literals_named("merge feature/oauth on acme/api#12 and list src/bin"),
            "merge feature/oauth on acme/api#12 and list src/bin"
        );
        assert_eq!(
            words(&without_literals("merge feature/oauth on acme/api#12")),
            ["merge", "on"]
        );
        // Words that only look like literals stay words.
        assert_eq!(
            literals_named("set up Node.js  on it"),
            "set up Node.js on it"
        );
    }

    #[test]
    fn values_given_to_arguments_are_not_words_to_match() {
        let cut = |q: &str| words(&without_values(q)).join(" ");
        assert_eq!(
            cut("type 'yes' into the installer"),
            "type into the installer"
        );
        assert_eq!(cut("put \"buy milk\" on my list"), "put on my list");
        assert_eq!(cut("put \u{201c}buy milk\u{201d}, then go"), "put then go");
        assert_eq!(cut("make a folder called backups"), "make a folder called");
        assert_eq!(
            cut("a page titled 'Q3 plan' in Notion"),
            "a page titled in notion"
        );
        for (query, words) in [
            // What is to be told or kept is the message, not the tool.
            ("remember that the user prefers dark mode", "remember"),
            (
                "let Sarah know via Gmail that the meeting moved. Then archive it",
                "let sarah know via gmail then archive it",
            ),
            (
                "forget the fact that Alice works at Acme",
                "forget the fact",
            ),
            ("tell the whole team that we ship", "tell the whole team"),
            ("text Sam that I am late", "text sam"),
            // Who asks is no tool's user.
            (
                "the user wants Jira ticket 7 moved",
                "wants jira ticket 7 moved",
            ),
            ("User asked: export notes.md", "asked export notes md"),
            ("list the user's repos", "list the user repos"),
            ("add a user who wants access", "add a user who wants access"),
            // A noun's "that" describes it, a pointer points, and after a
            // verb of checking the clause is what to check: the words stay.
            (
                "open the record that has id 5 in the users table",
                "open the record that has id 5 in the users table",
            ),
            ("tell me about that bug", "tell me about that bug"),
            (
                "make sure that the build passes",
                "make sure that the build passes",
            ),
        ] {
            assert_eq!(cut(query), words, "{query}");
        }
        // Apostrophes inside words are no quotes.
        assert_eq!(cut("the user's notes, don't"), "the user notes");
        // A quote never closed was no quote.
        assert_eq!(
            cut("songs of the '90s about love"),
            "songs of the 90s about love"
        );
        assert_eq!(cut("say 'hi' to the '90s"), "say to the 90s");
    }

    #[test]
    fn literal_tokens_keep_only_what_names_a_tool() {
        let cut = |q: &str| words(&without_literals(q)).join(" ");
        assert_eq!(cut("mail bob@example.com the notes"), "mail the notes");
        assert_eq!(
            cut("summarize https://example.com/blog/post-1, please"),
            "summarize please"
        );
        assert_eq!(
            cut("open ~/Pictures/cat.jpg and report.pdf"),
            "open jpg and pdf"
        );
        assert_eq!(cut("move PAY-123 to done"), "move to done");
        assert_eq!(
            cut("let #deploys know"),
            "let know",
            "a channel's name is a value"
        );
        assert_eq!(cut("list files in src/bin"), "list files in");
        // A technology is a word, though written like a file name.
        assert_eq!(
            cut("run the Node.js tests with Socket.IO"),
            "run the node js tests with socket io"
        );
        assert!(hints("run the Node.js tests").is_empty());
        assert_eq!(
            words(&cut("run app.js on ASP.NET")),
            ["run", "js", "on", "asp", "net"]
        );
    }

    #[test]
    fn a_phrasal_verb_is_read_as_what_it_means() {
        let read = |q: &str| phrasal(&words(q)).join(" ");
        assert_eq!(read("pull up the orders"), "show the orders");
        assert_eq!(read("look it up"), "search it");
        assert_eq!(read("looking up prices"), "search prices");
        assert_eq!(read("let Sarah know it moved"), "notify sarah it moved");
        assert_eq!(read("turn the alarm off"), "disable the alarm");
        assert_eq!(read("give me the logs"), "get the logs");
        // A request opening with a noun's verb sense, an object after it.
        assert_eq!(read("file a bug"), "create a bug");
        assert_eq!(read("page the on-call team"), "notify the on call team");
        assert_eq!(read("log 3 hours"), "record 3 hours");
        assert_eq!(read("file contents"), "file contents");
        // "add" with two numbers as its operands sums.
        assert_eq!(read("add 2 and 3"), "sum 2 and 3");
        assert_eq!(read("add 2 users and 3 bots"), "add 2 users and 3 bots");
        assert_eq!(
            read("show the file a user sent"),
            "show the file a user sent"
        );
        // The particle too far from the verb, or another verb: words as said.
        assert_eq!(read("log errors in the file"), "log errors in the file");
        assert_eq!(
            read("pull the branch and push it up"),
            "pull the branch and push it up"
        );
        assert_eq!(read("let it be known"), "let it be known");
        assert!(PHRASAL
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
    }

    #[test]
    fn hints_from_token_shapes() {
        assert_eq!(hints("grab https://example.com/post"), ["url"]);
        assert_eq!(
            hints("mail bob@example.com the notes.txt"),
            ["email", "file"]
        );
        assert_eq!(
            hints("post in #general about PAY-123"),
            ["channel", "issue"]
        );
        assert_eq!(hints("what is in ~/projects"), ["file", "read"]);
        assert!(hints("version 1.2 of PR #42").is_empty());
        // What a question asks for, wherever it stands.
        assert_eq!(hints("who is on call"), ["read", "who"]);
        assert_eq!(hints("tell me when's the next release"), ["when"]);
        assert_eq!(
            hints("how many open issues, and where"),
            ["read", "where", "count"]
        );
        assert!(hints("whoever somewhere").is_empty());
        assert_eq!(hint_terms("when"), ["date", "time", "schedule"]);
        // A bare plural asks for a list; "status" and "news" are no plurals.
        assert_eq!(hints("incidents"), ["list"]);
        assert_eq!(hints("open tabs"), ["list"]);
        assert!(hints("git status").is_empty());
        assert!(hints("news").is_empty());
        assert!(hints("close the open tabs now").is_empty());
    }

    #[test]
    fn arithmetic_and_named_days_are_hints() {
        assert_eq!(hints("what is 17.5% of 2,340"), ["read", "math"]);
        assert_eq!(hints("12 divided by 4"), ["math"]);
        assert_eq!(hints("3 * (4 + 5)"), ["math"]);
        assert!(hints("version 1.2 of PR #42").is_empty());
        assert!(hints("resize to 375").is_empty(), "one number is a value");
        assert!(
            hints("make the viewport 375 x 812").is_empty(),
            "a size, not a product"
        );
        let math = |q: &str| hints(q).contains(&"math");
        assert!(!math("move the call to 12/05 at 3"), "a date");
        assert!(!math("text +1 415 555 0100"), "a phone number");
        assert_eq!(hints("10 - 3"), ["math"]);
        assert_eq!(hints("add 2 and 3"), ["math"]);
        assert_eq!(hints("the sum of 4 and 5"), ["math"]);
        assert_eq!(hints("multiply 6 by 7, then subtract 3 from 10"), ["math"]);
        assert!(!math("add 2 users to the team"), "one number is a value");
        assert!(!math("add 2 labels and 3 assignees"), "numbers of things");
        assert_eq!(hints("(2+3)*4"), ["math"]);
        assert_eq!(hint_terms("math")[0], "calculate");
        assert_eq!(hints("meetings tomorrow"), ["when"]);
        assert_eq!(hints("what's on today?"), ["read", "when"]);
    }

    #[test]
    fn any_text_is_read_without_a_panic() {
        // Quotes of every kind, alone and paired, multi-byte letters, digits
        // and operators, in pseudo-random strings (a fixed seed).
        let alphabet: Vec<char> =
            "a 'b\"`\u{2018}\u{2019}\u{201c}\u{201d}ñ漢😀 1+2%./@#-called up don't x"
                .chars()
                .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5_000 {
            let len = (seed >> 59) as usize;
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let values = without_values(&text);
            let literals = without_literals(&values);
            phrasal(&words(&literals));
            hints(&text);
        }
    }
}
