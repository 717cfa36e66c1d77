use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x100)]
struct D {
    #[reg(offset = 0x00)]
    a: u32,
    #[reg(offset = 0x02, widths(16))]
    b: u16,
}

fn main() {}
