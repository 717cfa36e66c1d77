//! Who may touch a VM's emulated-device state. A VM with one vCPU owns it outright: one pCPU,
//! and exit handlers never nest, so no lock is needed. A VM with several vCPUs shares it behind a
//! spin lock. The generated code names the VM's vCPU count; that `Owned` is only for one vCPU is
//! this file's rule, checked when hv compiles, not a choice codegen is trusted with:
//!
//! ```
//! static ONE: hv_mmio::cell::Owned<u32, 1> = hv_mmio::cell::Owned::new(0);
//! ```
//!
//! ```compile_fail
//! // A lock-free cell for a VM of two vCPUs does not build.
//! static TWO: hv_mmio::cell::Owned<u32, 2> = hv_mmio::cell::Owned::new(0);
//! ```
use core::cell::UnsafeCell;

/// Device state of a VM of `VCPUS` vCPUs, without a lock: only `VCPUS == 1` builds.
pub struct Owned<T, const VCPUS: usize>(UnsafeCell<T>);

// SAFETY: only a VM with exactly one vCPU can have an `Owned` (`new` refuses any other count at
// compile time), and its exit handlers run on one pCPU and never nest; see `get`.
unsafe impl<T: Send> Sync for Owned<T, 1> {}

impl<T, const VCPUS: usize> Owned<T, VCPUS> {
    pub const fn new(v: T) -> Self {
        const { assert!(VCPUS == 1, "device state without a lock is sound only for a VM of one vCPU") };
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

/// A VM's emulated-device state at power-on (generated for each VM's device struct).
pub trait PowerOn {
    fn power_on() -> Self;
}

/// A VM's emulated devices as its VM holds them, whatever their cell: routing an access goes
/// through the generated `route_mmio`; this is the rest, putting them back to power-on.
pub trait DeviceSet: Sync {
    /// Every device of the VM back to its power-on state.
    ///
    /// # Safety
    /// No vCPU of the VM runs, and the caller holds no reference into the state: the VM is
    /// restarting, and every vCPU but the caller's has left it.
    unsafe fn reset(&self);
}

impl<T: PowerOn + Send> DeviceSet for Owned<T, 1> {
    unsafe fn reset(&self) {
        // SAFETY: nothing else can hold the state (the caller's promise).
        unsafe { *self.get() = T::power_on() };
    }
}

impl<T: PowerOn + Send> DeviceSet for Shared<T> {
    unsafe fn reset(&self) {
        *self.lock() = T::power_on();
    }
}
