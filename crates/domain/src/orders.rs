//! Orders shown in the "历史订单" panel and sent as order cards.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Placed, not paid.
    Pending,
    /// Paid, not shipped.
    Paid,
    /// On its way.
    Shipped,
    /// Delivered and closed.
    Completed,
    /// Called off before completion.
    Cancelled,
    /// Money returned.
    Refunded,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|o| o.as_str()).collect();
                DomainError::Validation(format!("status must be one of {}", names.join(", ")))
            })
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order between a buyer and a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The marketplace's order number.
    pub order_no: String,
    /// The buyer's user id: the order shows in this buyer's conversation
    /// with the merchant.
    pub buyer_id: String,
    /// The merchant's user id, who sold it.
    pub merchant_id: String,
    /// What was bought.
    pub title: String,
    /// Total, in integer cents.
    pub amount_cents: i64,
    /// How many products.
    pub product_count: i32,
    /// A product image, relative (`/media/...`) or absolute.
    pub product_image: Option<String>,
    /// Where it stands.
    pub status: OrderStatus,
}

/// An order card's copy of the order at the moment it was sent: later
/// changes to the order do not rewrite the conversation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSnapshot {
    /// The order number.
    pub order_no: String,
    /// What was bought.
    pub title: String,
    /// Total, in integer cents.
    #[serde(deserialize_with = "crate::integers::integer")]
    pub amount_cents: i64,
    /// How many products.
    #[serde(deserialize_with = "crate::integers::integer")]
    pub product_count: i32,
    /// A product image, relative or absolute.
    pub product_image: Option<String>,
    /// The status when sent.
    pub status: OrderStatus,
}

impl From<&Order> for OrderSnapshot {
    fn from(o: &Order) -> Self {
        Self {
            order_no: o.order_no.clone(),
            title: o.title.clone(),
            amount_cents: o.amount_cents,
            product_count: o.product_count,
            product_image: o.product_image.clone(),
            status: o.status,
        }
    }
}

/// An order's fields as they arrive (its number comes from the path).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderFields {
    /// The buyer's user id: the order shows in this buyer's conversation
    /// with the merchant.
    pub buyer_id: String,
    /// The merchant's user id, who sold it.
    pub merchant_id: String,
    /// What was bought.
    pub title: String,
    /// Total, in integer cents.
    #[serde(deserialize_with = "crate::integers::integer")]
    pub amount_cents: i64,
    /// How many products.
    #[serde(deserialize_with = "crate::integers::integer")]
    pub product_count: i32,
    /// A product image, relative (`/media/...`) or absolute; empty means none.
    pub product_image: Option<String>,
    /// pending, paid, shipped, completed, cancelled or refunded.
    pub status: String,
    /// Unix milliseconds; now when absent.
    #[serde(default, deserialize_with = "crate::integers::optional_integer")]
    pub created_at: Option<i64>,
}

impl Order {
    /// Checks order number `order_no` with these fields.
    pub fn parse(order_no: String, f: OrderFields) -> Result<Self, DomainError> {
        for (field, value) in [
            ("buyer_id", Some(f.buyer_id.as_str())),
            ("merchant_id", Some(f.merchant_id.as_str())),
            ("status", Some(f.status.as_str())),
            ("product_image", f.product_image.as_deref()),
        ] {
            if let Some(value) = value {
                crate::text::check_plain(field, value)?;
            }
        }
        validate_order(
            &order_no,
            &f.title,
            f.amount_cents,
            i64::from(f.product_count),
        )?;
        Ok(Self {
            status: OrderStatus::parse(&f.status)?,
            order_no,
            buyer_id: f.buyer_id,
            merchant_id: f.merchant_id,
            title: f.title.trim().to_string(),
            amount_cents: f.amount_cents,
            product_count: f.product_count,
            product_image: f.product_image.filter(|p| !p.trim().is_empty()),
        })
    }

    /// An order is between a buyer and a merchant: given the stored roles
    /// of its two parties (`None`: no such user), says whether they are.
    pub fn check_parties(
        &self,
        buyer_role: Option<crate::users::Role>,
        merchant_role: Option<crate::users::Role>,
    ) -> Result<(), DomainError> {
        use crate::users::Role;
        if buyer_role != Some(Role::Buyer) {
            return Err(DomainError::Validation(format!(
                "`{}` is not a buyer",
                self.buyer_id
            )));
        }
        if merchant_role != Some(Role::Merchant) {
            return Err(DomainError::Validation(format!(
                "`{}` is not a merchant",
                self.merchant_id
            )));
        }
        Ok(())
    }
}

/// Longest order title, in characters as sent.
pub const MAX_TITLE_CHARS: usize = 200;

/// Checks an order's fields.
pub fn validate_order(
    order_no: &str,
    title: &str,
    amount_cents: i64,
    product_count: i64,
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
    crate::text::check_plain("title", title)?;
    // Every character sent counts, as in the document's `maxLength`.
    let title_len = title.chars().count();
    if !crate::text::has_visible(title) || title_len > MAX_TITLE_CHARS {
        return Err(DomainError::Validation(format!(
            "title must be 1 to {MAX_TITLE_CHARS} characters"
        )));
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_checked() {
        assert!(validate_order("SO-1", "维生素C", 1999, 2).is_ok());
        assert!(validate_order("", "t", 1, 1).is_err());
        assert!(validate_order("a/b", "t", 1, 1).is_err());
        assert!(validate_order("SO-1", " ", 1, 1).is_err());
        assert!(validate_order("SO-1", "t", -1, 1).is_err());
        assert!(validate_order("SO-1", "t", 1, 0).is_err());
    }

    #[test]
    fn orders_are_between_a_buyer_and_a_merchant() {
        use crate::users::Role;
        let order = Order::parse(
            "SO-1".into(),
            OrderFields {
                buyer_id: "b1".into(),
                merchant_id: "m1".into(),
                title: " 维生素C ".into(),
                amount_cents: 100,
                product_count: 1,
                product_image: Some("".into()),
                status: "paid".into(),
                created_at: None,
            },
        )
        .unwrap();
        assert_eq!(
            (order.title.as_str(), order.product_image.as_deref()),
            ("维生素C", None)
        );
        assert!(order
            .check_parties(Some(Role::Buyer), Some(Role::Merchant))
            .is_ok());
        assert!(order
            .check_parties(Some(Role::Merchant), Some(Role::Buyer))
            .is_err());
        assert!(order.check_parties(None, Some(Role::Merchant)).is_err());
        assert!(order
            .check_parties(Some(Role::Buyer), Some(Role::Platform))
            .is_err());
    }

    #[test]
    fn statuses_parse_and_reject_unknown() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()).unwrap(), s);
        }
        let err = OrderStatus::parse("lost").unwrap_err();
        assert!(err.to_string().contains("pending, paid"), "{err}");
    }
}
