use hv_mmio::MmioDevice;

#[derive(MmioDevice)]
#[mmio(size = 0x10)]
struct D {
    #[reg(offset = 0x0, read_only, write = D::w)]
    a: u32,
}

fn main() {}
