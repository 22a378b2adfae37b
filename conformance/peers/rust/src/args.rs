//! A small command-line parser with the conventions of Go's `flag` package, so that both peers
//! accept the same spellings: `-name value`, `--name value`, `-name=value`, `--name=value`;
//! boolean flags take no separate value (`--list`, `--list=true`); parsing stops at `--` or at
//! the first argument that is not a flag; `-h`/`--help` asks for the usage text.

use std::collections::HashMap;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Takes a value; the last one given wins.
    Value,
    /// Takes a value; every occurrence is kept.
    Repeated,
    /// Takes no separate value.
    Bool,
}

pub enum Parsed {
    Help,
    Flags(Flags),
}

#[derive(Default)]
pub struct Flags {
    values: HashMap<&'static str, Vec<String>>,
    pub rest: Vec<String>,
}

impl Flags {
    /// The last value given for a flag, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(|s| s.as_str())
    }

    /// Every value given for a flag, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(|v| v.as_slice()).unwrap_or(&[])
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

/// Parses `args` against the flag table `spec`. Errors read like Go's.
pub fn parse(args: &[String], spec: &[(&'static str, Kind)]) -> Result<Parsed, String> {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            flags.rest.extend_from_slice(&args[i + 1..]);
            break;
        }
        if arg.len() < 2 || !arg.starts_with('-') {
            flags.rest.extend_from_slice(&args[i..]);
            break;
        }
        let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax: {}", arg));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        if name == "h" || name == "help" {
            return Ok(Parsed::Help);
        }
        let Some(&(key, kind)) = spec.iter().find(|(n, _)| *n == name) else {
            return Err(format!("flag provided but not defined: -{}", name));
        };
        let value = match (kind, inline) {
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Bool, Some(v)) => match v.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => "true".to_string(),
                "0" | "f" | "F" | "false" | "FALSE" | "False" => "false".to_string(),
                _ => return Err(format!("invalid boolean value {:?} for -{}", v, name)),
            },
            (_, Some(v)) => v,
            (_, None) => {
                i += 1;
                match args.get(i) {
                    Some(v) => v.clone(),
                    None => return Err(format!("flag needs an argument: -{}", name)),
                }
            }
        };
        let slot = flags.values.entry(key).or_default();
        if kind != Kind::Repeated {
            slot.clear();
        }
        slot.push(value);
        i += 1;
    }
    Ok(Parsed::Flags(flags))
}
