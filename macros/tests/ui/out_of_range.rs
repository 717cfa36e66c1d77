use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x10)]
struct D {
    #[reg(offset = 0x08)]
    a: [u32; 4],
}

fn main() {}
