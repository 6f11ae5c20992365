//! SQLite helpers for Durable Object storage: rows in and out, and all-or-nothing writes.

use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::rc::Rc;
use worker::wasm_bindgen::{closure::Closure, JsCast, JsValue};
use worker::{js_sys, SqlStorage, SqlStorageValue, Storage};

pub fn rows<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<Vec<T>> {
    sql.exec(query, Some(bindings))?.to_array()
}

pub fn first<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    bindings: Vec<SqlStorageValue>,
) -> worker::Result<Option<T>> {
    Ok(rows(sql, query, bindings)?.into_iter().next())
}

pub fn exec(sql: &SqlStorage, query: &str, bindings: Vec<SqlStorageValue>) -> worker::Result<()> {
    sql.exec(query, Some(bindings))?;
    Ok(())
}

/// Runs `f` inside `storage.transactionSync`: every write in it commits together or, when it
/// returns an error, none does. (SQL `BEGIN` is refused in Durable Objects.)
pub fn transaction<T: 'static>(
    storage: &Storage,
    f: impl FnOnce() -> worker::Result<T> + 'static,
) -> worker::Result<T> {
    let raw: &JsValue = storage.as_raw().as_ref();
    let function: js_sys::Function = js_sys::Reflect::get(raw, &JsValue::from_str("transactionSync"))?.dyn_into()?;
    let out: Rc<RefCell<Option<worker::Result<T>>>> = Rc::new(RefCell::new(None));
    let slot = out.clone();
    let callback = Closure::once_into_js(move || -> Result<JsValue, JsValue> {
        let result = f();
        let failed = result.as_ref().err().map(|e| JsValue::from_str(&e.to_string()));
        *slot.borrow_mut() = Some(result);
        match failed {
            Some(error) => Err(error),
            None => Ok(JsValue::UNDEFINED),
        }
    });
    let called = function.call1(raw, &callback);
    let result = out.borrow_mut().take();
    match (result, called) {
        (Some(result), _) => result,
        (None, Err(error)) => Err(worker::Error::from(error)),
        (None, Ok(_)) => Err("transactionSync did not run its callback".into()),
    }
}
