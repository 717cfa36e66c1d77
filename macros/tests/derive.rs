//! Behaviour of generated dispatch: storage, handlers, arrays, widths, read-only and unmapped policy.
use hv_mmio::{MmioCtx, MmioDevice, MmioFault, RegKind, Width};

#[derive(Default)]
struct Ctx {
    out: Vec<u8>,
}
impl MmioCtx for Ctx {
    fn console_write(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b)
    }
    fn set_irq(&mut self, _: usize, _: bool) {}
}

#[derive(MmioDevice, Default)]
#[mmio(size = 0x100, compatible = ["test,dev", "test,generic"], unmapped = RazWi)]
struct Dev {
    #[reg(offset = 0x00, read = Self::rd, write = Self::wr, widths(8, 32))]
    data: u32,
    #[reg(offset = 0x04, read_only)]
    status: u32,
    #[reg(offset = 0x08, widths(8, 16, 32))]
    ctrl: u32,
    #[reg(offset = 0x10)]
    wide: u64,
    #[reg(offset = 0x20, count = 4, read_only)]
    id: [u32; 4],
    #[reg(offset = 0x30, write = Self::wr_arr)]
    arr: [u32; 2],
    reads: u32,
}

impl Dev {
    fn rd<C: MmioCtx>(&mut self, _ctx: &mut C) -> u32 {
        self.reads += 1;
        0xAB
    }
    fn wr<C: MmioCtx>(&mut self, ctx: &mut C, v: u32) {
        ctx.console_write(&[v as u8]);
    }
    fn wr_arr<C: MmioCtx>(&mut self, _ctx: &mut C, i: usize, v: u32) {
        self.arr[i] = v ^ 1;
    }
}

#[derive(MmioDevice, Default)]
#[mmio(size = 0x10, compatible = "test,strict", unmapped = Abort)]
struct Strict {
    #[reg(offset = 0x0, read_only)]
    ro: u32,
}

#[test]
fn constants_and_table() {
    assert_eq!(Dev::SIZE, 0x100);
    assert_eq!(Dev::COMPATIBLE, &["test,dev", "test,generic"]);
    let names: Vec<_> = Dev::REGISTERS.iter().map(|r| (r.name, r.offset, r.kind)).collect();
    assert_eq!(
        names,
        [
            ("data", 0x00, RegKind::Handler),
            ("status", 0x04, RegKind::ReadOnly),
            ("ctrl", 0x08, RegKind::Storage),
            ("wide", 0x10, RegKind::Storage),
            ("id", 0x20, RegKind::ReadOnly),
            ("arr", 0x30, RegKind::Handler),
        ]
    );
}

#[test]
fn handlers_storage_and_widths() {
    let (mut d, mut c) = (Dev::default(), Ctx::default());
    assert_eq!(d.mmio_read(&mut c, 0, Width::B32), Ok(0xAB));
    assert_eq!(d.reads, 1);
    d.mmio_write(&mut c, 0, Width::B8, b'x' as u64).unwrap();
    assert_eq!(c.out, b"x");
    // 16-bit access not allowed on data.
    assert_eq!(d.mmio_read(&mut c, 0, Width::B16), Err(MmioFault::BadWidth));
    // Byte lanes of a storage register merge.
    d.mmio_write(&mut c, 0x08, Width::B32, 0x1122_3344).unwrap();
    d.mmio_write(&mut c, 0x09, Width::B8, 0xAA).unwrap();
    assert_eq!(d.ctrl, 0x1122_AA44);
    assert_eq!(d.mmio_read(&mut c, 0x0A, Width::B16), Ok(0x1122));
    // Misaligned narrow access is refused.
    assert_eq!(d.mmio_read(&mut c, 0x09, Width::B16), Err(MmioFault::BadWidth));
    // 64-bit register accepts only 64-bit accesses by default.
    d.mmio_write(&mut c, 0x10, Width::B64, u64::MAX).unwrap();
    assert_eq!(d.wide, u64::MAX);
    assert_eq!(d.mmio_read(&mut c, 0x10, Width::B32), Err(MmioFault::BadWidth));
}

#[test]
fn read_only_arrays_and_unmapped() {
    let (mut d, mut c) = (Dev::default(), Ctx::default());
    d.id = [1, 2, 3, 4];
    assert_eq!(d.mmio_read(&mut c, 0x2C, Width::B32), Ok(4));
    // RazWi: writes to read-only registers and to holes are ignored.
    d.mmio_write(&mut c, 0x04, Width::B32, 7).unwrap();
    assert_eq!(d.status, 0);
    d.mmio_write(&mut c, 0x24, Width::B32, 9).unwrap();
    assert_eq!(d.id[1], 2);
    assert_eq!(d.mmio_read(&mut c, 0x80, Width::B32), Ok(0));
    d.mmio_write(&mut c, 0x80, Width::B32, 1).unwrap();
    // Array write handler gets the index.
    d.mmio_write(&mut c, 0x34, Width::B32, 0x10).unwrap();
    assert_eq!(d.arr, [0, 0x11]);

    let mut s = Strict::default();
    assert_eq!(s.mmio_read(&mut c, 0x8, Width::B32), Err(MmioFault::Unmapped));
    assert_eq!(s.mmio_write(&mut c, 0x0, Width::B32, 1), Err(MmioFault::ReadOnly));
    assert_eq!(s.mmio_write(&mut c, 0x8, Width::B32, 1), Err(MmioFault::Unmapped));
}

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
