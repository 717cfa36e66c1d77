use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x100)]
struct D {
    #[reg(offset = 0x0, count = 3)]
    a: [u32; 4],
}

fn main() {}
