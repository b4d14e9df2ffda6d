//! Orders: the "历史订单" panel and admin upserts.

use actix_web::{get, put, web, HttpResponse};
use livechat_domain::orders::{Order, OrderFields};
use livechat_domain::{now_ms, Role};
use livechat_store::models::OrderRow;
use livechat_store::StoreError;
use serde::Deserialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::conversations::visible;
use super::page_of;
use livechat_domain::audit::AuditAction;

use crate::auth::{AdminOrKey, AuthUser, OrdersWrite};
use crate::dto::{OrderDto, Paged};
use crate::error::ApiResult;
use crate::state::AppState;

/// Which pair's orders: a conversation, or a buyer and a merchant.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OrderQuery {
    pub conversation_id: Option<i64>,
    pub buyer_id: Option<String>,
    pub merchant_id: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 100.
    pub page_size: Option<i64>,
}

/// The orders between a buyer and a merchant, newest first. The caller must
/// be one of the pair (or an admin).
#[utoipa::path(tag = "orders", params(OrderQuery),
    responses((status = 200, body = Paged<OrderDto>), (status = 403, description = "not your pair"), (status = 404, description = "no such conversation, or not yours"), (status = 422, description = "no pair given")))]
#[get("/api/orders/")]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<OrderQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = page_of(query.page, query.page_size, 20)?;
    let me = user.0;
    let (count, rows) = state
        .db
        .read(move |c| {
            let (buyer, merchant) = match (query.conversation_id, query.buyer_id, query.merchant_id)
            {
                (Some(id), None, None) => {
                    let (conv, _) = visible(c, &me, id)?;
                    let sides = conv.row.sides().ok_or_else(|| {
                        StoreError::invalid(
                            "orders belong to direct conversations; a group has none",
                        )
                    })?;
                    (sides.customer_id, sides.agent_id)
                }
                (None, Some(b), Some(m)) => {
                    if me.role != Role::Admin && me.id != b && me.id != m {
                        return Err(StoreError::forbidden("you may only see your own orders"));
                    }
                    (b, m)
                }
                _ => {
                    return Err(StoreError::invalid(
                        "give either conversation_id, or buyer_id and merchant_id",
                    ))
                }
            };
            livechat_store::orders::list_for_pair(c, &buyer, &merchant, page)
        })
        .await?;
    let results = rows
        .iter()
        .map(|r| OrderDto::new(r, &state.settings))
        .collect();
    Ok(HttpResponse::Ok().json(Paged { count, results }))
}

/// Creates (201) or replaces (200) an order: admins, or an API key with
/// the `orders:write` scope.
#[utoipa::path(tag = "orders", request_body = OrderFields,
    security(("bearer" = []), ("api_key" = ["orders:write"])),
    responses((status = 201, body = OrderDto), (status = 200, body = OrderDto), (status = 403, description = "not an admin, or a key without `orders:write`"), (status = 422, description = "invalid values or parties")))]
#[put("/api/orders/{order_no}")]
pub async fn upsert_order(
    state: web::Data<AppState>,
    actor: AdminOrKey<OrdersWrite>,
    order_no: web::Path<String>,
    body: crate::json::Object<OrderFields>,
) -> ApiResult<HttpResponse> {
    let fields = body.into_inner();
    let first_seen = fields.created_at.unwrap_or_else(now_ms);
    let order = Order::parse(order_no.into_inner(), fields)?;
    let parties = [order.buyer_id.clone(), order.merchant_id.clone()];
    let roles = state
        .db
        .read(move |c| livechat_store::users::get_many(c, &parties))
        .await?;
    let role_of = |id: &str| roles.iter().find(|u| u.id == id).map(|u| u.role);
    order.check_parties(role_of(&order.buyer_id), role_of(&order.merchant_id))?;
    let row = OrderRow::new(order, first_seen, now_ms());
    let actor = actor.actor();
    let (created, stored) = state
        .db
        .write(move |c| {
            let created = livechat_store::orders::upsert(c, &row)?;
            let audit = actor.audit(
                AuditAction::OrderUpsert,
                row.order_no.clone(),
                serde_json::json!({"created": created, "buyer_id": row.buyer_id, "merchant_id": row.merchant_id}),
            );
            livechat_store::audit::record(c, &audit)?;
            let stored = livechat_store::orders::get(c, &row.order_no)?
                .ok_or_else(|| StoreError::Task("order vanished".into()))?;
            Ok((created, stored))
        })
        .await?;
    let dto = OrderDto::new(&stored, &state.settings);
    Ok(if created {
        HttpResponse::Created().json(dto)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

/// Registers this module's routes and their OpenAPI entries.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_orders).service(upsert_order);
}
