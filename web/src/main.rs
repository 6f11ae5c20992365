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
    let promise = container.register("./sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(error) = wasm_bindgen_futures::JsFuture::from(promise).await {
            leptos::logging::warn!("service worker registration failed: {error:?}");
        }
    });
}
