//! The contract between emulated devices and the hypervisor's trap path.
//!
//! A device is a plain struct with `#[derive(MmioDevice)]`; the derive writes the offset/width
//! dispatch against the types here. Kept in its own `no_std` crate so the proc macro, `hv` and the
//! macro's trybuild tests all name the same items.
#![no_std]

pub mod cell;

pub use hv_macros::MmioDevice;

/// Width of one guest access, as the data-abort syndrome (SAS) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Width {
    B8 = 1,
    B16 = 2,
    B32 = 4,
    B64 = 8,
}

impl Width {
    /// From SAS (ISS[23:22]): 0 = byte … 3 = doubleword.
    pub const fn from_sas(sas: u64) -> Width {
        match sas & 3 {
            0 => Width::B8,
            1 => Width::B16,
            2 => Width::B32,
            _ => Width::B64,
        }
    }
    pub const fn bytes(self) -> usize {
        self as usize
    }
    pub const fn bits(self) -> u32 {
        8 * self as u32
    }
    /// Mask of the low `bytes()` bytes.
    /// Mask of the low `bytes()` bytes (a shift, no branch: this is on every MMIO access).
    pub const fn mask(self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }
}

/// What a device does with offsets that no register covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// Read as zero, writes ignored (the usual rule for reserved device space).
    RazWi,
    /// The access is refused; the hypervisor injects a synchronous external abort.
    Abort,
}

/// Why an access could not be emulated; the hypervisor answers with an injected abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioFault {
    /// No register at this offset and the device's policy is `Abort`.
    Unmapped,
    /// A register exists but not at this width or alignment.
    BadWidth,
    /// A write to a read-only register and the device's policy is `Abort`.
    ReadOnly,
    /// A value the register does not take (a doorbell rung for a peer that does not exist).
    Refused,
}

/// How a register reacts to accesses, for the `REGISTERS` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegKind {
    /// Plain storage in the struct field.
    Storage,
    /// Storage the guest cannot write.
    ReadOnly,
    /// Reads and/or writes go through handler methods.
    Handler,
}

/// One row of a device's register map: for tracing, docs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegInfo {
    pub name: &'static str,
    pub offset: usize,
    /// Bytes of one element.
    pub width: usize,
    /// Elements (1 for a scalar register).
    pub count: usize,
    pub kind: RegKind,
}

/// What a device handler may ask of the hypervisor: its VM's console, its interrupt lines, the
/// accessing vCPU. Passed in on every access so devices never reach for globals. (The virtual
/// GIC, which is not a board device, has its own host interface in hv.)
pub trait MmioCtx {
    /// Write bytes to this VM's console output.
    fn console_write(&mut self, bytes: &[u8]);
    /// Assert (`true`) or deassert (`false`) the device's `line`-th interrupt as the VM's
    /// description routes it.
    fn set_irq(&mut self, line: usize, level: bool);

    /// Index of the vCPU making this access (for banked registers).
    fn vcpu(&self) -> usize {
        0
    }
    /// A console device's receive FIFO was drained: hv may hand it more input.
    fn console_rx_ready(&mut self) {}
    /// Interrupt `intid` of an emulated device changed level.
    fn irq_level(&mut self, _intid: u32, _level: bool) {}
}

/// A device that can take console input (a UART): hv feeds it the bytes typed on the board's
/// console while its VM has the input focus.
pub trait ConsoleDevice {
    /// Bytes it can take now (free space in its receive FIFO).
    fn rx_room(&self) -> usize;
    /// One received byte; only called with room for it.
    fn receive<C: MmioCtx>(&mut self, ctx: &mut C, byte: u8);
}

/// The INTIDs a device's lines are wired to, as a type: codegen emits one per device, so the
/// wiring costs no stores on the access path.
pub trait IrqLines {
    /// INTID of line 0, 1, ...
    const INTIDS: &'static [u32];
}

/// The context one device sees: its interrupt lines wired to the INTIDs its VM's description
/// gives it. Generated routing wraps the hypervisor's context in it per device.
pub struct Wired<'a, C, L> {
    pub ctx: &'a mut C,
    pub lines: core::marker::PhantomData<L>,
}

impl<C: MmioCtx, L: IrqLines> MmioCtx for Wired<'_, C, L> {
    #[inline(always)]
    fn console_write(&mut self, bytes: &[u8]) {
        self.ctx.console_write(bytes)
    }
    #[inline(always)]
    fn console_rx_ready(&mut self) {
        self.ctx.console_rx_ready()
    }
    /// A line the description leaves unconnected goes nowhere.
    fn set_irq(&mut self, line: usize, level: bool) {
        if let Some(&intid) = L::INTIDS.get(line) {
            self.ctx.irq_level(intid, level)
        }
    }
}

/// An emulated device. Implemented by `#[derive(MmioDevice)]`; see docs/adding-a-device.md.
pub trait MmioDevice {
    /// Bytes of MMIO space the device decodes; codegen uses it for the stage-2 hole and the DTB.
    const SIZE: usize;
    /// DTB `compatible` strings, most specific first.
    const COMPATIBLE: &'static [&'static str];
    /// What unmapped offsets do.
    const UNMAPPED: Unmapped;
    /// The register map, sorted by offset.
    const REGISTERS: &'static [RegInfo];

    /// Emulate a read of `width` at `offset` (< SIZE). Returns the zero-extended value.
    fn mmio_read<C: MmioCtx>(&mut self, ctx: &mut C, offset: usize, width: Width) -> Result<u64, MmioFault>;
    /// Emulate a write of the low `width` bytes of `value` at `offset` (< SIZE).
    fn mmio_write<C: MmioCtx>(
        &mut self,
        ctx: &mut C,
        offset: usize,
        width: Width,
        value: u64,
    ) -> Result<(), MmioFault>;
}

/// One trapped access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioOp {
    Read,
    Write(u64),
}

/// Perform `op` on `dev`: reads return the value, writes return 0. Generated routing calls this.
#[inline(always)]
pub fn access<D: MmioDevice, C: MmioCtx>(
    dev: &mut D,
    ctx: &mut C,
    offset: usize,
    width: Width,
    op: MmioOp,
) -> Result<u64, MmioFault> {
    match op {
        MmioOp::Read => dev.mmio_read(ctx, offset, width),
        MmioOp::Write(v) => dev.mmio_write(ctx, offset, width, v).map(|()| 0),
    }
}

/// Helpers the derive's generated code calls; not for hand use.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// Extract the `width`-wide lane at byte `shift` of a register value.
    #[inline(always)]
    pub const fn lane_read(reg: u64, shift: usize, width: Width) -> u64 {
        (reg >> (shift * 8)) & width.mask()
    }

    /// Merge a `width`-wide write at byte `shift` into a register value of `reg_bytes`.
    #[inline(always)]
    pub const fn lane_merge(reg: u64, shift: usize, width: Width, value: u64) -> u64 {
        let mask = width.mask() << (shift * 8);
        (reg & !mask) | ((value << (shift * 8)) & mask)
    }

    /// Is `width` one of the widths in the bitmask `allowed` (bit n = 2^n bytes)?
    #[inline(always)]
    pub const fn width_allowed(allowed: u8, width: Width) -> bool {
        allowed & (width as u8) != 0
    }

    pub const fn unmapped_read(policy: Unmapped) -> Result<u64, MmioFault> {
        match policy {
            Unmapped::RazWi => Ok(0),
            Unmapped::Abort => Err(MmioFault::Unmapped),
        }
    }

    pub const fn unmapped_write(policy: Unmapped, fault: MmioFault) -> Result<(), MmioFault> {
        match policy {
            Unmapped::RazWi => Ok(()),
            Unmapped::Abort => Err(fault),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::__private::*;
    use super::*;

    #[test]
    fn lanes() {
        assert_eq!(lane_read(0x1122_3344, 1, Width::B8), 0x33);
        assert_eq!(lane_read(0x1122_3344, 2, Width::B16), 0x1122);
        assert_eq!(lane_merge(0x1122_3344, 1, Width::B8, 0xAB), 0x1122_AB44);
        assert_eq!(lane_merge(0, 0, Width::B64, u64::MAX), u64::MAX);
        assert!(width_allowed(0b0101, Width::B32));
        assert!(!width_allowed(0b0101, Width::B16));
        assert_eq!(Width::from_sas(2), Width::B32);
    }
}
