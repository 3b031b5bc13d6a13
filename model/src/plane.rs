//! Feature planes: the last rows of an H×W×C map in a ring, readable by every thread and
//! writable position by position by the thread that owns a row.

use std::cell::UnsafeCell;

/// The last `rows` rows of an H×W×C feature map, channels innermost: row `y` lives in slot
/// `y % rows` (a ring, as deep as the plane's readers reach).
///
/// The values sit in cells so that threads decoding different rows side by side
/// ([`crate::rows`]) can write their own positions through a shared plane
/// ([`Plane::at_shared_mut`]); with `&mut` access everything is safe as usual.
#[derive(Debug, Default)]
pub struct Plane {
    pub width: usize,
    pub ch: usize,
    pub rows: usize,
    data: Vec<UnsafeCell<f32>>,
}

// SAFETY: through `&Plane` values are only read, except by `at_shared_mut`, whose callers
// guarantee that no thread reads or writes the same values at the same time.
unsafe impl Sync for Plane {}

impl Plane {
    /// A zeroed ring of `rows` rows. Reuses the buffer.
    pub fn reset(&mut self, width: usize, ch: usize, rows: usize) {
        self.width = width;
        self.ch = ch;
        self.rows = rows;
        self.data.clear();
        self.data.resize_with(rows * width * ch, || UnsafeCell::new(0.0));
    }

    /// The start and length of `n` values at (y, x), bounds-checked.
    #[inline]
    fn span(&self, y: usize, x: usize, n: usize) -> *mut f32 {
        let o = ((y % self.rows) * self.width + x) * self.ch;
        assert!(o + n <= self.data.len(), "plane position out of range");
        // `UnsafeCell<f32>` has the layout of `f32`.
        UnsafeCell::raw_get(self.data.as_ptr().wrapping_add(o))
    }

    /// The features at (y, x).
    #[inline]
    pub fn at(&self, y: usize, x: usize) -> &[f32] {
        // SAFETY: in range (checked); nothing writes these values while the slice lives: with
        // `&mut` access the borrow checker sees to it, and shared writers
        // ([`Plane::at_shared_mut`]) only write positions no other thread reads yet.
        unsafe { std::slice::from_raw_parts(self.span(y, x, self.ch), self.ch) }
    }

    /// The features of the neighbouring positions (y, x … x + count − 1) as one slice.
    #[inline]
    pub fn run(&self, y: usize, x: usize, count: usize) -> &[f32] {
        assert!(x + count <= self.width, "positions past the row's end");
        // SAFETY: as [`Plane::at`]; a row's positions follow each other in one slice.
        unsafe { std::slice::from_raw_parts(self.span(y, x, count * self.ch), count * self.ch) }
    }

    #[inline]
    pub fn at_mut(&mut self, y: usize, x: usize) -> &mut [f32] {
        // SAFETY: in range; `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.span(y, x, self.ch), self.ch) }
    }

    /// The features at (y, x) for writing through a shared plane.
    ///
    /// # Safety
    /// No other reference to these values exists while the slice lives: no other thread reads
    /// or writes position (y, x) of this plane's ring slot until the writer has published it.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn at_shared_mut(&self, y: usize, x: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.span(y, x, self.ch), self.ch)
    }

    /// Row `y` as one slice (W × C).
    pub fn row_mut(&mut self, y: usize) -> &mut [f32] {
        let n = self.width * self.ch;
        // SAFETY: in range; `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.span(y, 0, n), n) }
    }
}
