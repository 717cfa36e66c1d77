//! hvgen: check a machine description, print its report, DTS or QEMU command line, or boot it.
use clap::{Parser, Subcommand};
use codegen::guests::CargoGuests;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Machine descriptions for the hv hypervisor")]
struct Cli {
    /// Workspace root (default: the current directory).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a .ron (building its guests) and print the report.
    Check { ron: String },
    /// Print the device tree source generated for one VM.
    Dts { ron: String, vm: String },
    /// Print the Rust generated for this machine (what hv's build includes as `machine.rs`).
    Rust { ron: String },
    /// Print the QEMU command line that boots `kernel` for this machine.
    QemuArgs { ron: String, kernel: PathBuf },
    /// Pack a directory into an uncompressed initramfs (newc cpio) with /dev/console.
    Initramfs { dir: PathBuf, out: PathBuf },
    /// Print the sizes of a built hypervisor ELF (text, data, bss, stacks, tables, guests).
    Size { elf: PathBuf },
    /// Boot `kernel` on QEMU, stream the console, exit with the status the hypervisor reports.
    /// Standard input is the console's input (a terminal, or a pipe in tests).
    Run {
        ron: String,
        kernel: PathBuf,
        /// Give up (exit 124) after this many seconds. None unless asked: a person at the
        /// console is never cut off (tests and benchmarks ask for one).
        #[arg(long)]
        timeout: Option<u64>,
        /// Count instructions as time (-icount shift=0,sleep=off) for deterministic figures.
        #[arg(long)]
        icount: bool,
        /// Start halted, with QEMU's gdb stub on this TCP port (`hvgen gdb` connects to it).
        #[arg(long)]
        gdb: Option<u16>,
    },
    /// Print gdb commands that load hv's symbols and every guest crate's, and attach to a
    /// machine started with `run --gdb <port>` (see docs/debugging.md).
    Gdb {
        ron: String,
        kernel: PathBuf,
        #[arg(long, default_value_t = 1234)]
        port: u16,
    },
}

fn load(root: &Path, ron: &str) -> Result<codegen::Generated, ExitCode> {
    load_with_guests(root, ron).map(|(g, _)| g)
}

/// The machine, and the guest ELFs it was built with.
fn load_with_guests(root: &Path, ron: &str) -> Result<(codegen::Generated, Vec<PathBuf>), ExitCode> {
    let out_dir = root.join("target/hvgen");
    let _ = std::fs::create_dir_all(&out_dir);
    let mut images = CargoGuests::new(root, &out_dir);
    let mut req = codegen::Request {
        ron: ron.to_string(),
        root: root.to_path_buf(),
        devices_dir: root.join("devices/src"),
        out_dir: out_dir.clone(),
        images: &mut images,
    };
    let g = codegen::generate(&mut req).map_err(|f| {
        eprint!("{}", f.rendered);
        ExitCode::FAILURE
    })?;
    Ok((g, images.elfs))
}

/// The line hv prints last: `hv: all VMs stopped, exit status N`.
pub fn final_status(line: &str) -> Option<u8> {
    line.trim().strip_prefix("hv: all VMs stopped, exit status ")?.parse().ok()
}

fn run(
    m: &codegen::model::Machine,
    kernel: &Path,
    timeout: Option<u64>,
    icount: bool,
    gdb: Option<u16>,
) -> ExitCode {
    let (qemu, package) = codegen::qemu::qemu(&m.board);
    if which(qemu).is_none() {
        eprintln!("hvgen: {qemu} not found: install Debian's {package} (apt-get install {package})");
        return ExitCode::from(127);
    }
    let mut args = codegen::qemu::args(m, kernel);
    if icount {
        args.extend(["-icount".into(), "shift=0,sleep=off".into()]);
    }
    if let Some(port) = gdb {
        args.extend(["-gdb".into(), format!("tcp:127.0.0.1:{port}"), "-S".into()]);
    }
    let mut child =
        // No sound: a board with an audio device (a DisplayPort controller, say) would have QEMU
        // look for a host sound card and complain on stderr.
        match Command::new(qemu)
            .args(&args)
            .env("QEMU_AUDIO_DRV", "none")
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("hvgen: cannot start QEMU: {e}");
                return ExitCode::from(127);
            }
        };
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Bytes, not lines: a shell prompt has no newline and must show at once.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let mut status = None;
    let mut line = Vec::new();
    let out = std::io::stdout();
    loop {
        let next = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(bytes) => {
                let mut o = out.lock();
                let _ = o.write_all(&bytes);
                let _ = o.flush();
                for &b in &bytes {
                    if b == b'\n' {
                        status = status.or(final_status(&String::from_utf8_lossy(&line)));
                        line.clear();
                    } else if line.len() < 256 {
                        line.push(b);
                    }
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("hvgen: timed out after {} s", timeout.unwrap_or(0));
                return ExitCode::from(124);
            }
        }
    }
    let _ = child.wait();
    match status {
        Some(s) => ExitCode::from(s),
        None => {
            eprintln!("hvgen: QEMU ended without the hypervisor's final status line");
            ExitCode::from(125)
        }
    }
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(bin)).find(|f| f.is_file()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = &cli.root;
    match cli.cmd {
        Cmd::Check { ron } => match load(root, &ron) {
            Ok(g) => {
                print!("{}", g.report);
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Rust { ron } => match load(root, &ron) {
            Ok(g) => {
                print!("{}", g.rust);
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Dts { ron, vm } => match load(root, &ron) {
            Ok(g) => match g.dtbs.iter().find(|(n, _, _)| *n == vm) {
                Some((_, _, dts)) => {
                    print!("{dts}");
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("hvgen: no VM `{vm}` with a generated DTB");
                    ExitCode::FAILURE
                }
            },
            Err(c) => c,
        },
        Cmd::QemuArgs { ron, kernel } => match load(root, &ron) {
            Ok(g) => {
                let (qemu, _) = codegen::qemu::qemu(&g.machine.board);
                println!("{qemu} {}", codegen::qemu::args(&g.machine, &kernel).join(" "));
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Run { ron, kernel, timeout, icount, gdb } => match load(root, &ron) {
            Ok(g) => run(&g.machine, &kernel, timeout, icount, gdb),
            Err(c) => c,
        },
        Cmd::Gdb { ron, kernel, port } => match load_with_guests(root, &ron) {
            Ok((_, elfs)) => {
                println!("set pagination off\nset confirm off");
                println!("file {}", kernel.display());
                // Guests run with their MMU off at first, at the addresses they were linked
                // for, so their symbols are where gdb's ELF sections say.
                for elf in elfs {
                    println!("add-symbol-file {}", elf.display());
                }
                println!("target remote 127.0.0.1:{port}");
                ExitCode::SUCCESS
            }
            Err(c) => c,
        },
        Cmd::Initramfs { dir, out } => {
            match codegen::initramfs::pack(&dir).and_then(|b| std::fs::write(&out, b)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hvgen: initramfs from {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Size { elf } => {
            match std::fs::read(&elf).map_err(|e| e.to_string()).and_then(|d| codegen::size::of_elf(&d)) {
                Ok(s) => {
                    println!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("hvgen: {}: {e}", elf.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}
