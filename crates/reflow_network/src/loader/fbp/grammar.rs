//! The FBP text language's grammar, rule for rule as the reference parser (npm `fbp` 1.8.0,
//! `grammar/fbp.peg`) states it, written with winnow's combinators.
//!
//! Why mirror a PEG.js grammar this closely instead of writing a tidier one: the reference
//! parser's behaviour *is* its grammar, odd corners included (a statement may end at any
//! space, `# @name x` is an annotation only when a newline follows it, an `->` never crosses
//! a line, edges are paired across statements afterwards). Two more PEG.js traits are kept on
//! purpose:
//!
//! - actions run when a rule matches, even inside an alternative that later fails (declaring
//!   a process is such an action; it is idempotent, and anonymous processes are named by
//!   their offset, as in PEG.js, so re-parsing one names it once);
//! - the error position is the furthest offset at which any character test failed, swallowed
//!   failures included (the end of every `*` loop is one), which is what PEG.js reports.
//!   The primitives here ([`Parser::lit`], [`Parser::class`], [`Parser::many`]) record every
//!   failure for that reason; winnow's `alt`, `opt` and `repeat` do the backtracking.

use indexmap::IndexMap;
use serde_json::{Map, Number, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use winnow::combinator::{alt, opt, repeat};
use winnow::Parser as _;

/// A failed rule; where and why is in [`Parser::failure`].
type PResult<T> = Result<T, ()>;

/// One end of an edge, or an IIP's data, as statements produce them before pairing.
#[derive(Debug, Clone)]
pub(super) enum Flat {
    Src(RawPort),
    Tgt(RawPort),
    Data(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawPort {
    pub process: String,
    pub port: String,
    pub index: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct RawNode {
    /// `None` when no declaration gave one (`A()` or only `A` in edges).
    pub component: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

/// What a successful parse collected, before the reference parser's checks.
#[derive(Debug, Default)]
pub(super) struct Raw {
    pub properties: Option<Map<String, Value>>,
    pub inports: IndexMap<String, (String, String)>,
    pub outports: IndexMap<String, (String, String)>,
    pub nodes: IndexMap<String, RawNode>,
    pub flats: Vec<Flat>,
}

/// A syntax error: the furthest place the parser could not go past, and what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// Byte offset into the text.
    pub offset: usize,
    /// 1-based, counting `\n` only, as PEG.js does.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub expected: Vec<String>,
    /// The character at the offset, `None` at the end of the text.
    pub found: Option<char>,
}

pub(super) struct Parser<'s> {
    text: &'s str,
    case_sensitive: bool,
    max_fail: Cell<usize>,
    expected: RefCell<Vec<String>>,
    /// Inside a named rule (PEG.js `rule "name" = ...`), failures are not recorded; the rule
    /// records its name where it started if it fails as a whole.
    silent: Cell<usize>,
    raw: RefCell<Raw>,
    default_in: RefCell<String>,
    default_out: RefCell<String>,
    anonymous_count: RefCell<HashMap<String, usize>>,
    anonymous_names: RefCell<HashMap<usize, String>>,
}

type In<'s> = &'s str;

impl<'s> Parser<'s> {
    pub fn new(text: &'s str, case_sensitive: bool) -> Self {
        Parser {
            text,
            case_sensitive,
            max_fail: Cell::new(0),
            expected: RefCell::new(Vec::new()),
            silent: Cell::new(0),
            raw: RefCell::new(Raw::default()),
            default_in: RefCell::new("IN".into()),
            default_out: RefCell::new("OUT".into()),
            anonymous_count: RefCell::new(HashMap::new()),
            anonymous_names: RefCell::new(HashMap::new()),
        }
    }

    /// `start = line*`. Returns what was read, and the syntax error if the lines did not
    /// reach the end of the text: the reference parser runs its content checks on what it
    /// read *before* it reports that error, so the caller needs both.
    pub fn parse(self) -> (Raw, Option<SyntaxError>) {
        let mut input: In<'s> = self.text;
        let _: PResult<()> = repeat(0.., |i: &mut In<'s>| self.line(i)).parse_next(&mut input);
        let error = if input.is_empty() {
            None
        } else {
            self.fail_at(self.offset(input), "end of input");
            Some(self.failure())
        };
        (self.raw.into_inner(), error)
    }

    fn failure(&self) -> SyntaxError {
        let offset = self.max_fail.get();
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let column = before[line_start..].chars().count() + 1;
        let mut expected = self.expected.borrow().clone();
        expected.sort();
        expected.dedup();
        SyntaxError { offset, line, column, expected, found: self.text[offset..].chars().next() }
    }

    // ----- primitives: every failure is recorded -----

    fn offset(&self, input: In<'s>) -> usize {
        self.text.len() - input.len()
    }

    fn fail_at(&self, offset: usize, expected: &str) {
        if self.silent.get() > 0 {
            return;
        }
        let max = self.max_fail.get();
        if offset < max {
            return;
        }
        if offset > max {
            self.max_fail.set(offset);
            self.expected.borrow_mut().clear();
        }
        self.expected.borrow_mut().push(expected.to_string());
    }

    /// A named rule: silent inside, recorded as `name` at its start when it fails.
    fn named<T>(&self, i: &mut In<'s>, name: &'static str, rule: impl FnOnce(&mut In<'s>) -> PResult<T>) -> PResult<T> {
        let start = self.offset(i);
        self.silent.set(self.silent.get() + 1);
        let result = rule(i);
        self.silent.set(self.silent.get() - 1);
        if result.is_err() {
            self.fail_at(start, name);
        }
        result
    }

    /// A literal string.
    fn lit(&self, i: &mut In<'s>, literal: &'static str) -> PResult<()> {
        match i.strip_prefix(literal) {
            Some(rest) => {
                *i = rest;
                Ok(())
            }
            None => {
                self.fail_at(self.offset(i), &format!("{literal:?}"));
                Err(())
            }
        }
    }

    /// One character of a class.
    fn class(&self, i: &mut In<'s>, test: fn(char) -> bool, what: &'static str) -> PResult<char> {
        match i.chars().next() {
            Some(c) if test(c) => {
                *i = &i[c.len_utf8()..];
                Ok(c)
            }
            _ => {
                self.fail_at(self.offset(i), what);
                Err(())
            }
        }
    }

    /// `class*` (or `class+` with `min` 1): as in PEG.js, the test that ends the loop is a
    /// recorded failure.
    fn many(&self, i: &mut In<'s>, test: fn(char) -> bool, what: &'static str, min: usize) -> PResult<&'s str> {
        let start = *i;
        let mut count = 0;
        while self.class(i, test, what).is_ok() {
            count += 1;
        }
        if count < min {
            *i = start;
            return Err(());
        }
        Ok(&start[..start.len() - i.len()])
    }

    fn lower(&self, name: &str) -> String {
        if self.case_sensitive {
            name.to_string()
        } else {
            name.to_ascii_lowercase()
        }
    }

    // ----- lines -----

    fn line(&self, i: &mut In<'s>) -> PResult<()> {
        alt((
            |i: &mut In<'s>| self.export_line(i, "INPORT="),
            |i: &mut In<'s>| self.export_line(i, "OUTPORT="),
            |i: &mut In<'s>| self.default_line(i, "DEFAULT_INPORT="),
            |i: &mut In<'s>| self.default_line(i, "DEFAULT_OUTPORT="),
            |i: &mut In<'s>| {
                let (key, value) = self.annotation(i)?;
                self.newline(i)?;
                self.register_annotation(key, value);
                Ok(())
            },
            |i: &mut In<'s>| {
                self.comment(i)?;
                let _ = opt(|i: &mut In<'s>| self.newline(i)).parse_next(i)?;
                Ok(())
            },
            |i: &mut In<'s>| {
                self.spaces(i);
                self.newline(i)
            },
            |i: &mut In<'s>| {
                self.spaces(i);
                let flats = self.connection(i)?;
                self.spaces(i);
                self.line_terminator(i);
                self.raw.borrow_mut().flats.extend(flats);
                Ok(())
            },
        ))
        .parse_next(i)
    }

    /// `_ "INPORT=" node "." portName ":" portName _ LineTerminator?` (and `OUTPORT=`).
    fn export_line(&self, i: &mut In<'s>, keyword: &'static str) -> PResult<()> {
        self.spaces(i);
        self.lit(i, keyword)?;
        let node = self.node(i)?;
        self.lit(i, ".")?;
        let port = self.port_name(i)?;
        self.lit(i, ":")?;
        let public = self.port_name(i)?;
        self.spaces(i);
        self.line_terminator(i);
        let mut raw = self.raw.borrow_mut();
        let exports = if keyword == "INPORT=" { &mut raw.inports } else { &mut raw.outports };
        exports.insert(self.lower(&public), (node, self.lower(&port)));
        Ok(())
    }

    fn default_line(&self, i: &mut In<'s>, keyword: &'static str) -> PResult<()> {
        self.spaces(i);
        self.lit(i, keyword)?;
        let name = self.port_name(i)?;
        self.spaces(i);
        self.line_terminator(i);
        let slot = if keyword == "DEFAULT_INPORT=" { &self.default_in } else { &self.default_out };
        *slot.borrow_mut() = name;
        Ok(())
    }

    fn register_annotation(&self, key: String, value: String) {
        let mut raw = self.raw.borrow_mut();
        let properties = raw.properties.get_or_insert_with(Map::new);
        if key == "runtime" {
            let mut environment = Map::new();
            environment.insert("type".into(), Value::String(value));
            properties.insert("environment".into(), Value::Object(environment));
        } else {
            properties.insert(key, Value::String(value));
        }
    }

    /// `LineTerminator? = (_ ","? comment? newline?)?`: always matches.
    fn line_terminator(&self, i: &mut In<'s>) {
        self.spaces(i);
        let _ = self.lit_opt(i, ",");
        let _: PResult<Option<()>> = opt(|i: &mut In<'s>| self.comment(i)).parse_next(i);
        let _: PResult<Option<()>> = opt(|i: &mut In<'s>| self.newline(i)).parse_next(i);
    }

    fn lit_opt(&self, i: &mut In<'s>, literal: &'static str) -> bool {
        self.lit(i, literal).is_ok()
    }

    fn newline(&self, i: &mut In<'s>) -> PResult<()> {
        self.class(i, |c| matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'), "end of line").map(drop)
    }

    /// `_ "#" anychar*`
    fn comment(&self, i: &mut In<'s>) -> PResult<()> {
        self.spaces(i);
        self.lit(i, "#")?;
        self.many(i, |c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'), "any character", 0)?;
        Ok(())
    }

    /// `"#" __ "@" key __ value`
    fn annotation(&self, i: &mut In<'s>) -> PResult<(String, String)> {
        self.lit(i, "#")?;
        self.spaces1(i)?;
        self.lit(i, "@")?;
        let key = self.many(i, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_', "an annotation name", 1)?;
        self.spaces1(i)?;
        let value =
            self.many(i, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'), "an annotation value", 1)?;
        Ok((key.to_string(), value.to_string()))
    }

    /// `_ = " "*`
    fn spaces(&self, i: &mut In<'s>) {
        let _ = self.many(i, |c| c == ' ', "\" \"", 0);
    }

    /// `__ = " "+`
    fn spaces1(&self, i: &mut In<'s>) -> PResult<()> {
        self.many(i, |c| c == ' ', "\" \"", 1).map(drop)
    }

    // ----- connections -----

    /// `source _ "->" _ connection / destination`, flattened in order.
    fn connection(&self, i: &mut In<'s>) -> PResult<Vec<Flat>> {
        alt((
            |i: &mut In<'s>| {
                let mut flats = self.source(i)?;
                self.spaces(i);
                self.lit(i, "->")?;
                self.spaces(i);
                flats.extend(self.connection(i)?);
                Ok(flats)
            },
            |i: &mut In<'s>| self.destination(i),
        ))
        .parse_next(i)
    }

    fn source(&self, i: &mut In<'s>) -> PResult<Vec<Flat>> {
        alt((
            |i: &mut In<'s>| self.bridge(i),
            |i: &mut In<'s>| {
                let process = self.node(i)?;
                let port = opt(|i: &mut In<'s>| self.space_port(i)).parse_next(i)?;
                Ok(vec![Flat::Src(self.out_port(process, port))])
            },
            |i: &mut In<'s>| Ok(vec![Flat::Data(self.iip(i)?)]),
        ))
        .parse_next(i)
    }

    fn destination(&self, i: &mut In<'s>) -> PResult<Vec<Flat>> {
        alt((
            |i: &mut In<'s>| {
                let port = opt(|i: &mut In<'s>| self.port_space(i)).parse_next(i)?;
                let process = self.node(i)?;
                Ok(vec![Flat::Tgt(self.in_port(process, port))])
            },
            |i: &mut In<'s>| self.bridge(i),
        ))
        .parse_next(i)
    }

    /// `port__ node __port / port__? nodeWithComponent __port?`: a process with an inport
    /// and an outport, in the middle of a chain.
    fn bridge(&self, i: &mut In<'s>) -> PResult<Vec<Flat>> {
        let (in_port, process, out_port) = alt((
            |i: &mut In<'s>| {
                let x = self.port_space(i)?;
                let process = self.node(i)?;
                let y = self.space_port(i)?;
                Ok((Some(x), process, Some(y)))
            },
            |i: &mut In<'s>| {
                let x = opt(|i: &mut In<'s>| self.port_space(i)).parse_next(i)?;
                let process = self.node_with_component(i)?;
                let y = opt(|i: &mut In<'s>| self.space_port(i)).parse_next(i)?;
                Ok((x, process, y))
            },
        ))
        .parse_next(i)?;
        Ok(vec![Flat::Tgt(self.in_port(process.clone(), in_port)), Flat::Src(self.out_port(process, out_port))])
    }

    fn in_port(&self, process: String, port: Option<(String, Option<usize>)>) -> RawPort {
        self.make_port(process, port, &self.default_in.borrow())
    }

    fn out_port(&self, process: String, port: Option<(String, Option<usize>)>) -> RawPort {
        self.make_port(process, port, &self.default_out.borrow())
    }

    fn make_port(&self, process: String, port: Option<(String, Option<usize>)>, default: &str) -> RawPort {
        match port {
            Some((port, index)) => RawPort { process, port, index },
            None => RawPort { process, port: self.lower(default), index: None },
        }
    }

    // ----- processes -----

    /// `nodeNameAndComponent / nodeName / nodeComponent`
    fn node(&self, i: &mut In<'s>) -> PResult<String> {
        alt((
            |i: &mut In<'s>| self.node_name_and_component(i),
            |i: &mut In<'s>| self.node_name(i),
            |i: &mut In<'s>| self.node_component(i),
        ))
        .parse_next(i)
    }

    fn node_with_component(&self, i: &mut In<'s>) -> PResult<String> {
        alt((|i: &mut In<'s>| self.node_name_and_component(i), |i: &mut In<'s>| self.node_component(i)))
            .parse_next(i)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_\-]*`
    fn node_name(&self, i: &mut In<'s>) -> PResult<String> {
        let start = *i;
        self.class(i, |c| c.is_ascii_alphabetic() || c == '_', "a process name")?;
        self.many(i, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-', "a process name", 0)?;
        Ok(start[..start.len() - i.len()].to_string())
    }

    fn node_name_and_component(&self, i: &mut In<'s>) -> PResult<String> {
        let name = self.node_name(i)?;
        let component = self.component(i)?;
        self.add_node(&name, component);
        Ok(name)
    }

    /// An anonymous process, `(Component)`, named `_Component_N` by its place in the text.
    fn node_component(&self, i: &mut In<'s>) -> PResult<String> {
        let offset = self.offset(i);
        let component = self.component(i)?;
        if let Some(name) = self.anonymous_names.borrow().get(&offset) {
            return Ok(name.clone());
        }
        // PEG.js: `comp.replace(/[^a-zA-Z0-9]+/, "_")`, the first run only.
        let base = replace_first_run(&component.0);
        let mut counts = self.anonymous_count.borrow_mut();
        let n = counts.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = format!("_{base}_{n}");
        drop(counts);
        self.anonymous_names.borrow_mut().insert(offset, name.clone());
        self.add_node(&name, component);
        Ok(name)
    }

    /// PEG.js's `addNode`: a declaration sets the component if it names one and replaces the
    /// metadata if it has any.
    fn add_node(&self, name: &str, (component, meta): (String, Option<String>)) {
        let mut raw = self.raw.borrow_mut();
        let node = raw.nodes.entry(name.to_string()).or_default();
        if !component.is_empty() {
            node.component = Some(component);
        }
        if let Some(meta) = meta {
            let mut metadata = Map::new();
            for item in meta.split(',') {
                let mut parts = item.split('=');
                let first = parts.next().unwrap_or_default();
                let (key, value) = match parts.next() {
                    Some(value) => (first, value),
                    None => ("routes", first),
                };
                let value = if key == "x" || key == "y" { js_parse_float(value) } else { Value::String(value.into()) };
                metadata.insert(key.to_string(), value);
            }
            node.metadata = Some(metadata);
        }
    }

    /// `"(" [a-zA-Z/\-0-9_]* compMeta? ")"`
    fn component(&self, i: &mut In<'s>) -> PResult<(String, Option<String>)> {
        self.lit(i, "(")?;
        let component = self.many(i, |c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'), "a component name", 0)?;
        let meta = opt(|i: &mut In<'s>| {
            self.lit(i, ":")?;
            self.many(i, |c| c.is_ascii_alphanumeric() || matches!(c, '/' | '=' | '_' | ','), "component metadata", 1)
        })
        .parse_next(i)?;
        self.lit(i, ")")?;
        Ok((component.to_string(), meta.map(str::to_string)))
    }

    // ----- ports -----

    /// `portName portIndex?`, the name lowercased unless case-sensitive.
    fn port(&self, i: &mut In<'s>) -> PResult<(String, Option<usize>)> {
        let name = self.port_name(i)?;
        let index = opt(|i: &mut In<'s>| {
            self.lit(i, "[")?;
            let digits = self.many(i, |c| c.is_ascii_digit(), "a digit", 1)?;
            self.lit(i, "]")?;
            Ok(digits)
        })
        .parse_next(i)?;
        // More digits than a usize holds cannot address a slot; treat as no match.
        let index = match index {
            Some(digits) => Some(digits.parse::<usize>().map_err(|_| ())?),
            None => None,
        };
        Ok((self.lower(&name), index))
    }

    fn port_space(&self, i: &mut In<'s>) -> PResult<(String, Option<usize>)> {
        let port = self.port(i)?;
        self.spaces1(i)?;
        Ok(port)
    }

    fn space_port(&self, i: &mut In<'s>) -> PResult<(String, Option<usize>)> {
        self.spaces1(i)?;
        self.port(i)
    }

    /// `[a-zA-Z_][a-zA-Z.0-9_]*`
    fn port_name(&self, i: &mut In<'s>) -> PResult<String> {
        let start = *i;
        self.class(i, |c| c.is_ascii_alphabetic() || c == '_', "a port name")?;
        self.many(i, |c| c.is_ascii_alphanumeric() || c == '_' || c == '.', "a port name", 0)?;
        Ok(start[..start.len() - i.len()].to_string())
    }

    // ----- initial packets -----

    /// `"'" iipchar* "'" / JSON_text`; `\'` in the quoted form is a quote.
    fn iip(&self, i: &mut In<'s>) -> PResult<Value> {
        alt((
            |i: &mut In<'s>| {
                self.lit(i, "'")?;
                let mut data = String::new();
                loop {
                    // `[\\][']`, two tests, then `[^']`.
                    let checkpoint = *i;
                    if self.class(i, |c| c == '\\', "\"\\\\\"").is_ok() {
                        if self.class(i, |c| c == '\'', "\"'\"").is_ok() {
                            data.push('\'');
                            continue;
                        }
                        *i = checkpoint;
                    }
                    if let Ok(c) = self.class(i, |c| c != '\'', "any character but \"'\"") {
                        data.push(c);
                    } else {
                        break;
                    }
                }
                self.lit(i, "'")?;
                Ok(Value::String(data))
            },
            |i: &mut In<'s>| {
                self.ws(i);
                let value = self.json_value(i)?;
                self.ws(i);
                Ok(value)
            },
        ))
        .parse_next(i)
    }

    /// `ws "whitespace" = [ \t\n\r]*`: a named rule, so its end is not a recorded failure.
    fn ws(&self, i: &mut In<'s>) {
        let _ = self.named(i, "whitespace", |i| self.many(i, |c| matches!(c, ' ' | '\t' | '\n' | '\r'), "whitespace", 0));
    }

    fn json_value(&self, i: &mut In<'s>) -> PResult<Value> {
        alt((
            |i: &mut In<'s>| self.lit(i, "false").map(|()| Value::Bool(false)),
            |i: &mut In<'s>| self.lit(i, "null").map(|()| Value::Null),
            |i: &mut In<'s>| self.lit(i, "true").map(|()| Value::Bool(true)),
            |i: &mut In<'s>| self.json_object(i),
            |i: &mut In<'s>| self.json_array(i),
            |i: &mut In<'s>| self.json_number(i),
            |i: &mut In<'s>| self.json_string(i).map(Value::String),
        ))
        .parse_next(i)
    }

    /// `ws literal ws`, JSON's structural characters.
    fn structural(&self, i: &mut In<'s>, literal: &'static str) -> PResult<()> {
        self.ws(i);
        self.lit(i, literal)?;
        self.ws(i);
        Ok(())
    }

    fn json_object(&self, i: &mut In<'s>) -> PResult<Value> {
        self.structural(i, "{")?;
        let mut object = Map::new();
        let members = opt(|i: &mut In<'s>| {
            let mut members = vec![self.json_member(i)?];
            let tail: Vec<(String, Value)> = repeat(0.., |i: &mut In<'s>| {
                self.structural(i, ",")?;
                self.json_member(i)
            })
            .parse_next(i)?;
            members.extend(tail);
            Ok(members)
        })
        .parse_next(i)?;
        for (key, value) in members.into_iter().flatten() {
            object.insert(key, value);
        }
        self.structural(i, "}")?;
        Ok(Value::Object(object))
    }

    fn json_member(&self, i: &mut In<'s>) -> PResult<(String, Value)> {
        let key = self.json_string(i)?;
        self.structural(i, ":")?;
        Ok((key, self.json_value(i)?))
    }

    fn json_array(&self, i: &mut In<'s>) -> PResult<Value> {
        self.structural(i, "[")?;
        let values = opt(|i: &mut In<'s>| {
            let mut values = vec![self.json_value(i)?];
            let tail: Vec<Value> = repeat(0.., |i: &mut In<'s>| {
                self.structural(i, ",")?;
                self.json_value(i)
            })
            .parse_next(i)?;
            values.extend(tail);
            Ok(values)
        })
        .parse_next(i)?;
        self.structural(i, "]")?;
        Ok(Value::Array(values.unwrap_or_default()))
    }

    /// `minus? int frac? exp?`, read as JavaScript's `parseFloat` does.
    fn json_number(&self, i: &mut In<'s>) -> PResult<Value> {
        self.named(i, "number", |i| self.json_number_inner(i))
    }

    fn json_number_inner(&self, i: &mut In<'s>) -> PResult<Value> {
        let start = *i;
        let digit = |c: char| c.is_ascii_digit();
        let _ = self.lit_opt(i, "-");
        if self.lit(i, "0").is_err() {
            self.class(i, |c| ('1'..='9').contains(&c), "a digit")?;
            self.many(i, digit, "a digit", 0)?;
        }
        let _: PResult<Option<()>> = opt(|i: &mut In<'s>| {
            self.lit(i, ".")?;
            self.many(i, digit, "a digit", 1).map(drop)
        })
        .parse_next(i);
        let _: PResult<Option<()>> = opt(|i: &mut In<'s>| {
            self.class(i, |c| c == 'e' || c == 'E', "\"e\"")?;
            let _ = alt((|i: &mut In<'s>| self.lit(i, "-"), |i: &mut In<'s>| self.lit(i, "+"))).parse_next(i).is_ok();
            self.many(i, digit, "a digit", 1).map(drop)
        })
        .parse_next(i);
        Ok(js_parse_float(&start[..start.len() - i.len()]))
    }

    /// `string "string"`: a named rule.
    fn json_string(&self, i: &mut In<'s>) -> PResult<String> {
        self.named(i, "string", |i| self.json_string_inner(i))
    }

    fn json_string_inner(&self, i: &mut In<'s>) -> PResult<String> {
        self.lit(i, "\"")?;
        let mut units: Vec<u16> = Vec::new();
        loop {
            if let Ok(c) = self.class(i, |c| !matches!(c, '\0'..='\x1F' | '"' | '\\'), "a string character") {
                let mut buf = [0u16; 2];
                units.extend_from_slice(c.encode_utf16(&mut buf));
                continue;
            }
            let checkpoint = *i;
            if self.lit(i, "\\").is_err() {
                break;
            }
            let escaped = alt((
                |i: &mut In<'s>| self.lit(i, "\"").map(|()| '"' as u16),
                |i: &mut In<'s>| self.lit(i, "\\").map(|()| '\\' as u16),
                |i: &mut In<'s>| self.lit(i, "/").map(|()| '/' as u16),
                |i: &mut In<'s>| self.lit(i, "b").map(|()| 0x08),
                |i: &mut In<'s>| self.lit(i, "f").map(|()| 0x0C),
                |i: &mut In<'s>| self.lit(i, "n").map(|()| '\n' as u16),
                |i: &mut In<'s>| self.lit(i, "r").map(|()| '\r' as u16),
                |i: &mut In<'s>| self.lit(i, "t").map(|()| '\t' as u16),
                |i: &mut In<'s>| {
                    self.lit(i, "u")?;
                    let mut code = 0u16;
                    for _ in 0..4 {
                        let c = self.class(i, |c| c.is_ascii_hexdigit(), "a hexadecimal digit")?;
                        code = code * 16 + c.to_digit(16).expect("a hex digit") as u16;
                    }
                    Ok(code)
                },
            ))
            .parse_next(i);
            match escaped {
                Ok(unit) => units.push(unit),
                Err(()) => {
                    *i = checkpoint;
                    break;
                }
            }
        }
        self.lit(i, "\"")?;
        // JavaScript strings may hold lone surrogates; Rust's may not.
        Ok(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
    }
}

/// JavaScript's `s.replace(/[^a-zA-Z0-9]+/, "_")`: the first run of other characters only.
fn replace_first_run(s: &str) -> String {
    let other = |c: char| !c.is_ascii_alphanumeric();
    match s.find(other) {
        None => s.to_string(),
        Some(start) => {
            let end = s[start..].find(|c: char| !other(c)).map_or(s.len(), |n| start + n);
            format!("{}_{}", &s[..start], &s[end..])
        }
    }
}

/// JavaScript's `parseFloat` of a decimal literal, as a JSON value: whole numbers become
/// integers (so `5` stays `5`), what JavaScript would serialize as `null` (`NaN`,
/// infinities) becomes `null`.
fn js_parse_float(text: &str) -> Value {
    let text = text.trim_start();
    // parseFloat reads the longest prefix that is a number; the grammar hands it whole
    // literals, except for metadata like `x=12px`.
    let mut end = 0;
    let bytes = text.as_bytes();
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut seen_exp = false;
    while end < bytes.len() {
        let b = bytes[end];
        match b {
            b'0'..=b'9' => seen_digit = true,
            b'-' | b'+' if end == 0 || matches!(bytes[end - 1], b'e' | b'E') => {}
            b'.' if !seen_dot && !seen_exp => seen_dot = true,
            b'e' | b'E' if seen_digit && !seen_exp => {
                // Only an exponent if digits follow.
                let rest = &text[end + 1..];
                let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
                if !rest.starts_with(|c: char| c.is_ascii_digit()) {
                    break;
                }
                seen_exp = true;
            }
            _ => break,
        }
        end += 1;
    }
    let Ok(number) = text[..end].parse::<f64>() else {
        return Value::Null;
    };
    if !number.is_finite() {
        return Value::Null;
    }
    if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
        // -0 serializes as 0 in JavaScript too.
        return Value::Number(Number::from(number as i64));
    }
    Number::from_f64(number).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_float_follows_javascript() {
        assert_eq!(js_parse_float("12"), Value::from(12));
        assert_eq!(js_parse_float("-0"), Value::from(0));
        assert_eq!(js_parse_float("1.5e2"), Value::from(150));
        assert_eq!(js_parse_float("0.25"), Value::from(0.25));
        assert_eq!(js_parse_float("12px"), Value::from(12));
        assert_eq!(js_parse_float("abc"), Value::Null);
        assert_eq!(js_parse_float("1e999"), Value::Null);
    }

    #[test]
    fn anonymous_names_replace_the_first_run_only() {
        assert_eq!(replace_first_run("core/Output"), "core_Output");
        assert_eq!(replace_first_run("a/b/c"), "a_b/c");
        assert_eq!(replace_first_run("a--/b"), "a_b");
        assert_eq!(replace_first_run("plain"), "plain");
    }
}
