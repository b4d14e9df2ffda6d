//! `--key value` and `--flag` arguments, parsed by hand.

use std::collections::HashMap;
use std::str::FromStr;

use crate::Res;

/// Parsed options of one command.
#[derive(Debug, Clone, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Parses `--key value` pairs; a `--key` followed by another option or
    /// nothing is a flag (`true`).
    pub fn parse(argv: &[String]) -> Res<Self> {
        let mut values = HashMap::new();
        let mut i = 0;
        while i < argv.len() {
            let Some(key) = argv[i].strip_prefix("--") else {
                return Err(format!("unexpected argument `{}`", argv[i]).into());
            };
            match argv.get(i + 1) {
                Some(v) if !v.starts_with("--") => {
                    values.insert(key.to_string(), v.clone());
                    i += 2;
                }
                _ => {
                    values.insert(key.to_string(), "true".to_string());
                    i += 1;
                }
            }
        }
        Ok(Self { values })
    }

    /// A string option.
    pub fn str(&self, key: &str, default: &str) -> String {
        self.values
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// A required string option.
    pub fn required(&self, key: &str) -> Res<String> {
        self.values
            .get(key)
            .cloned()
            .ok_or_else(|| format!("missing --{key}").into())
    }

    /// A parsed option with a default.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> Res<T> {
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: cannot read `{v}`").into()),
        }
    }

    /// Whether a flag was given.
    pub fn flag(&self, key: &str) -> bool {
        self.values.get(key).is_some_and(|v| v != "false")
    }
}
