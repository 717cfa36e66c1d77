//! Control and status registers by name, and the bits hv uses. Written by hand: the `riscv`
//! crate covers the machine and supervisor CSRs but not all of the hypervisor extension's
//! (`hgatp`, `htinst`, `henvcfg`, `vstimecmp`), and a `csrr`/`csrw` is one instruction either way.

/// `csrr` of a CSR named by its assembler name.
macro_rules! read {
    ($csr:literal) => {{
        let v: u64;
        // SAFETY: reading a CSR has no side effects on the CSRs hv names.
        unsafe { core::arch::asm!(concat!("csrr {}, ", $csr), out(reg) v, options(nomem, nostack)) };
        v
    }};
}

/// `csrw`, `csrs` (set bits) or `csrc` (clear bits).
macro_rules! write {
    ($op:literal, $csr:literal, $v:expr) => {{
        let v: u64 = $v;
        // SAFETY: hv's own control state; each caller says why the value is right.
        unsafe { core::arch::asm!(concat!($op, " ", $csr, ", {}"), in(reg) v, options(nostack)) };
    }};
}

pub(crate) use {read, write};

// sstatus
pub const SSTATUS_SIE: u64 = 1 << 1;
pub const SSTATUS_SPIE: u64 = 1 << 5;
pub const SSTATUS_SPP: u64 = 1 << 8;
/// FS = Initial: the guest's FP state lives in the registers (hv is soft-float and never
/// touches them), so V=1 code may use them as its own vsstatus.FS allows.
pub const SSTATUS_FS_INITIAL: u64 = 1 << 13;

// hstatus
pub const HSTATUS_SPV: u64 = 1 << 7;
pub const HSTATUS_SPVP: u64 = 1 << 8;

// Interrupt bits (sie/sip, hvip, hideleg).
pub const IRQ_SSI: u64 = 1 << 1;
pub const IRQ_VSSI: u64 = 1 << 2;
pub const IRQ_VSTI: u64 = 1 << 6;
pub const IRQ_SEI: u64 = 1 << 9;
pub const IRQ_VSEI: u64 = 1 << 10;

// Exception causes (scause without the interrupt bit).
pub const EXC_INSN_MISALIGNED: u64 = 0;
pub const EXC_INSN_ACCESS: u64 = 1;
pub const EXC_ILLEGAL: u64 = 2;
pub const EXC_BREAKPOINT: u64 = 3;
pub const EXC_LOAD_MISALIGNED: u64 = 4;
pub const EXC_LOAD_ACCESS: u64 = 5;
pub const EXC_STORE_MISALIGNED: u64 = 6;
pub const EXC_STORE_ACCESS: u64 = 7;
pub const EXC_ECALL_U: u64 = 8;
pub const EXC_ECALL_VS: u64 = 10;
pub const EXC_INSN_PAGE: u64 = 12;
pub const EXC_LOAD_PAGE: u64 = 13;
pub const EXC_STORE_PAGE: u64 = 15;
pub const EXC_INSN_GUEST_PAGE: u64 = 20;
pub const EXC_LOAD_GUEST_PAGE: u64 = 21;
pub const EXC_VIRTUAL_INSN: u64 = 22;
pub const EXC_STORE_GUEST_PAGE: u64 = 23;

/// What VS-mode handles itself (hedeleg): everything a bare-metal kernel takes from its own
/// code, so none of it reaches hv.
pub const HEDELEG: u64 = 1 << EXC_INSN_MISALIGNED
    | 1 << EXC_INSN_ACCESS
    | 1 << EXC_ILLEGAL
    | 1 << EXC_BREAKPOINT
    | 1 << EXC_LOAD_MISALIGNED
    | 1 << EXC_LOAD_ACCESS
    | 1 << EXC_STORE_MISALIGNED
    | 1 << EXC_STORE_ACCESS
    | 1 << EXC_ECALL_U
    | 1 << EXC_INSN_PAGE
    | 1 << EXC_LOAD_PAGE
    | 1 << EXC_STORE_PAGE;
/// VS-level interrupts go straight to the guest (hideleg).
pub const HIDELEG: u64 = IRQ_VSSI | IRQ_VSTI | IRQ_VSEI;
/// hcounteren: the guest reads cycle, time and instret without trapping.
pub const HCOUNTEREN: u64 = 0b111;
/// henvcfg.STCE: the guest's stimecmp is vstimecmp (Sstc), so its timer never enters hv.
pub const HENVCFG_STCE: u64 = 1 << 63;
/// hgatp.MODE Sv39x4.
pub const HGATP_SV39X4: u64 = 8 << 60;
