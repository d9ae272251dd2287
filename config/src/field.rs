//! One `key = value` of a file and its conversion to Rust types, with errors that name
//! the file, line and key, the type expected and the type found.

use crate::error::{ConfigError, Location};
use toml::Value;

/// One `key = value` of the file, for type conversion with located errors.
pub(crate) struct Field<'a> {
    pub key: &'a str,
    pub value: &'a Value,
    pub location: Location,
}

impl Field<'_> {
    fn wrong_type(&self, expected: &'static str) -> ConfigError {
        ConfigError::WrongType {
            location: self.location.clone(),
            key: self.key.to_string(),
            expected,
            found: type_name(self.value),
        }
    }

    pub fn invalid(&self, problem: String, fix: &str) -> ConfigError {
        ConfigError::InvalidValue {
            location: self.location.clone(),
            key: self.key.to_string(),
            problem,
            fix: fix.to_string(),
        }
    }

    pub fn boolean(&self) -> Result<bool, ConfigError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong_type("a boolean (true or false)"))
    }

    pub fn string(&self) -> Result<String, ConfigError> {
        self.value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong_type("a string in double quotes"))
    }

    pub fn integer(&self) -> Result<i64, ConfigError> {
        self.value
            .as_integer()
            .ok_or_else(|| self.wrong_type("an integer"))
    }

    pub fn unsigned(&self) -> Result<u64, ConfigError> {
        let n = self
            .value
            .as_integer()
            .ok_or_else(|| self.wrong_type("a non-negative integer"))?;
        u64::try_from(n)
            .map_err(|_| self.invalid(format!("{n} is negative"), "use 0 or a positive integer"))
    }

    pub fn string_list(&self) -> Result<Vec<String>, ConfigError> {
        let expected = "a list of strings, e.g. [\"a\", \"b\"]";
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong_type(expected))?;
        items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                let found = items
                    .iter()
                    .find(|v| !v.is_str())
                    .map(type_name)
                    .unwrap_or("something else");
                ConfigError::WrongType {
                    location: self.location.clone(),
                    key: self.key.to_string(),
                    expected,
                    found: list_of(found),
                }
            })
    }

    /// A string or a list of strings (`security_driver`).
    pub fn string_or_list(&self) -> Result<Result<String, Vec<String>>, ConfigError> {
        let expected = "a string or a list of strings";
        match self.value {
            Value::String(s) => Ok(Ok(s.clone())),
            Value::Array(_) => self
                .string_list()
                .map_err(|_| self.wrong_type_list(expected))
                .map(Err),
            _ => Err(self.wrong_type(expected)),
        }
    }

    fn wrong_type_list(&self, expected: &'static str) -> ConfigError {
        let found = self
            .value
            .as_array()
            .and_then(|a| a.iter().find(|v| !v.is_str()))
            .map(|v| list_of(type_name(v)))
            .unwrap_or("something else");
        ConfigError::WrongType {
            location: self.location.clone(),
            key: self.key.to_string(),
            expected,
            found,
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn list_of(item: &'static str) -> &'static str {
    match item {
        "an integer" => "a list containing an integer",
        "a float" => "a list containing a float",
        "a boolean" => "a list containing a boolean",
        "a date-time" => "a list containing a date-time",
        "a list" => "a list containing a list",
        "a table" => "a list containing a table",
        _ => "a list containing something else",
    }
}
