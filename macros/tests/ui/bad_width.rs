use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x10)]
struct D {
    #[reg(offset = 0x0, widths(64))]
    a: u32,
}

fn main() {}
