use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
struct D {
    #[reg(offset = 0x0)]
    a: u32,
}

fn main() {}
