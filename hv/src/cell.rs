//! Who may touch a VM's emulated-device state. A VM with one vCPU owns it outright: one pCPU,
//! and exit handlers never nest, so no lock is needed. A VM with several vCPUs shares it behind a
//! spin lock. codegen picks the cell per VM from the description.
use core::cell::UnsafeCell;

/// Device state of a single-vCPU VM.
pub struct Owned<T>(UnsafeCell<T>);

// SAFETY: codegen only wraps the devices of a VM with exactly one vCPU in `Owned`, and the
// generated statics are private to `route_mmio`; see `with`.
unsafe impl<T: Send> Sync for Owned<T> {}

impl<T> Owned<T> {
    pub const fn new(v: T) -> Self {
        Owned(UnsafeCell::new(v))
    }

    /// The state, without a lock.
    ///
    /// # Safety
    /// The caller is the exit handler of the VM's one vCPU and holds no other reference from
    /// this cell: exit handlers run on one pCPU with interrupts masked and never nest.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self) -> &mut T {
        // SAFETY: exclusivity is the caller's promise (see above).
        unsafe { &mut *self.0.get() }
    }
}

/// Device state of a VM with several vCPUs.
pub struct Shared<T>(spin::Mutex<T>);

impl<T> Shared<T> {
    pub const fn new(v: T) -> Self {
        Shared(spin::Mutex::new(v))
    }

    #[inline(always)]
    pub fn lock(&self) -> spin::MutexGuard<'_, T> {
        self.0.lock()
    }
}
