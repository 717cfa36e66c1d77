//! The receive FIFO the console UARTs share: a ring of `N` bytes, of which the guest's FIFO
//! setting decides how many may be used (`depth`: all of them, or a one-byte holding register).
pub struct RxFifo<const N: usize> {
    buf: [u8; N],
    /// `count` bytes from `head`, wrapping.
    head: u8,
    count: u8,
}

impl<const N: usize> Default for RxFifo<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RxFifo<N> {
    pub const fn new() -> Self {
        // head and count are bytes.
        const { assert!(N > 0 && N <= u8::MAX as usize) };
        RxFifo { buf: [0; N], head: 0, count: 0 }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes it can take while `depth` of it may be used.
    pub fn room(&self, depth: usize) -> usize {
        depth.min(N).saturating_sub(self.len())
    }

    /// Append a byte; one that finds the ring full is dropped (callers check `room` first).
    pub fn push(&mut self, b: u8) {
        if self.len() < N {
            self.buf[(self.head as usize + self.len()) % N] = b;
            self.count += 1;
        }
    }

    /// The oldest byte.
    pub fn pop(&mut self) -> Option<u8> {
        if self.is_empty() {
            return None;
        }
        let b = self.buf[self.head as usize];
        self.head = ((self.head as usize + 1) % N) as u8;
        self.count -= 1;
        Some(b)
    }

    pub fn clear(&mut self) {
        (self.head, self.count) = (0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_keeps_order() {
        let mut f = RxFifo::<4>::new();
        assert_eq!((f.room(4), f.room(1), f.pop()), (4, 1, None));
        for round in 0..3u8 {
            for b in 0..3 {
                f.push(round * 10 + b);
            }
            assert_eq!(f.room(4), 1);
            assert_eq!(
                [f.pop(), f.pop(), f.pop()],
                [Some(round * 10), Some(round * 10 + 1), Some(round * 10 + 2)]
            );
        }
        for b in 0..5 {
            f.push(b);
        }
        assert_eq!(f.len(), 4, "the fifth byte found the ring full");
        f.clear();
        assert!(f.is_empty());
    }
}
