//! Channels between VMs and the VMs that manage others: each peer's region and doorbell must fit
//! in its VM's address space beside everything else there, its interrupt must be free in that
//! VM, and every VM named must exist. Runs after each VM is validated on its own.
use super::{did_you_mean, line, line_name, native, valid_name, Space, S2_IPA_LIMIT};
use crate::diag::Diags;
use crate::model::*;
use crate::raw;
use hv_types::{IntId, Ipa, Pa, VmId};
use std::collections::HashMap;

fn find_vm(d: &mut Diags, path: &str, name: &str, m: &raw::Machine) -> Option<VmId> {
    match m.vms.iter().position(|v| v.name == name) {
        Some(i) => Some(VmId(i)),
        None => {
            let hint = did_you_mean(name, m.vms.iter().map(|v| v.name.as_str()));
            d.err(path, format!("no VM named `{name}`{hint}"));
            None
        }
    }
}

fn page_aligned(d: &mut Diags, path: &str, what: &str, ipa: u64) {
    if !ipa.is_multiple_of(PAGE) {
        d.err(path, format!("{what} IPA {ipa:#x} is not aligned to 0x1000"));
    }
}

/// Resolve `manages`, and check each management page against its VM's address space.
pub(super) fn manages(d: &mut Diags, m: &raw::Machine, vms: &mut [Vm], spaces: &mut [Space]) {
    for (i, rv) in m.vms.iter().enumerate() {
        let Some(mg) = &rv.manages else { continue };
        let p = format!("vms.{i}.manages");
        let mut list = Vec::new();
        for (k, name) in mg.vms.iter().enumerate() {
            let path = format!("{p}.vms.{k}");
            let Some(id) = find_vm(d, &path, name, m) else { continue };
            if id.0 == i {
                d.err(&path, format!("VM `{name}` cannot manage itself: it stops, pauses and restarts through its own firmware calls"));
            } else if list.contains(&id) {
                d.err(&path, format!("VM `{name}` is listed twice"));
            } else {
                list.push(id);
            }
        }
        if mg.vms.is_empty() {
            d.err(&format!("{p}.vms"), "`manages` lists no VM: leave it out instead");
        }
        page_aligned(d, &format!("{p}.ipa"), "the management page", mg.ipa);
        if mg.ipa.checked_add(REG_PAGE).is_none_or(|e| e > S2_IPA_LIMIT) {
            d.err(&format!("{p}.ipa"), "the management page ends beyond the 40-bit IPA space");
        }
        let r = Region { base: mg.ipa, size: REG_PAGE };
        spaces[i].ipas.claim(d, &format!("{p}.ipa"), "the management page".to_string(), r);
        vms[i].manages = list;
        vms[i].manager_page = Some(Ipa(mg.ipa));
    }
    // A manager's command runs on its own vCPU and waits for the target's vCPUs to leave; two
    // VMs that manage each other (through others or not) could each wait for the other.
    for (i, rv) in m.vms.iter().enumerate() {
        let Some(mg) = &rv.manages else { continue };
        for (k, name) in mg.vms.iter().enumerate() {
            let Some(t) = m.vms.iter().position(|v| &v.name == name) else { continue };
            if t != i && reaches(vms, t, i) {
                d.err(
                    &format!("vms.{i}.manages.vms.{k}"),
                    format!(
                        "`{}` manages `{name}`, which manages `{}` (directly or through others): a restart could wait for itself",
                        rv.name, rv.name
                    ),
                );
            }
        }
    }
}

/// Does VM `from` manage VM `to`, directly or through others?
fn reaches(vms: &[Vm], from: usize, to: usize) -> bool {
    let mut seen = vec![false; vms.len()];
    let mut stack = vec![from];
    while let Some(v) = stack.pop() {
        if v == to {
            return true;
        }
        if !std::mem::replace(&mut seen[v], true) {
            stack.extend(vms[v].manages.iter().map(|t| t.0));
        }
    }
    false
}

/// Validate the channels; their regions are placed later (`layout::place_channels`).
/// Each channel's regions, doorbells and interrupts join its peers' `spaces`, so two channels
/// clash as a channel and a device do.
pub(super) fn channels(d: &mut Diags, m: &raw::Machine, b: &Board, spaces: &mut [Space]) -> Vec<Channel> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (c, rc) in m.channels.iter().enumerate() {
        let p = format!("channels.{c}");
        if !valid_name(&rc.name) {
            d.err(
                &format!("{p}.name"),
                format!("channel name `{}` must start with a-z and use only a-z, 0-9, `_` and `-`", rc.name),
            );
        }
        if let Some(o) = names.insert(&rc.name, c) {
            d.clash(
                &format!("{p}.name"),
                format!("channel name `{}` is used twice", rc.name),
                &format!("channels.{o}.name"),
                "first used here",
            );
        }
        for (what, size) in [("shared", rc.shared), ("output", rc.output)] {
            if !size.is_multiple_of(PAGE) {
                d.err(
                    &format!("{p}.{what}"),
                    format!("the {what} section's size {size:#x} is not a multiple of 0x1000"),
                );
            }
        }
        if rc.peers.len() < 2 {
            d.err(
                &format!("{p}.peers"),
                format!(
                    "channel `{}` has {} peer(s): a channel joins two VMs or more",
                    rc.name,
                    rc.peers.len()
                ),
            );
        } else if rc.peers.len() > CHANNEL_PEERS {
            d.err(
                &format!("{p}.peers"),
                format!("channel `{}` has {} peers: at most {CHANNEL_PEERS}", rc.name, rc.peers.len()),
            );
        }
        let size = channel_size(rc.shared, rc.output, rc.peers.len());
        if let raw::Placement::At(pa) = rc.pa {
            if !pa.is_multiple_of(PAGE) {
                d.err(&format!("{p}.pa"), format!("pinned PA {pa:#x} is not aligned to 0x1000"));
            }
        }
        let mut peers = Vec::new();
        for (k, rp) in rc.peers.iter().enumerate() {
            let pp = format!("{p}.peers.{k}");
            let Some(id) = find_vm(d, &format!("{pp}.vm"), &rp.vm, m) else { continue };
            if let Some(o) = rc.peers[..k].iter().position(|x| x.vm == rp.vm) {
                d.clash(
                    &format!("{pp}.vm"),
                    format!("VM `{}` is a peer of channel `{}` twice", rp.vm, rc.name),
                    &format!("{p}.peers.{o}.vm"),
                    "first listed here",
                );
                continue;
            }
            page_aligned(d, &format!("{pp}.ipa"), "the channel's", rp.ipa);
            if rp.ipa.checked_add(size).is_none_or(|e| e > S2_IPA_LIMIT) {
                d.err(&format!("{pp}.ipa"), "the channel ends beyond the 40-bit IPA space");
            }
            let region = Region { base: rp.ipa, size };
            spaces[id.0].ipas.claim(d, &format!("{pp}.ipa"), format!("channel `{}`", rc.name), region);
            let (kind, at) = match rp.doorbell {
                raw::Doorbell::Page(a) => (DoorbellKind::Page, a),
                raw::Doorbell::Pl061(a) => (DoorbellKind::Pl061, a),
                raw::Doorbell::SifiveGpio(a) => (DoorbellKind::SifiveGpio, a),
            };
            let dp = format!("{pp}.doorbell");
            match (kind, b.arch) {
                (DoorbellKind::Pl061, Arch::Riscv64) => {
                    d.err(&dp, "a PL061 is an AMBA device, which Linux drives on AArch64 only: use `SifiveGpio(…)` or `Page(…)` on riscv64")
                }
                (DoorbellKind::SifiveGpio, Arch::Aarch64) => {
                    d.err(&dp, "`SifiveGpio` is the riscv64 doorbell: use `Pl061(…)` or `Page(…)` on AArch64")
                }
                _ => {}
            }
            page_aligned(d, &dp, "the doorbell", at);
            if at.checked_add(REG_PAGE).is_none_or(|e| e > S2_IPA_LIMIT) {
                d.err(&dp, "the doorbell ends beyond the 40-bit IPA space");
            }
            let bell = Region { base: at, size: REG_PAGE };
            spaces[id.0].ipas.claim(d, &dp, format!("the doorbell of channel `{}`", rc.name), bell);
            let ip = format!("{pp}.irq");
            let irq = line(d, &ip, rp.irq, &b.platform);
            super::check_virq_range(d, &ip, irq, &b.platform);
            // A SiFive GPIO controller has an interrupt per line: `irq` and the ones after it.
            let lines = if kind == DoorbellKind::SifiveGpio { SIFIVE_LINES } else { 1 };
            if let (Platform::Riscv64 { plic, .. }, true) = (&b.platform, lines > 1) {
                if irq.0.saturating_add(lines - 1) > plic.sources {
                    d.err(
                        &ip,
                        format!(
                            "a SiFive GPIO doorbell takes {lines} sources from {:?}: {} to {}, beyond this PLIC's {}",
                            rp.irq,
                            irq.0,
                            irq.0 + lines - 1,
                            plic.sources
                        ),
                    );
                }
            }
            for n in (0..lines).map(|i| irq.0.saturating_add(i)).filter(|_| native(rp.irq, &b.platform)) {
                if let Some(o) = spaces[id.0].irqs.insert(IntId(n), ip.clone()) {
                    d.clash(
                        &ip,
                        format!(
                            "{} {n} (of {:?}) is already used in VM `{}`",
                            line_name(&b.platform),
                            rp.irq,
                            rp.vm
                        ),
                        &o,
                        "first used here",
                    );
                }
            }
            peers.push(Peer { vm: id, ipa: Ipa(rp.ipa), doorbell: kind, doorbell_ipa: Ipa(at), irq });
        }
        let pa = match rc.pa {
            raw::Placement::At(pa) => Pa(pa),
            raw::Placement::Auto => Pa(u64::MAX),
        };
        out.push(Channel { name: rc.name.clone(), pa, shared: rc.shared, output: rc.output, peers });
    }
    out
}
