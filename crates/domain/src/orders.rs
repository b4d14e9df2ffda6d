//! Orders shown in the "历史订单" panel and sent as order cards.

use crate::error::DomainError;

/// The statuses an order may have.
pub const ORDER_STATUSES: [&str; 6] = [
    "pending",
    "paid",
    "shipped",
    "completed",
    "cancelled",
    "refunded",
];

/// Checks an order's fields.
pub fn validate_order(
    order_no: &str,
    title: &str,
    amount_cents: i64,
    product_count: i64,
    status: &str,
) -> Result<(), DomainError> {
    if order_no.is_empty()
        || order_no.len() > 64
        || !order_no
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(DomainError::Validation(
            "order_no must be 1 to 64 ASCII letters, digits, `-` or `_`".into(),
        ));
    }
    let title_len = title.trim().chars().count();
    if title_len == 0 || title_len > 200 {
        return Err(DomainError::Validation(
            "title must be 1 to 200 characters".into(),
        ));
    }
    if amount_cents < 0 {
        return Err(DomainError::Validation(
            "amount_cents must not be negative".into(),
        ));
    }
    if product_count < 1 {
        return Err(DomainError::Validation(
            "product_count must be at least 1".into(),
        ));
    }
    if !ORDER_STATUSES.contains(&status) {
        return Err(DomainError::Validation(format!(
            "status must be one of {}",
            ORDER_STATUSES.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_checked() {
        assert!(validate_order("SO-1", "维生素C", 1999, 2, "paid").is_ok());
        assert!(validate_order("", "t", 1, 1, "paid").is_err());
        assert!(validate_order("a/b", "t", 1, 1, "paid").is_err());
        assert!(validate_order("SO-1", " ", 1, 1, "paid").is_err());
        assert!(validate_order("SO-1", "t", -1, 1, "paid").is_err());
        assert!(validate_order("SO-1", "t", 1, 0, "paid").is_err());
        assert!(validate_order("SO-1", "t", 1, 1, "lost").is_err());
    }
}
