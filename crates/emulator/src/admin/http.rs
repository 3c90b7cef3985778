//! The admin API of a running emulator, nested under `/_emulator`:
//!
//! | request | effect |
//! |---|---|
//! | `GET /_emulator/objects` | the inventory, a JSON array of [`super::Object`] |
//! | `POST /_emulator/set` `{"object": ID_OR_NAME, "field": "count", "value": 5}` | [`super::set`] |
//! | `POST /_emulator/delete` `{"object": ID_OR_NAME}` | [`super::delete`] |
//! | `GET /_emulator/health` | `{"status": "ok"}` |
//!
//! Errors are `{"error": MESSAGE}` with 404 (no such object), 409 (ambiguous name), 422 (bad
//! field or value) or 500.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::objects;
use crate::services::Shared;
use crate::EmulatorError;

pub(crate) fn router(services: Shared) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/objects", get(list))
        .route("/set", post(set))
        .route("/delete", post(delete))
        .with_state(services)
}

#[derive(Debug, Deserialize)]
struct SetRequest {
    object: String,
    field: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct DeleteRequest {
    object: String,
}

struct AdminError(EmulatorError);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            EmulatorError::NotFound(_) => StatusCode::NOT_FOUND,
            EmulatorError::Ambiguous { .. } => StatusCode::CONFLICT,
            EmulatorError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            EmulatorError::Kubernetes { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

impl From<EmulatorError> for AdminError {
    fn from(e: EmulatorError) -> Self {
        AdminError(e)
    }
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn list(State(services): State<Shared>) -> Result<Response, AdminError> {
    let objects = objects::list(&services)?;
    Ok(Json(objects).into_response())
}

async fn set(
    State(services): State<Shared>,
    Json(request): Json<SetRequest>,
) -> Result<StatusCode, AdminError> {
    objects::set(&services, &request.object, &request.field, request.value)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(
    State(services): State<Shared>,
    Json(request): Json<DeleteRequest>,
) -> Result<StatusCode, AdminError> {
    objects::delete(&services, &request.object)?;
    Ok(StatusCode::NO_CONTENT)
}
