//! Integers in JSON bodies. JSON has one number type, and JSON Schema
//! (which the OpenAPI document speaks) counts `5.0` as the integer 5; so
//! does every integer field here: a number with no fractional part is
//! taken, one with a fraction (or out of range) is refused naming the
//! value. Use with `#[serde(deserialize_with = "…")]`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

struct IntegerVisitor<T>(std::marker::PhantomData<T>);

impl<T: TryFrom<i64>> IntegerVisitor<T> {
    fn fit<E: de::Error>(n: i64) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }
}

impl<'de, T: TryFrom<i64>> Visitor<'de> for IntegerVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        Self::fit(n)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        let n = i64::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))?;
        Self::fit(n)
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<T, E> {
        // Past 2^53 a float no longer holds every integer: such a number
        // (or one written beyond i64, which JSON readers turn into a float)
        // is not taken as any particular integer.
        const LIMIT: f64 = 9_007_199_254_740_992.0;
        if x.fract() != 0.0 || !x.is_finite() {
            return Err(E::custom(format!("{x} is not an integer")));
        }
        if !(-LIMIT..=LIMIT).contains(&x) {
            return Err(E::custom(format!("{x} is out of range")));
        }
        #[allow(clippy::cast_possible_truncation)]
        Self::fit(x as i64)
    }
}

/// An integer, written `5` or `5.0`.
pub fn integer<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(IntegerVisitor(std::marker::PhantomData))
}

struct OptionalVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: TryFrom<i64>> Visitor<'de> for OptionalVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        integer(d).map(Some)
    }
}

/// An optional integer: absent or `null` is `None` (with `#[serde(default)]`).
pub fn optional_integer<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    d.deserialize_option(OptionalVisitor(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Fields {
        #[serde(deserialize_with = "super::integer")]
        count: i32,
        #[serde(default, deserialize_with = "super::optional_integer")]
        at: Option<i64>,
    }

    fn parse(json: &str) -> Result<Fields, String> {
        serde_json::from_str::<Fields>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_are_integers_however_written() {
        let f = parse(r#"{"count": 3, "at": 1700000000000}"#).unwrap();
        assert_eq!((f.count, f.at), (3, Some(1_700_000_000_000)));
        let f = parse(r#"{"count": 3.0, "at": -5.0}"#).unwrap();
        assert_eq!((f.count, f.at), (3, Some(-5)));
        let f = parse(r#"{"count": -0.0, "at": null}"#).unwrap();
        assert_eq!((f.count, f.at), (0, None));
        assert_eq!(parse(r#"{"count": 1e3}"#).unwrap().count, 1000);
        assert_eq!(parse(r#"{"count": 1}"#).unwrap().at, None);
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        assert!(parse(r#"{"count": 2.5}"#)
            .unwrap_err()
            .contains("2.5 is not an integer"));
        assert!(parse(r#"{"count": 3000000000}"#)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse(r#"{"count": 1, "at": 1e300}"#)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse(r#"{"count": 1, "at": 9223372036854775808}"#).is_err());
        assert!(parse(r#"{"count": 1, "at": -9223372036854775809}"#)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse(r#"{"count": 1, "at": 1e17}"#)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse(r#"{"count": "3"}"#)
            .unwrap_err()
            .contains("an integer"));
    }
}
