//! Per-vCPU injection: put a virtual interrupt in a free list register, or queue it when all are
//! busy (or when it comes from another pCPU, which cannot write this one's list registers) and
//! refill from the queue on the maintenance interrupt or a kick. The guest's EOIs never trap:
//! list registers retire by themselves, and HW ones deactivate the physical INTID.
use super::host::Held;
use super::lr::{Lr, LrState};
use hv_types::IntId;

/// Interrupts a vCPU can have waiting beyond its list registers. An interrupt already pending
/// is not queued twice; beyond this many, delivery is refused and the virtual distributor keeps
/// the interrupt pending until a refill makes room (nothing is lost).
pub const QUEUE: usize = 32;

/// The list registers of the pCPU running this vCPU.
pub trait LrBank {
    /// How many list registers the hardware implements.
    fn count(&self) -> usize;
    fn read(&self, i: usize) -> Lr;
    fn write(&mut self, i: usize, lr: Lr);
    /// Ask for (or stop asking for) a maintenance interrupt when at most one list register holds
    /// a valid interrupt (ICH_HCR_EL2.UIE / GICH_HCR.UIE).
    fn set_underflow_irq(&mut self, on: bool);
    /// The empty list registers as a bitmap (bit i: register i is free), in one read where the
    /// hardware has it (ICH_ELRSR_EL2). The default reads every register.
    fn empty(&self) -> u32 {
        (0..self.count()).filter(|&i| self.read(i).state() == LrState::Invalid).fold(0, |m, i| m | 1 << i)
    }
    /// The registers holding something (a bitmap), so scans skip the free ones.
    fn occupied(&self) -> u32 {
        !self.empty() & implemented(self)
    }
}

/// The list registers the hardware has, as a bitmap.
fn implemented<B: LrBank + ?Sized>(bank: &B) -> u32 {
    u32::MAX >> (32 - bank.count().min(32))
}

/// The list registers set in `mask`, lowest first.
fn bits(mask: u32) -> impl Iterator<Item = usize> {
    super::lines::bits(mask).map(|b| b as usize)
}

/// Does a list register hold a hardware private interrupt (an EL1 timer tick) the guest has not
/// taken yet? Its line may have dropped since (see `VGicr::drop_stale`). A plain loop, not
/// `bits`: on the WFI path the iterator form measured 9 instructions more.
pub fn hw_ppi_pending(bank: &impl LrBank) -> bool {
    let mut occupied = bank.occupied();
    while occupied != 0 {
        let lr = bank.read(occupied.trailing_zeros() as usize);
        if lr.is_hw() && lr.is_pending() && !lr.is_active() && lr.intid().0 < 32 {
            return true;
        }
        occupied &= occupied - 1;
    }
    false
}

/// Withdraw the hardware SPIs waiting in the list registers (pending, not yet acknowledged)
/// whose physical line `line` reports low: a level-sensitive interrupt whose line dropped before
/// the guest took it is not delivered, as on bare metal. Each one's INTID goes to `release`.
pub fn withdraw_stale_spis(bank: &mut impl LrBank, line: impl Fn(u32) -> bool, mut release: impl FnMut(u32)) {
    for i in bits(bank.occupied()) {
        let lr = bank.read(i);
        if lr.is_hw_spi() && lr.is_pending() && !lr.is_active() && !line(lr.intid().0) {
            bank.write(i, Lr::default());
            release(lr.intid().0);
        }
    }
}

/// Make `lr` pending in the list register that already holds its INTID, if one does: a vINTID
/// may sit in one list register only (two is UNPREDICTABLE in the GIC architecture). One the
/// guest is handling (active) becomes pending and active; one already pending absorbs it
/// (interrupts are level-merged). A HW-linked one is left active only (pending and active is
/// not allowed with HW set): its physical twin fires again after the guest deactivates it if
/// its line is still high. False if no list register holds it.
fn merge(bank: &mut impl LrBank, occupied: u32, lr: Lr) -> bool {
    for i in bits(occupied) {
        let cur = bank.read(i);
        if cur.state() != LrState::Invalid && cur.intid() == lr.intid() {
            if !cur.is_pending() && !cur.is_hw() {
                bank.write(i, cur.with_state(true, true));
            }
            return true;
        }
    }
    false
}

/// Pending virtual interrupts of one vCPU that are not in a list register yet.
pub struct VgicCpu {
    queue: heapless::Deque<Lr, QUEUE>,
    /// The underflow maintenance interrupt is asked for (so it is written only on a change).
    underflow: bool,
    /// Deliveries refused because the queue was full (a flooded vCPU), for the closing report.
    pub refused: u32,
}

impl Default for VgicCpu {
    fn default() -> Self {
        Self::new()
    }
}

impl VgicCpu {
    pub const fn new() -> Self {
        VgicCpu { queue: heapless::Deque::new(), underflow: false, refused: 0 }
    }

    /// Make `lr` (a pending interrupt) pending for the guest on this pCPU; false if there is no
    /// room for it.
    pub fn inject(&mut self, bank: &mut impl LrBank, lr: Lr) -> bool {
        // One read of the empty-register bitmap serves both the merge and the free slot.
        let empty = bank.empty();
        let occupied = !empty & implemented(bank);
        if occupied != 0 && merge(bank, occupied, lr) {
            return true;
        }
        if empty != 0 {
            bank.write(empty.trailing_zeros() as usize, lr);
            return true;
        }
        self.set_underflow(bank, true);
        self.post(lr).is_some()
    }

    /// Ask for the underflow maintenance interrupt, or stop asking, writing only on a change.
    fn set_underflow(&mut self, bank: &mut impl LrBank, on: bool) {
        if self.underflow != on {
            bank.set_underflow_irq(on);
            self.underflow = on;
        }
    }

    /// Does the queue hold a passthrough SPI (hardware-linked, INTID 32 and up)?
    pub fn holds_hw_spi(&self) -> bool {
        self.queue.iter().any(|q| q.is_hw_spi())
    }

    /// Queue `lr` without touching list registers (the sender is another pCPU, which then kicks
    /// this one). `Some(true)`: newly queued; `Some(false)`: already queued; `None`: full.
    pub fn post(&mut self, lr: Lr) -> Option<bool> {
        if self.queue.iter().any(|q| q.intid() == lr.intid()) {
            return Some(false);
        }
        if self.queue.push_back(lr).is_err() {
            self.refused += 1;
            return None;
        }
        Some(true)
    }

    /// Move queued interrupts into free list registers (maintenance interrupt, kick, resume).
    pub fn refill(&mut self, bank: &mut impl LrBank) {
        if !self.queue.is_empty() {
            let mut empty = bank.empty();
            let mut occupied = !empty & implemented(bank);
            let mut kept = 0;
            while kept < self.queue.len() {
                let Some(lr) = self.queue.pop_front() else { break };
                // An interrupt a list register already holds needs no second copy.
                if occupied != 0 && merge(bank, occupied, lr) {
                    continue;
                }
                if empty != 0 {
                    let i = empty.trailing_zeros();
                    bank.write(i as usize, lr);
                    empty &= empty - 1;
                    occupied |= 1 << i;
                } else {
                    // Rotate it to the back so the loop ends; order among the rest is kept.
                    let _ = self.queue.push_back(lr);
                    kept += 1;
                }
            }
        }
        let waiting = !self.queue.is_empty();
        self.set_underflow(bank, waiting);
    }

    /// What this vCPU holds of `intid`. `bank` is its list registers when it runs on the
    /// calling pCPU; a remote vCPU's list registers cannot be read, only its queue.
    pub fn held<B: LrBank>(&self, bank: Option<&B>, intid: IntId) -> Held {
        let mut h = Held::default();
        if let Some(q) = self.queue.iter().find(|q| q.intid() == intid) {
            h.pending = true;
            h.hw = q.is_hw();
        }
        if let Some(b) = bank {
            for i in bits(b.occupied()) {
                let lr = b.read(i);
                if lr.state() != LrState::Invalid && lr.intid() == intid {
                    h.pending |= lr.is_pending();
                    h.active |= lr.is_active();
                    h.hw |= lr.is_hw();
                }
            }
        }
        h
    }

    /// Take back the pending and/or active state of `intid` (the guest cleared it, disabled it,
    /// or retargeted it). Returns what there was.
    pub fn take<B: LrBank>(
        &mut self,
        bank: Option<&mut B>,
        intid: IntId,
        pending: bool,
        active: bool,
    ) -> Held {
        let mut h = Held::default();
        if pending {
            let n = self.queue.len();
            for _ in 0..n {
                if let Some(q) = self.queue.pop_front() {
                    if q.intid() == intid {
                        h.pending = true;
                        h.hw |= q.is_hw();
                    } else {
                        let _ = self.queue.push_back(q);
                    }
                }
            }
        }
        if let Some(b) = bank {
            for i in bits(b.occupied()) {
                let lr = b.read(i);
                if lr.state() == LrState::Invalid || lr.intid() != intid {
                    continue;
                }
                h.pending |= pending && lr.is_pending();
                h.active |= active && lr.is_active();
                h.hw |= lr.is_hw();
                b.write(i, lr.with_state(lr.is_pending() && !pending, lr.is_active() && !active));
            }
        }
        h
    }

    /// Mark `intid` active in the list register holding it; false if none does.
    pub fn activate(&mut self, bank: &mut impl LrBank, intid: IntId) -> bool {
        for i in bits(bank.occupied()) {
            let lr = bank.read(i);
            if lr.state() != LrState::Invalid && lr.intid() == intid {
                bank.write(i, lr.with_state(lr.is_pending(), true));
                return true;
            }
        }
        false
    }

    /// Does the guest have an interrupt waiting (in a list register or queued)? WFI must not
    /// sleep the pCPU then.
    pub fn has_pending(&self, bank: &impl LrBank) -> bool {
        !self.queue.is_empty() || bits(bank.occupied()).any(|i| bank.read(i).is_pending())
    }

    /// Forget everything queued (the vCPU left its VM, and its virtual CPU interface, the
    /// underflow request with it, is switched off).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.underflow = false;
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

    fn sw(n: u32) -> Lr {
        Lr::pending(IntId(n), 0x80, false, 0)
    }

    #[test]
    fn fills_free_registers_then_queues() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        for n in 0..6 {
            v.inject(&mut b, sw(32 + n));
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
        v.inject(&mut b, Lr::pending(IntId(27), 0xA0, true, 0));
        v.inject(&mut b, Lr::pending(IntId(27), 0xA0, true, 0));
        assert_eq!(b.lrs.iter().filter(|l| l.state() == LrState::Pending).count(), 1);
        for n in 0..3 {
            v.inject(&mut b, sw(40 + n));
        }
        v.inject(&mut b, sw(50));
        v.inject(&mut b, sw(50));
        assert_eq!(v.queued(), 1);
    }

    #[test]
    fn one_list_register_per_vintid() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        v.inject(&mut b, sw(40));
        assert!(v.activate(&mut b, IntId(40)));
        b.lrs[0] = b.lrs[0].with_state(false, true); // the guest acknowledged it: active only
        assert!(v.inject(&mut b, sw(40)), "pending again while the guest handles it");
        assert_eq!(
            b.lrs.iter().filter(|l| l.intid() == IntId(40) && l.state() != LrState::Invalid).count(),
            1
        );
        assert_eq!(b.lrs[0].state(), LrState::PendingActive);
        // The same through the queue: a refill merges into the active copy too.
        b.lrs[0] = b.lrs[0].with_state(false, true);
        assert_eq!(v.post(sw(40)), Some(true));
        v.refill(&mut b);
        assert_eq!(b.lrs.iter().filter(|l| l.state() != LrState::Invalid).count(), 1);
        assert_eq!(b.lrs[0].state(), LrState::PendingActive);
    }

    #[test]
    fn flood_is_bounded_and_refused() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        let accepted = (0..(4 + QUEUE as u32 + 10)).filter(|n| v.inject(&mut b, sw(32 + n))).count();
        assert_eq!((accepted, v.queued(), v.refused), (4 + QUEUE, QUEUE, 10));
        assert!(v.inject(&mut b, sw(32)), "one already pending is merged, not refused");
    }

    #[test]
    fn pending_view_for_wfi() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        assert!(!v.has_pending(&b));
        v.inject(&mut b, Lr::pending(IntId(27), 0xA0, true, 0));
        assert!(v.has_pending(&b));
        b.lrs[0] = Lr(2 << 62 | 27); // active only: the guest is handling it
        assert!(!v.has_pending(&b));
    }

    #[test]
    fn remote_posts_wait_for_a_refill() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        assert_eq!(v.post(sw(3)), Some(true));
        assert_eq!(v.post(sw(3)), Some(false), "already queued");
        assert!(v.held::<FakeBank>(None, IntId(3)).pending);
        v.refill(&mut b);
        assert_eq!(b.lrs[0].intid(), IntId(3));
        // A copy still pending in a list register is not queued a second time.
        assert_eq!(v.post(sw(3)), Some(true));
        v.refill(&mut b);
        assert_eq!(b.lrs.iter().filter(|l| l.intid() == IntId(3)).count(), 1);
        assert_eq!(v.queued(), 0);
    }

    #[test]
    fn take_and_activate() {
        let (mut v, mut b) = (VgicCpu::new(), FakeBank::default());
        v.inject(&mut b, sw(5));
        assert!(v.activate(&mut b, IntId(5)));
        assert_eq!(b.lrs[0].state(), LrState::PendingActive);
        let h = v.take(Some(&mut b), IntId(5), true, false);
        assert_eq!((h.pending, h.active), (true, false));
        assert_eq!(b.lrs[0].state(), LrState::Active);
        assert_eq!(v.held(Some(&b), IntId(5)), Held { pending: false, active: true, hw: false });
        v.take(Some(&mut b), IntId(5), false, true);
        assert_eq!(b.lrs[0], Lr(0));
        assert!(!v.activate(&mut b, IntId(5)));
        // Queued copies are taken too.
        v.post(sw(6));
        assert!(v.take(Some(&mut b), IntId(6), true, false).pending);
        assert_eq!(v.queued(), 0);
    }
}
