//! Paging and ordering of lists.

use crate::error::DomainError;

/// Largest page.
pub const MAX_PAGE_SIZE: i64 = 100;

/// The highest page number asked for.
pub const MAX_PAGE: i64 = 1_000_000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: i64,
    /// Items per page, 1 to 100.
    pub page_size: i64,
}

impl Page {
    /// Validates `page` (≥ 1) and `page_size` (1 to 100), with defaults.
    pub fn new(
        page: Option<i64>,
        page_size: Option<i64>,
        default_size: i64,
    ) -> Result<Self, DomainError> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(default_size);
        if page < 1 {
            return Err(DomainError::Validation(format!(
                "page must be at least 1, got {page}"
            )));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(DomainError::Validation(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
            )));
        }
        if page.checked_mul(page_size).is_none() || page > MAX_PAGE {
            return Err(DomainError::Validation(format!(
                "page {page} is out of range"
            )));
        }
        Ok(Self { page, page_size })
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.page_size
    }
}

/// Sort direction by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

impl Order {
    /// Parses `asc` or `desc`, with a default.
    pub fn parse(s: Option<&str>, default: Order) -> Result<Self, DomainError> {
        match s {
            None => Ok(default),
            Some("asc") => Ok(Order::Asc),
            Some("desc") => Ok(Order::Desc),
            Some(other) => Err(DomainError::Validation(format!(
                "order must be `asc` or `desc`, got `{other}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded() {
        assert_eq!(
            Page::new(None, None, 20).unwrap(),
            Page {
                page: 1,
                page_size: 20
            }
        );
        assert_eq!(Page::new(Some(3), Some(50), 20).unwrap().offset(), 100);
        for size in [0, -1, 101, 100_000] {
            assert!(Page::new(None, Some(size), 20).is_err(), "{size}");
        }
        assert!(Page::new(Some(0), None, 20).is_err());
        assert!(Page::new(Some(-5), None, 20).is_err());
        assert!(Page::new(Some(i64::MAX), Some(100), 20).is_err());
    }

    #[test]
    fn orders_parse() {
        assert_eq!(Order::parse(None, Order::Desc).unwrap(), Order::Desc);
        assert_eq!(Order::parse(Some("asc"), Order::Desc).unwrap(), Order::Asc);
        assert!(Order::parse(Some("up"), Order::Desc).is_err());
    }
}
