use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x100)]
struct D {
    #[reg(offset = 0x06)]
    a: u32,
}

fn main() {}
