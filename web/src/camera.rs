//! Scanning with the device's camera, where the browser has the BarcodeDetector API (Chrome on
//! Android, for one). A keyboard-wedge scanner needs none of this: it types into the item field.
//! The API is called through `js_sys::Reflect`, as web-sys has no stable binding for it.

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlVideoElement, MediaStream, MediaStreamConstraints, MediaStreamTrack};

/// How long one camera scan looks for a code before it gives up.
const SCAN_TIMEOUT_MS: u32 = 60_000;
const FRAME_EVERY_MS: u32 = 150;
/// The symbologies on retail and warehouse labels.
const FORMATS: [&str; 7] = ["ean_13", "ean_8", "upc_a", "upc_e", "code_128", "itf", "qr_code"];

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Whether this browser can read barcodes with the camera.
pub fn available() -> bool {
    web_sys::window().is_some_and(|window| Reflect::has(&window, &"BarcodeDetector".into()).unwrap_or(false))
}

/// Shows the camera in `video` until a code is read (its text), `stop` is set, or time runs out.
pub async fn scan(video: HtmlVideoElement, stop: Arc<AtomicBool>) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let constructor: Function = Reflect::get(&window, &"BarcodeDetector".into())
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "this browser cannot read barcodes with the camera".to_string())?;
    let options = Object::new();
    let formats: Array = FORMATS.iter().map(|f| JsValue::from_str(f)).collect();
    Reflect::set(&options, &"formats".into(), &formats).map_err(describe)?;
    let detector = Reflect::construct(&constructor, &Array::of1(&options)).map_err(describe)?;
    let detect: Function = Reflect::get(&detector, &"detect".into()).map_err(describe)?.dyn_into().map_err(describe)?;

    let constraints = MediaStreamConstraints::new();
    let video_wanted = Object::new();
    Reflect::set(&video_wanted, &"facingMode".into(), &"environment".into()).map_err(describe)?;
    constraints.set_video(&video_wanted);
    let devices = window.navigator().media_devices().map_err(describe)?;
    let asked = devices.get_user_media_with_constraints(&constraints).map_err(describe)?;
    let stream: MediaStream = JsFuture::from(asked)
        .await
        .map_err(|e| format!("the camera could not be opened: {}", describe(e)))?
        .dyn_into()
        .map_err(describe)?;
    video.set_src_object(Some(&stream));
    if let Ok(playing) = video.play() {
        let _ = JsFuture::from(playing).await;
    }
    let mut waited_ms = 0;
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Err("Camera closed".to_string());
        }
        if waited_ms >= SCAN_TIMEOUT_MS {
            break Err("No barcode seen: try again, closer and in better light".to_string());
        }
        TimeoutFuture::new(FRAME_EVERY_MS).await;
        waited_ms += FRAME_EVERY_MS;
        let Ok(pending) = detect.call1(&detector, &video).and_then(|p| p.dyn_into::<Promise>()) else { continue };
        let Ok(found) = JsFuture::from(pending).await else { continue };
        let codes: Array = found.dyn_into().unwrap_or_default();
        if let Some(text) = codes.iter().find_map(|code| Reflect::get(&code, &"rawValue".into()).ok()?.as_string()) {
            break Ok(text);
        }
    };
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
    video.set_src_object(None);
    result
}
