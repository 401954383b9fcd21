//! A small, strict XML tree for ISO 20022 files: no DOCTYPE, no entities
//! beyond the five predefined ones and character references, bounded depth
//! and element count, namespaces reduced to local names. Elements remember
//! their path (`Stmt[1]/Ntry[3]/Amt`) so an error can name what failed.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::BankError;
use crate::statement::{check_size, clip};

/// Deeper nesting than any ISO 20022 message needs.
const MAX_DEPTH: usize = 48;
/// More elements than a file under the byte limit holds in practice.
const MAX_ELEMENTS: usize = 500_000;

#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub path: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follows a `/`-separated path of first children.
    pub fn at(&self, path: &str) -> Option<&Element> {
        path.split('/').try_fold(self, |e, name| e.child(name))
    }

    /// Trimmed text at a path, if present and non-empty.
    pub fn text_at(&self, path: &str) -> Option<String> {
        self.at(path).map(|e| e.text.trim().to_owned()).filter(|t| !t.is_empty())
    }

    /// Text at a path, or a `malformed_file` error naming the element.
    pub fn require(&self, path: &str, format: &'static str) -> Result<String, BankError> {
        self.text_at(path).ok_or_else(|| BankError::malformed(format, format!("{}/{path}", self.path), "missing"))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => s.into_owned(),
    }
}

fn start(e: &BytesStart<'_>, parent_path: &str, siblings: usize, format: &'static str) -> Result<Element, BankError> {
    let name = local(e.name().as_ref());
    let path = if parent_path.is_empty() { name.clone() } else { format!("{parent_path}/{name}[{}]", siblings + 1) };
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| BankError::malformed(format, &path, format!("attribute: {err}")))?;
        let key = local(a.key.as_ref());
        let value = a.unescape_value().map_err(|err| entity_or_malformed(format, &path, &err.to_string()))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element { name, path, attrs, ..Element::default() })
}

fn entity_or_malformed(format: &'static str, at: &str, message: &str) -> BankError {
    if message.contains("entity") || message.contains("Entity") {
        BankError::XmlEntity(format!("{at}: {}", clip(message, 120)))
    } else {
        BankError::malformed(format, at, clip(message, 200))
    }
}

/// Parses a whole document into its root element, or refuses it whole.
pub fn parse(bytes: &[u8], format: &'static str) -> Result<Element, BankError> {
    check_size(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        BankError::malformed(format, format!("byte {}", e.valid_up_to()), "not UTF-8 (ISO 20022 files are UTF-8)")
    })?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position();
        let event =
            reader.read_event().map_err(|e| entity_or_malformed(format, &line_at(text, before), &e.to_string()))?;
        let pos = reader.buffer_position();
        let at = || line_at(text, pos);
        match event {
            Event::DocType(_) => return Err(BankError::XmlEntity(format!("{}: DOCTYPE", at()))),
            Event::Start(e) | Event::Empty(e) if stack.len() > MAX_DEPTH => {
                return Err(BankError::malformed(
                    format,
                    at(),
                    format!("nesting deeper than {MAX_DEPTH} at {:?}", local(e.name().as_ref())),
                ))
            }
            Event::Start(e) => {
                count += 1;
                let parent = stack
                    .last()
                    .map(|p| (p.path.clone(), p.children.iter().filter(|c| c.name == local(e.name().as_ref())).count()))
                    .unwrap_or_default();
                stack.push(start(&e, &parent.0, parent.1, format)?);
            }
            Event::Empty(e) => {
                count += 1;
                let parent = stack.last_mut().ok_or_else(|| BankError::malformed(format, at(), "unbalanced"))?;
                let siblings = parent.children.iter().filter(|c| c.name == local(e.name().as_ref())).count();
                let el = start(&e, &parent.path, siblings, format)?;
                parent.children.push(el);
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| BankError::malformed(format, at(), "unbalanced end tag"))?;
                let parent =
                    stack.last_mut().ok_or_else(|| BankError::malformed(format, at(), "unbalanced end tag"))?;
                parent.children.push(done);
            }
            Event::Text(t) => {
                push_text(&mut stack, &t.decode().map_err(|e| BankError::malformed(format, at(), e.to_string()))?)
            }
            Event::CData(t) => push_text(&mut stack, &String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch,
                    Ok(None) => predefined(&r.decode().unwrap_or_default()).ok_or_else(|| {
                        BankError::XmlEntity(format!("{}: &{};", at(), clip(&r.decode().unwrap_or_default(), 40)))
                    })?,
                    Err(e) => return Err(BankError::malformed(format, at(), e.to_string())),
                };
                push_text(&mut stack, &resolved.to_string());
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
        if count > MAX_ELEMENTS {
            return Err(BankError::malformed(format, at(), format!("more than {MAX_ELEMENTS} elements")));
        }
    }
    let mut doc = stack
        .pop()
        .filter(|_| stack.is_empty())
        .ok_or_else(|| BankError::malformed(format, "end of file", "truncated: elements left open"))?;
    match doc.children.len() {
        1 => Ok(doc.children.remove(0)),
        0 => Err(BankError::malformed(format, "end of file", "no root element")),
        _ => Err(BankError::malformed(format, "end of file", "more than one root element")),
    }
}

fn predefined(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        if top.text.len() < 4 * crate::statement::MAX_TEXT_CHARS {
            top.text.push_str(text);
        }
    }
}

fn line_at(text: &str, pos: u64) -> String {
    let end = usize::try_from(pos).unwrap_or(usize::MAX).min(text.len());
    let line = text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1;
    format!("line {line}")
}

/// The `xmlns` of the root (`urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`).
pub fn namespace(root: &Element) -> &str {
    root.attrs.iter().find(|(k, _)| k == "xmlns").map(|(_, v)| v.as_str()).unwrap_or("")
}
