//! Per-vCPU injection: put a virtual interrupt in a free list register, or queue it when all are
//! busy and ask for a maintenance interrupt on underflow, which refills them. The guest's EOIs
//! never trap: list registers retire by themselves, and HW ones deactivate the physical INTID.
use super::lr::{Lr, LrState};
use hv_types::IntId;

/// Interrupts a vCPU can have waiting beyond its list registers. More than this many distinct
/// pending INTIDs at once is dropped with a count; an interrupt already pending is not queued
/// twice.
pub const QUEUE: usize = 32;

/// The list registers of the pCPU running this vCPU.
pub trait LrBank {
    /// How many list registers the hardware implements.
    fn count(&self) -> usize;
    fn read(&self, i: usize) -> Lr;
    fn write(&mut self, i: usize, lr: Lr);
    /// Ask for (or stop asking for) a maintenance interrupt when at most one list register holds
    /// a valid interrupt (ICH_HCR_EL2.UIE).
    fn set_underflow_irq(&mut self, on: bool);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiting {
    intid: IntId,
    priority: u8,
    hw: bool,
}

/// Pending virtual interrupts of one vCPU that are not in a list register yet.
pub struct VgicCpu {
    queue: heapless::Deque<Waiting, QUEUE>,
    /// Interrupts dropped because the queue was full (a misbehaving or flooded guest).
    pub dropped: u32,
}

impl Default for VgicCpu {
    fn default() -> Self {
        Self::new()
    }
}

impl VgicCpu {
    pub const fn new() -> Self {
        VgicCpu { queue: heapless::Deque::new(), dropped: 0 }
    }

    /// Make `intid` pending for the guest.
    pub fn inject(&mut self, bank: &mut impl LrBank, intid: IntId, priority: u8, hw: bool) {
        let mut free = None;
        for i in 0..bank.count() {
            let lr = bank.read(i);
            match lr.state() {
                LrState::Invalid => {
                    free.get_or_insert(i);
                }
                // Already pending: interrupts are level-merged, nothing to add.
                LrState::Pending | LrState::PendingActive if lr.intid() == intid => return,
                _ => {}
            }
        }
        let w = Waiting { intid, priority, hw };
        match free {
            Some(i) => bank.write(i, Lr::pending(intid, priority, hw)),
            None => {
                if !self.queue.iter().any(|q| q.intid == intid) && self.queue.push_back(w).is_err() {
                    self.dropped += 1;
                }
                bank.set_underflow_irq(true);
            }
        }
    }

    /// Move queued interrupts into free list registers (on the maintenance interrupt).
    pub fn refill(&mut self, bank: &mut impl LrBank) {
        for i in 0..bank.count() {
            if self.queue.is_empty() {
                break;
            }
            if bank.read(i).state() == LrState::Invalid {
                if let Some(w) = self.queue.pop_front() {
                    bank.write(i, Lr::pending(w.intid, w.priority, w.hw));
                }
            }
        }
        bank.set_underflow_irq(!self.queue.is_empty());
    }

    /// Does the guest have an interrupt waiting (in a list register or queued)? WFI must not
    /// sleep the pCPU then.
    pub fn has_pending(&self, bank: &impl LrBank) -> bool {
        !self.queue.is_empty()
            || (0..bank.count())
                .any(|i| matches!(bank.read(i).state(), LrState::Pending | LrState::PendingActive))
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
pub mod fake {
    use super::*;

    /// Four list registers, like QEMU's GICs.
    #[derive(Default, Debug)]
    pub struct FakeBank {
        pub lrs: [Lr; 4],
        pub underflow: bool,
    }

    impl LrBank for FakeBank {
        fn count(&self) -> usize {
            self.lrs.len()
        }
        fn read(&self, i: usize) -> Lr {
            self.lrs[i]
        }
        fn write(&mut self, i: usize, lr: Lr) {
            self.lrs[i] = lr;
        }
        fn set_underflow_irq(&mut self, on: bool) {
            self.underflow = on;
        }
    }

    impl FakeBank {
        /// The guest acknowledges and EOIs list register `i`.
        pub fn retire(&mut self, i: usize) {
            self.lrs[i] = Lr::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeBank;
    use super::*;

    #[test]
    fn fills_free_registers_then_queues() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        for n in 0..6 {
            v.inject(&mut b, IntId(32 + n), 0x80, false);
        }
        assert_eq!(b.lrs.map(|l| l.intid().0), [32, 33, 34, 35]);
        assert_eq!(v.queued(), 2);
        assert!(b.underflow, "overflow asks for the maintenance interrupt");
        // The guest retires two; the maintenance interrupt refills them in order.
        b.retire(1);
        b.retire(3);
        v.refill(&mut b);
        assert_eq!(b.lrs.map(|l| l.intid().0), [32, 36, 34, 37]);
        assert_eq!(v.queued(), 0);
        assert!(!b.underflow);
    }

    #[test]
    fn pending_twice_is_merged() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        v.inject(&mut b, IntId(27), 0xA0, true);
        v.inject(&mut b, IntId(27), 0xA0, true);
        assert_eq!(b.lrs.iter().filter(|l| l.state() == LrState::Pending).count(), 1);
        for n in 0..3 {
            v.inject(&mut b, IntId(40 + n), 0x80, false);
        }
        v.inject(&mut b, IntId(50), 0x80, false);
        v.inject(&mut b, IntId(50), 0x80, false);
        assert_eq!(v.queued(), 1);
    }

    #[test]
    fn flood_is_bounded_and_counted() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        for n in 0..(4 + QUEUE as u32 + 10) {
            v.inject(&mut b, IntId(32 + n), 0x80, false);
        }
        assert_eq!(v.queued(), QUEUE);
        assert_eq!(v.dropped, 10);
    }

    #[test]
    fn pending_view_for_wfi() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        assert!(!v.has_pending(&b));
        v.inject(&mut b, IntId(27), 0xA0, true);
        assert!(v.has_pending(&b));
        b.lrs[0] = Lr(2 << 62 | 27); // active only: the guest is handling it
        assert!(!v.has_pending(&b));
    }
}
