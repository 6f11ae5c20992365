//! What objects that drive work to the end keep in memory: the keys with a request in progress
//! (each with the requests waiting for it to end), and the alarm they set.

use futures_channel::oneshot;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Removes its keys from the busy map when the request ends, however it ends, and wakes the
/// requests waiting for them.
pub struct Busy<'a> {
    pub set: &'a RefCell<HashMap<String, Vec<oneshot::Sender<()>>>>,
    pub keys: Vec<String>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut set = self.set.borrow_mut();
        for key in &self.keys {
            for waiter in set.remove(key).unwrap_or_default() {
                // A waiter that gave up (timed out) has dropped its end: nothing to wake.
                let _ = waiter.send(());
            }
        }
    }
}

/// The alarm an object set, in ms since the epoch, as far as this instance knows.
#[derive(Default)]
pub struct Alarm {
    at_ms: Cell<Option<i64>>,
}

impl Alarm {
    /// Makes sure the alarm fires within `in_ms`: an alarm already set sooner is kept.
    pub async fn arm(&self, state: &worker::State, in_ms: i64) -> worker::Result<()> {
        let at_ms = crate::http::now()?.timestamp_millis() + in_ms;
        if self.at_ms.get().is_none() {
            // Not known here (a new instance): an alarm set before may be sooner.
            if let Some(stored_ms) = state.storage().get_alarm().await? {
                self.at_ms.set(Some(stored_ms));
            }
        }
        if self.at_ms.get().is_none_or(|set_ms| set_ms > at_ms) {
            state.storage().set_alarm(std::time::Duration::from_millis(in_ms.max(0) as u64)).await?;
            self.at_ms.set(Some(at_ms));
        }
        Ok(())
    }

    /// The alarm fired: none is set until one is armed again.
    pub fn fired(&self) {
        self.at_ms.set(None);
    }

    /// After a failed alarm run: try again in `in_ms`.
    pub async fn retry(&self, state: &worker::State, in_ms: i64) -> worker::Result<()> {
        state.storage().set_alarm(std::time::Duration::from_millis(in_ms.max(0) as u64)).await?;
        self.at_ms.set(Some(crate::http::now()?.timestamp_millis() + in_ms));
        Ok(())
    }
}
