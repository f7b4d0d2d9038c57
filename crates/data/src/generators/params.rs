//! Typed generator parameters (issue 17).
//!
//! Each kind reads its skill's `params` object into a struct of its own, declared next to the
//! kind's function with `params!`: `#[serde(default, deny_unknown_fields)]`, with a
//! `Default` impl built from the default written beside each field. A misspelt key is
//! therefore an error that names the key (and, from the catalog loader, the skill file and
//! line) instead of a default used in silence. The kind tables of the domain modules are
//! written with `kinds!`, which pairs each function with its parameter struct, so the struct
//! a skill is checked against at load time is the one the function receives.
//!
//! ```text
//! params! {
//!     /// Parameters of `my_kind`.
//!     struct MyKindParams {
//!         /// Fewest items (at least 2).
//!         min_items: i64 = 3,
//!         /// Names drawn from.
//!         names: NonEmpty<String> = words(&["Ada", "Bo"]),
//!     }
//! }
//! pub(crate) const KINDS: &[Kind] = kinds!["my_kind" => my_kind(MyKindParams)];
//! ```

use std::fmt;
use std::ops::Deref;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// Why a skill's `params` do not fit its kind's parameter struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError {
    /// The key to blame where one is: an unknown (misspelt) key, or one whose value has the
    /// wrong type. `None` when only the object as a whole is wrong (a required key missing).
    pub key: Option<String>,
    /// What is wrong, in serde's words (`unknown field `high_user`, expected one of ...`).
    pub message: String,
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "parameter {key:?}: {}", self.message),
            None => write!(f, "parameters: {}", self.message),
        }
    }
}

/// Reads `params` into `P`, naming the key to blame on failure.
pub(crate) fn parse<P: DeserializeOwned>(params: &Map<String, Value>) -> Result<P, ParamsError> {
    P::deserialize(params).map_err(|e| ParamsError {
        // Every key of a parameter struct has a default (the `fixed` kind's one key aside), so
        // an object of one key fails on its own only when that key is unknown or ill-typed.
        key: params
            .iter()
            .find(|(k, v)| P::deserialize(&Map::from_iter([((*k).clone(), (*v).clone())])).is_err())
            .map(|(k, _)| k.clone()),
        message: e.to_string(),
    })
}

/// The parameter struct of kinds that take no parameters: any key is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

/// A list parameter that must not be empty (generators pick from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NonEmpty<T>(Vec<T>);

impl<T> Deref for NonEmpty<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(deserializer)?;
        if items.is_empty() {
            return Err(D::Error::invalid_length(0, &"a non-empty list"));
        }
        Ok(NonEmpty(items))
    }
}

/// A default word list.
pub(crate) fn words(items: &[&str]) -> NonEmpty<String> {
    NonEmpty(items.iter().map(|s| s.to_string()).collect())
}

/// A default list of other values.
pub(crate) fn list<T: Clone>(items: &[T]) -> NonEmpty<T> {
    NonEmpty(items.to_vec())
}

/// Declares a kind's parameter struct: every field with its default, `#[serde(default,
/// deny_unknown_fields)]`, and the `Default` impl those defaults make.
macro_rules! params {
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty = $default:expr),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        struct $name {
            $($(#[$field_meta])* $field: $ty),*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default),* }
            }
        }
    };
}
pub(crate) use params;

/// A module's table of kinds: `kinds!["name" => function(Params), ...]`, where each function
/// is `fn(&mut Gen, &Params) -> Result<Generated>` and `Params` its parameter struct.
macro_rules! kinds {
    ($($name:literal => $run:ident($params:ty)),* $(,)?) => {
        &[$($crate::generators::Kind {
            name: $name,
            check: |params| $crate::generators::params::parse::<$params>(params).map(drop),
            run: |g| {
                let params = g.params::<$params>()?;
                $run(g, &params)
            },
        }),*]
    };
}
pub(crate) use kinds;

#[cfg(test)]
mod tests {
    use super::*;

    params! {
        struct Demo {
            max_days: i64 = 40,
            names: NonEmpty<String> = words(&["a", "b"]),
        }
    }

    fn parse_json(text: &str) -> Result<Demo, ParamsError> {
        parse(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn defaults_fill_missing_keys() {
        assert_eq!(parse_json("{}").unwrap(), Demo::default());
        assert_eq!(parse_json(r#"{"max_days": 7}"#).unwrap().max_days, 7);
    }

    #[test]
    fn the_bad_key_is_named() {
        let e = parse_json(r#"{"max_days": 7, "max_dayz": 8}"#).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("max_dayz"));
        assert_eq!(e.to_string(), "parameter \"max_dayz\": unknown field `max_dayz`, expected `max_days` or `names`");
        let e = parse_json(r#"{"names": ["x"], "max_days": "7"}"#).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("max_days"));
        assert!(e.message.contains("expected i64"), "{e}");
        let e = parse_json(r#"{"names": []}"#).unwrap_err();
        assert_eq!(
            (e.key.as_deref(), e.message.as_str()),
            (Some("names"), "invalid length 0, expected a non-empty list")
        );
        assert!(parse::<NoParams>(&Map::new()).is_ok());
        assert_eq!(
            parse::<NoParams>(&serde_json::from_str(r#"{"x": 1}"#).unwrap()).unwrap_err().key.as_deref(),
            Some("x")
        );
    }
}
