//! Calls to the board firmware (PSCI over SMC), for powering pCPUs and the machine.
use aarch64_cpu::asm::wfe;
use smccc::{psci, Smc};

/// Power on pCPU `cpu` (MPIDR Aff0 = index) at `entry` with x0 = `cpu`. PSCI return code.
pub fn cpu_on(cpu: usize, entry: u64) -> i32 {
    match psci::cpu_on::<Smc>(cpu as u64, entry, cpu as u64) {
        Ok(()) => 0,
        Err(e) => i64::from(e) as i32,
    }
}

/// Power this pCPU off; it never returns.
pub fn cpu_off() -> ! {
    let _ = psci::cpu_off::<Smc>();
    loop {
        wfe();
    }
}

/// Power the machine off; it never returns.
pub fn system_off() -> ! {
    let _ = psci::system_off::<Smc>();
    loop {
        wfe();
    }
}
