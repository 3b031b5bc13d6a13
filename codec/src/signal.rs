//! A value one thread of the encoder publishes once and others wait for, or learn that it will
//! not come: the model's and the context coding's costs by the model's mark row, which the
//! codings beside each other in auto mode wait for ([`crate::context::Beside`]).

use std::sync::{Condvar, Mutex};

#[derive(Clone, Copy, Debug)]
enum State<T> {
    Waiting,
    Set(T),
    Closed,
}

/// A value set at most once; [`Signal::close`] says it will not be set any more.
#[derive(Debug)]
pub(crate) struct Signal<T: Copy> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T: Copy> Signal<T> {
    pub(crate) fn new() -> Self {
        Signal {
            state: Mutex::new(State::Waiting),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the value, unless it is set or closed already (the first value stays).
    pub(crate) fn set(&self, value: T) {
        let mut state = self.lock();
        if matches!(*state, State::Waiting) {
            *state = State::Set(value);
            self.changed.notify_all();
        }
    }

    /// Says that no value will come unless one has: [`Signal::wait`] returns.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        if matches!(*state, State::Waiting) {
            *state = State::Closed;
            self.changed.notify_all();
        }
    }

    /// The value, if it is set.
    pub(crate) fn get(&self) -> Option<T> {
        match *self.lock() {
            State::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The value, waiting until it is set (Some) or the signal is closed (None).
    pub(crate) fn wait(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            match *state {
                State::Set(v) => return Some(v),
                State::Closed => return None,
                State::Waiting => state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// Closes a [`Signal`] when dropped, whether the work that should set it returned or
/// panicked, so that no thread waits for it for ever.
pub(crate) struct Closes<'s, T: Copy>(pub(crate) Option<&'s Signal<T>>);

impl<T: Copy> Drop for Closes<'_, T> {
    fn drop(&mut self) {
        if let Some(s) = self.0 {
            s.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Closes, Signal};

    #[test]
    fn the_first_value_stays_and_closing_after_it_changes_nothing() {
        let s = Signal::new();
        assert_eq!(s.get(), None);
        s.set(3);
        s.set(4);
        s.close();
        assert_eq!((s.get(), s.wait()), (Some(3), Some(3)));
        let c: Signal<u8> = Signal::new();
        c.close();
        c.set(1);
        assert_eq!((c.get(), c.wait()), (None, None));
    }

    #[test]
    fn waiters_wake_on_the_value_or_on_the_close() {
        for value in [Some(7u32), None] {
            let s = Signal::new();
            let got = std::thread::scope(|scope| {
                let waiter = scope.spawn(|| s.wait());
                std::thread::sleep(std::time::Duration::from_millis(30));
                // Asserted once it is released, so that a failure does not hang the test.
                let waiting = !waiter.is_finished();
                match value {
                    Some(v) => s.set(v),
                    // As a panicking or returning setter does.
                    None => drop(Closes(Some(&s))),
                }
                let got = waiter.join().unwrap();
                assert!(waiting, "it waits");
                got
            });
            assert_eq!(got, value);
        }
    }
}
