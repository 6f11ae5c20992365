//! The Stockline web app: Leptos, client-side rendered, offline-first (service worker + IndexedDB).
//! Views stay thin; what the app knows lives in `model`, storage in `db`, HTTP in `api`.

mod api;
mod camera;
mod chart;
mod dashboard;
mod db;
mod fulfilment;
mod imports;
mod model;
mod purchasing;
mod receiving;
mod replica;
mod state;
mod sync;
mod views;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(views::frame::App);
    register_service_worker();
}

fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    let container = window.navigator().service_worker();
    if container.is_undefined() {
        return;
    }
    // Once the service worker controls the page (now, or when a first install claims it), every
    // part of the app is loaded from its cache; before that they load as screens open.
    if container.controller().is_some() {
        wasm_bindgen_futures::spawn_local(views::frame::preload_parts());
    } else {
        let again = container.clone();
        let preload = Closure::once_into_js(move || {
            again.set_oncontrollerchange(None);
            wasm_bindgen_futures::spawn_local(views::frame::preload_parts());
        });
        container.set_oncontrollerchange(Some(preload.unchecked_ref()));
    }
    let promise = container.register("./sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = wasm_bindgen_futures::JsFuture::from(promise).await {
            leptos::logging::warn!("service worker registration failed: {error:?}");
        }
    });
}
