//! Tasks (2025-11-25, experimental) on `/mcp`.
//!
//! A task-augmented tools/call goes to the tool's backend like any call,
//! its `task` passed through; the task the backend creates keeps the
//! backend's own id and is remembered with its backend and the session
//! that asked for it. tasks/get, tasks/result and tasks/cancel then go to
//! that backend, tasks/list shows a session its own tasks, and a backend's
//! notifications/tasks/status reaches the owning session only. A task of
//! another session looks exactly like a missing one. (`/mcp/{backend}`
//! forwards tasks/* as they are; only the status notifications need this.)

use std::sync::Arc;

use mcp_wire::{raw, Json, Message, Params};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{answer_of, GatewayError, Outcome};
use crate::gateway::Gateway;
use crate::session::Session;
use crate::upstream::CallContext;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskRef {
    task_id: String,
}

/// A tools/call answered with a CreateTaskResult: remember whose task it is.
pub fn remember(gw: &Gateway, session: &Arc<Session>, backend: &str, result: &Json) {
    #[derive(Deserialize)]
    struct Created {
        task: TaskRef,
    }
    if let Ok(c) = serde_json::from_str::<Created>(result.get()) {
        gw.task_created(&c.task.task_id, backend, session);
    }
}

/// tasks/get, tasks/result, tasks/cancel: to the backend running the task.
pub async fn route(gw: &Gateway, session: &Session, msg: &Message, ctx: &CallContext) -> Outcome {
    let t: TaskRef = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let unknown = || GatewayError::InvalidParams(format!("unknown task: {}", t.task_id));
    let backend = gw
        .task_backend(&t.task_id, &session.id)
        .and_then(|b| gw.backend(&b))
        .ok_or_else(unknown)?;
    answer_of(
        backend
            .request_with(msg.method(), msg.params.as_ref().map(Params::Raw), ctx)
            .await?,
    )
}

/// tasks/list: this session's tasks, from every backend running one of
/// them, in one page.
pub async fn list(gw: &Gateway, session: &Session, ctx: &CallContext) -> Outcome {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page<'a> {
        #[serde(borrow)]
        tasks: Vec<&'a RawValue>,
        #[serde(default)]
        next_cursor: Option<String>,
    }
    let mine = gw.tasks_of(&session.id);
    let mut backends: Vec<&str> = mine.iter().map(|(_, b)| b.as_str()).collect();
    backends.sort_unstable();
    backends.dedup();
    let mut out = String::from(r#"{"tasks":["#);
    let mut first = true;
    for name in backends {
        let Some(backend) = gw.backend(name) else {
            continue;
        };
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor
                .as_ref()
                .map(|c| raw(&serde_json::json!({"cursor": c})));
            let answer = answer_of(
                backend
                    .request_with("tasks/list", params.as_ref().map(Params::Raw), ctx)
                    .await?,
            )?;
            let page: Page = serde_json::from_str(answer.get())
                .map_err(|e| GatewayError::Internal(format!("{name}: bad tasks/list: {e}")))?;
            for task in page.tasks {
                let ours = serde_json::from_str::<TaskRef>(task.get())
                    .is_ok_and(|t| mine.iter().any(|(id, b)| *id == t.task_id && b == name));
                if ours {
                    if !first {
                        out.push(',');
                    }
                    out.push_str(task.get());
                    first = false;
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    out.push_str("]}");
    Json::parse(out).map_err(|e| GatewayError::Internal(e.to_string()))
}

/// Most tasks/list pages read from one backend.
const MAX_PAGES: usize = 20;
