//! The views: thin Leptos components, one file per screen. They show `model` and `Outbox` values
//! and call `sync`, `api` and `db`; decisions live in those, not here.

pub mod adjust;
pub mod count;
pub mod dashboard;
pub mod fields;
pub mod frame;
pub mod fulfilment;
pub mod imports;
pub mod orders;
pub mod outbox;
pub mod receive;
pub mod replenishment;
pub mod returns;
pub mod ship;
pub mod stock;
pub mod suppliers;
pub mod timeline;
pub mod transfer;

use leptos::prelude::*;

/// A chart's grid lines with the units on the y axis and the dates on the x axis, as SVG: the
/// ticks are laid out by `chart`, (position, label).
pub(crate) fn axes(
    y_ticks: Vec<(f64, String)>,
    x_ticks: Vec<(f64, String)>,
    left: f64,
    right: f64,
    bottom: f64,
) -> impl IntoView {
    view! {
        {y_ticks.into_iter().map(|(y, label)| view! {
            <line class="grid" x1=left x2=right y1=y y2=y/>
            <text class="tick" x={left - 6.0} y={y + 4.0} text-anchor="end">{label}</text>
        }).collect_view()}
        {x_ticks.into_iter().map(|(x, label)| view! {
            <text class="tick" x=x y={bottom + 18.0} text-anchor="middle">{label}</text>
        }).collect_view()}
    }
}
