//! The hashed context tables of format version 6's context model ([`crate::cm6`]): slots of a
//! few values with their counts, addressed by the top bits of a 64-bit context hash, with a
//! check word telling contexts apart (a slot is taken over by the newest context that lands
//! on it). Integer arithmetic only.

/// A slot's counts are halved (rounding up) when their total passes this.
const SLOT_LIMIT: u32 = 1000;
/// Slot states: 0 = unseen, then 8 total-count buckets × (several values, one value).
pub(crate) const STATES: usize = 17;

/// A hashed context's values and counts (`len` used; `check` tells contexts apart).
#[derive(Clone, Copy)]
pub(crate) struct Slot<const N: usize> {
    check: u32,
    pub(crate) len: u8,
    pub(crate) v: [u8; N],
    pub(crate) n: [u16; N],
}

impl<const N: usize> Default for Slot<N> {
    fn default() -> Self {
        Slot {
            check: 0,
            len: 0,
            v: [0; N],
            n: [0; N],
        }
    }
}

impl<const N: usize> Slot<N> {
    pub(crate) fn total(&self) -> u32 {
        self.n[..self.len as usize].iter().map(|&n| n as u32).sum()
    }

    /// Counts `v`: +2 when present, else a new entry of 2 (replacing the first smallest when
    /// full); all halved (rounding up) when the total passes [`SLOT_LIMIT`].
    fn add(&mut self, v: u8) {
        let len = self.len as usize;
        match self.v[..len].iter().position(|&q| q == v) {
            Some(i) => self.n[i] += 2,
            None if len < N => {
                self.v[len] = v;
                self.n[len] = 2;
                self.len += 1;
            }
            None => {
                let mut i = 0;
                for k in 1..N {
                    if self.n[k] < self.n[i] {
                        i = k;
                    }
                }
                self.v[i] = v;
                self.n[i] = 2;
            }
        }
        if self.total() > SLOT_LIMIT {
            for n in &mut self.n[..self.len as usize] {
                *n = n.div_ceil(2);
            }
        }
    }

    /// The value with the largest count (the first of them).
    pub(crate) fn top(&self) -> u8 {
        let mut b = 0;
        for k in 1..self.len as usize {
            if self.n[k] > self.n[b] {
                b = k;
            }
        }
        self.v[b]
    }

    /// The mixing state: 0 unseen, else 1 + 2 · bucket(total) + [one value].
    pub(crate) fn state(&self) -> usize {
        let b = match self.total() {
            0 => return 0,
            1 => 0,
            2 => 1,
            3..=4 => 2,
            5..=8 => 3,
            9..=16 => 4,
            17..=40 => 5,
            41..=100 => 6,
            _ => 7,
        };
        1 + 2 * b + (self.len == 1) as usize
    }
}

/// A table of slots addressed by the top `bits` of a context's hash.
pub(crate) struct Table<const N: usize> {
    slots: Vec<Slot<N>>,
    shift: u32,
}

impl<const N: usize> Table<N> {
    /// 2^bits slots.
    pub(crate) fn new(bits: u32) -> Self {
        Table {
            slots: vec![Slot::default(); 1 << bits],
            shift: 64 - bits,
        }
    }

    /// The slot index and check of `key`.
    pub(crate) fn locate(&self, key: u64) -> (usize, u32) {
        ((key >> self.shift) as usize, key as u32 | 1)
    }

    /// Asks the processor to bring the slot at `at` towards the cache (a hint: no effect on
    /// any value).
    #[inline]
    pub(crate) fn prefetch(&self, (i, _): (usize, u32)) {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.slots.get(i) {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch never faults and reads or writes nothing; SSE is part of
            // x86-64's baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((s as *const Slot<N>).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// The slot of `key` if it holds that context.
    pub(crate) fn find(&self, (i, check): (usize, u32)) -> Option<&Slot<N>> {
        let s = &self.slots[i];
        (s.check == check && s.len > 0).then_some(s)
    }

    /// Counts `v` in the slot of `key`, taking the slot over when it held another context.
    pub(crate) fn add(&mut self, (i, check): (usize, u32), v: u8) {
        let s = &mut self.slots[i];
        if s.check != check {
            *s = Slot {
                check,
                ..Slot::default()
            };
        }
        s.add(v);
    }
}

/// log2 of the table size for `n` insertions, between 2^12 and 2^`max`.
pub(crate) fn table_bits(n: u64, max: u32) -> u32 {
    (64 - n.max(1).leading_zeros()).clamp(12, max)
}

/// Mixes two 64-bit words (the finaliser of SplitMix64 after an add).
pub(crate) fn mix64(h: u64, x: u64) -> u64 {
    let mut z = h.wrapping_add(x).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_replace_and_halve() {
        let mut s = Slot::<3>::default();
        assert_eq!((s.total(), s.state()), (0, 0));
        s.add(7);
        assert_eq!((s.total(), s.state()), (2, 1 + 2 + 1));
        for v in [7, 9, 11] {
            s.add(v);
        }
        assert_eq!((&s.v[..], &s.n[..], s.len), (&[7, 9, 11][..], &[4, 2, 2][..], 3));
        assert_eq!(s.top(), 7);
        // Full: the first smallest entry (9) gives way.
        s.add(13);
        assert_eq!((&s.v[..], &s.n[..]), (&[7, 13, 11][..], &[4, 2, 2][..]));
        for _ in 0..500 {
            s.add(7);
        }
        assert!(s.total() <= SLOT_LIMIT, "halved: {}", s.total());
        assert_eq!(s.n[1], 1, "halving rounds up");
    }

    #[test]
    fn tables_tell_contexts_apart_and_take_slots_over() {
        let mut t = Table::<4>::new(12);
        let (a, b) = (mix64(1, 2), mix64(3, 4));
        let (la, lb) = (t.locate(a), t.locate(b));
        assert!(t.find(la).is_none());
        t.add(la, 5);
        assert_eq!(t.find(la).map(|s| s.v[0]), Some(5));
        // A context landing on the same slot with another check sees nothing, then takes it.
        let other = (la.0, la.1 ^ 2);
        assert!(t.find(other).is_none());
        t.add(other, 6);
        assert!(t.find(la).is_none());
        assert_eq!(t.find(other).map(|s| (s.v[0], s.len)), Some((6, 1)));
        assert_ne!(la, lb);
        assert_eq!(table_bits(0, 20), 12);
        assert_eq!(table_bits(1 << 16, 20), 17);
        assert_eq!(table_bits(1 << 40, 20), 20);
    }
}
