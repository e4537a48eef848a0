//! Which crate's code is where in a firmware image: flash and static RAM by part (from the ELF
//! symbols), and the panic call sites by part (riscv32: the calls are decoded from the
//! machine code, the part from each call's inlined-call frames in the line tables).
//!
//! An image that links with a panic handler calling an undefined symbol has no panic path at
//! all. One that does not (smoltcp and virtio-drivers index slices and assert) still must
//! have none in nanokafka's part. A panic site is a call, from a function outside the
//! libraries (Rust's `core`, and `heapless`/`byteorder` that several parts share), to a panic
//! entry (`core::panicking::*`, `*_fail`, `*_failed`) or to a library function that reaches
//! one through library code alone (`<Range<usize> as SliceIndex>::index`; not
//! `drop_in_place`, which panics only through a caller's `Drop`). Its owner is the innermost
//! inlined frame at the call that is not library code.

use addr2line::gimli;
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The parts an image is split into.
pub const PARTS: [&str; 5] = ["nanokafka", "smoltcp", "virtio", "application", "unnamed"];
/// Panic sites the line tables cannot place (no line at the call or what leads into it).
pub const UNATTRIBUTED: &str = "unattributed";

/// The part a symbol belongs to, by its demangled name: the crate of the path it starts with
/// (of the type, for `<Type as Trait>::method`). The application's virtio glue module counts
/// as the driver's, as does the driver's DMA pool.
pub fn part_of_symbol(name: &str) -> &'static str {
    let path = name.trim_start_matches(['<', '&', '*', '(', '[']);
    let path = path
        .strip_prefix("mut ")
        .or_else(|| path.strip_prefix("const "))
        .unwrap_or(path);
    let krate = path.split("::").next().unwrap_or_default();
    match krate {
        "nanokafka" => "nanokafka",
        "smoltcp" => "smoltcp",
        "virtio_drivers" | "safe_mmio" | "zerocopy" => "virtio",
        _ if path.starts_with("nanokafka_firmware_net::virtio::") => "virtio",
        _ => "application",
    }
}

/// Crates whose code is shared by the parts: a panic in them is their caller's.
const LIBRARIES: [&str; 4] = ["core::", "compiler_builtins::", "heapless::", "byteorder::"];

/// Whether a demangled function name is library code ([`LIBRARIES`]).
fn is_library(name: &str) -> bool {
    let path = name.trim_start_matches('<');
    LIBRARIES.iter().any(|l| path.starts_with(l))
}

/// The part of a source file (from the line tables), `None` for library code.
fn part_of_file(file: &str) -> Option<&'static str> {
    let library = ["/heapless-", "/byteorder-"];
    if file.starts_with("/rustc/") || library.iter().any(|l| file.contains(l)) {
        return None;
    }
    Some(if file.contains("/smoltcp-") {
        "smoltcp"
    } else if [
        "/virtio-drivers-",
        "/safe-mmio-",
        "/firmware-net/src/virtio.rs",
    ]
    .iter()
    .any(|p| file.contains(p))
    {
        "virtio"
    } else if file.contains("/core/src/") && !file.contains("/examples/") {
        "nanokafka"
    } else {
        "application"
    })
}

/// How code and data are attributed: the part of a source file from the line tables (`None`:
/// library code, the next inlined frame out decides) and of a symbol by its name.
#[derive(Clone, Copy)]
pub struct Attribution {
    file: fn(&str) -> Option<&'static str>,
    symbol: fn(&str) -> &'static str,
}

/// By crate: nanokafka, smoltcp, virtio, application ([`PARTS`]).
pub const BY_CRATE: Attribution = Attribution {
    file: part_of_file,
    symbol: part_of_symbol,
};

/// nanokafka by module ("nk client", "nk protocol", "nk records", "nk wire", "nk other");
/// everything else as [`BY_CRATE`], compiler builtins and mem routines apart ("builtins").
pub const BY_MODULE: Attribution = Attribution {
    file: module_of_file,
    symbol: module_of_symbol,
};

/// The nanokafka module of a path below `core/src/` (`client/cluster.rs`, `error/mod.rs`).
fn core_module(path: &str) -> &'static str {
    match path.split('/').next().unwrap_or_default() {
        "client" => "nk client",
        "protocol" => "nk protocol",
        "records" => "nk records",
        "wire" => "nk wire",
        _ => "nk other",
    }
}

fn module_of_file(file: &str) -> Option<&'static str> {
    match part_of_file(file)? {
        "nanokafka" => Some(core_module(file.rsplit_once("/core/src/")?.1)),
        other => Some(other),
    }
}

fn module_of_symbol(name: &str) -> &'static str {
    let path = name.trim_start_matches(['<', '&', '*', '(', '[']);
    if let Some(rest) = path.strip_prefix("nanokafka::") {
        core_module(&rest.replace("::", "/"))
    } else if ["compiler_builtins::", "mem", "__aeabi_", "bcmp"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        "builtins" // with the firmware's own mem* routines
    } else {
        part_of_symbol(name)
    }
}

type Reader<'a> = gimli::EndianSlice<'a, gimli::RunTimeEndian>;

/// A parsed image: its ELF, its functions and its line tables.
pub struct Image<'a> {
    file: object::File<'a>,
    /// Functions by start address: (size, demangled name).
    functions: BTreeMap<u64, (u64, String)>,
    lines: addr2line::Context<Reader<'a>>,
}

impl<'a> Image<'a> {
    /// Parses `elf` (with its line tables: built with `debug = "line-tables-only"`).
    pub fn new(elf: &'a [u8]) -> Result<Self, String> {
        let file = object::File::parse(elf).map_err(|e| e.to_string())?;
        let mut functions = BTreeMap::new();
        for symbol in file.symbols() {
            if symbol.kind() == SymbolKind::Text && symbol.size() > 0 {
                let name = symbol.name().unwrap_or_default();
                let name = format!("{:#}", rustc_demangle::demangle(name));
                functions.insert(symbol.address(), (symbol.size(), name));
            }
        }
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let dwarf = gimli::Dwarf::load(|id| -> Result<_, gimli::Error> {
            let data = file
                .section_by_name(id.name())
                .and_then(|s| s.data().ok())
                .unwrap_or(&[]);
            Ok(gimli::EndianSlice::new(data, endian))
        })
        .map_err(|e| e.to_string())?;
        let lines = addr2line::Context::from_dwarf(dwarf).map_err(|e| e.to_string())?;
        Ok(Image {
            file,
            functions,
            lines,
        })
    }

    /// The start of the function holding `address`.
    fn function_at(&self, address: u64) -> Option<u64> {
        self.functions
            .range(..=address)
            .next_back()
            .filter(|(start, (size, _))| address < *start + *size)
            .map(|(start, _)| *start)
    }

    /// Whose code the instruction at `address` is: its innermost inlined frame that is not
    /// library code, with `file:line`. `None` when the line tables give it no line (code
    /// merged from several places) or only library frames.
    fn owner(&self, address: u64) -> Option<(&'static str, String)> {
        self.owner_by(address, part_of_file)
    }

    fn owner_by(
        &self,
        address: u64,
        part_of_file: fn(&str) -> Option<&'static str>,
    ) -> Option<(&'static str, String)> {
        let mut frames = self.lines.find_frames(address).skip_all_loads().ok()?;
        while let Ok(Some(frame)) = frames.next() {
            let Some(location) = frame.location else {
                continue;
            };
            let (file, line) = (
                location.file.unwrap_or_default(),
                location.line.unwrap_or(0),
            );
            if line == 0 {
                return None;
            }
            if let Some(part) = part_of_file(file) {
                return Some((part, format!("{file}:{line}")));
            }
        }
        None
    }

    /// The owner of a call at `site`, or of the instructions that lead into it (they set up
    /// its arguments) when the call itself has no line: up to four, not across a `ret` or
    /// jump.
    fn site_owner(&self, site: u64, code: &Code) -> Option<(&'static str, String)> {
        let mut address = site;
        for _ in 0..5 {
            if let Some(owner) = self.owner(address) {
                return Some(owner);
            }
            if code.barriers.contains(&address) {
                return None;
            }
            address = *code.starts.range(..address).next_back()?;
        }
        None
    }

    /// Bytes per part of flash (code, constants, initial values) and of static RAM. Code is
    /// split by its line tables (code inlined into another crate's function counts as the
    /// crate it came from), data by symbol; what no sized symbol covers (anonymous constants,
    /// padding) is "unnamed".
    pub fn split(&self) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
        self.split_by(BY_CRATE)
    }

    /// [`Image::split`] with another attribution.
    pub fn split_by(
        &self,
        by: Attribution,
    ) -> (BTreeMap<&'static str, u64>, BTreeMap<&'static str, u64>) {
        let part_of_symbol = by.symbol;
        let mut flash: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut ram: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut sections = HashMap::new();
        for section in self.file.sections() {
            let name = section.name().unwrap_or_default();
            let object::SectionFlags::Elf { sh_flags } = section.flags() else {
                continue;
            };
            let alloc = sh_flags & u64::from(object::elf::SHF_ALLOC) != 0;
            if !alloc || name == ".stack" || name == ".heap" || section.size() == 0 {
                continue;
            }
            let writable = sh_flags & u64::from(object::elf::SHF_WRITE) != 0;
            let in_flash = !writable || section.kind() == SectionKind::Data; // initial values
            sections.insert(section.index(), (writable, in_flash, section.kind()));
            if writable {
                *ram.entry("unnamed").or_default() += section.size();
            }
            if in_flash {
                *flash.entry("unnamed").or_default() += section.size();
            }
        }
        let add = |map: &mut BTreeMap<&'static str, u64>, part, size: u64| {
            *map.entry(part).or_default() += size;
            let unnamed = map.entry("unnamed").or_default();
            *unnamed = unnamed.saturating_sub(size);
        };
        for symbol in self.file.symbols() {
            let (Some(index), size) = (symbol.section_index(), symbol.size()) else {
                continue;
            };
            let raw = symbol.name().unwrap_or_default();
            let Some(&(writable, in_flash, kind)) = sections.get(&index) else {
                continue;
            };
            if size == 0 || raw.starts_with(".L") {
                continue;
            }
            let name = format!("{:#}", rustc_demangle::demangle(raw));
            if kind == SectionKind::Text && symbol.kind() == SymbolKind::Text {
                let start = symbol.address();
                let mut covered = 0;
                if let Ok(ranges) = self.lines.find_location_range(start, start + size) {
                    for (address, len, _) in ranges {
                        let len = len.min(start + size - address.max(start));
                        let part = self.owner_by(address, by.file).map(|(part, _)| part);
                        add(&mut flash, part.unwrap_or(part_of_symbol(&name)), len);
                        covered += len;
                    }
                }
                add(
                    &mut flash,
                    part_of_symbol(&name),
                    size.saturating_sub(covered),
                );
                continue;
            }
            let part = part_of_symbol(&name);
            if writable {
                add(&mut ram, part, size);
            }
            if in_flash {
                add(&mut flash, part, size);
            }
        }
        (flash, ram)
    }

    /// The panic call sites of a riscv32 image (see the module docs).
    pub fn panic_sites(&self) -> Result<Vec<PanicSite>, String> {
        if self.file.architecture() != object::Architecture::Riscv32 {
            return Err(format!(
                "panic sites are decoded for riscv32 only, not {:?}",
                self.file.architecture()
            ));
        }
        // Calls: (site, caller start, callee start).
        let mut calls = Vec::new();
        let mut code = Code::default();
        for section in self
            .file
            .sections()
            .filter(|s| s.kind() == SectionKind::Text)
        {
            let data = section.data().map_err(|e| e.to_string())?;
            let decoded = Code::decode(section.address(), data);
            for &(site, target) in &decoded.calls {
                let (caller, callee) = (self.function_at(site), self.function_at(target));
                if let (Some(caller), Some(callee)) = (caller, callee) {
                    if caller != callee && callee == target {
                        calls.push((site, caller, callee));
                    }
                }
            }
            code.calls.extend(decoded.calls);
            code.starts.extend(decoded.starts);
            code.barriers.extend(decoded.barriers);
        }
        let functions = &self.functions;
        let root = functions
            .iter()
            .find(|(_, (_, name))| name.ends_with("rust_begin_unwind"))
            .map(|(start, _)| *start)
            .ok_or("no panic handler (rust_begin_unwind) in the image")?;
        let library = |start: u64| start == root || is_library(&functions[&start].1);
        let entry = |start: u64| {
            let name = &functions[&start].1;
            let panics =
                name.contains("panic") || name.ends_with("_fail") || name.ends_with("_failed");
            start == root || (is_library(name) && panics)
        };
        // Library functions that reach an entry through library functions alone.
        let mut panicking: HashSet<u64> = functions.keys().copied().filter(|&f| entry(f)).collect();
        loop {
            let before = panicking.len();
            for &(_, caller, callee) in &calls {
                if library(caller) && panicking.contains(&callee) {
                    panicking.insert(caller);
                }
            }
            if panicking.len() == before {
                break;
            }
        }
        let mut sites = Vec::new();
        for &(site, caller, callee) in &calls {
            if !panicking.contains(&callee) || library(caller) {
                continue;
            }
            let function = functions[&caller].1.clone();
            let (part, location) = self
                .site_owner(site, &code)
                .unwrap_or((UNATTRIBUTED, "no line".to_owned()));
            sites.push(PanicSite {
                address: site,
                function,
                location,
                part,
            });
        }
        Ok(sites)
    }
}

/// A call site into panicking library code: its address and the part that owns it.
pub struct PanicSite {
    /// Address of the call.
    pub address: u64,
    /// Function the call is in.
    pub function: String,
    /// `file:line` of the innermost frame outside library code.
    pub location: String,
    /// Its part.
    pub part: &'static str,
}

/// riscv32 (RV32IMAC) machine code, decoded as far as the panic sites need.
#[derive(Default)]
struct Code {
    /// Every direct call or jump: (site, target). Indirect ones count when their register
    /// was just set by `auipc` (`call`, `tail`); they are sited at the `auipc`, since the
    /// jump of a call merged from several places may carry no line.
    calls: Vec<(u64, u64)>,
    /// Where instructions start.
    starts: BTreeSet<u64>,
    /// Instructions that the one before does not fall into (after `ret`, `j`, `tail`).
    barriers: HashSet<u64>,
}

impl Code {
    fn decode(base: u64, code: &[u8]) -> Code {
        let sext = |value: u32, bits: u32| ((value << (32 - bits)) as i32 >> (32 - bits)) as i64;
        let at = |pc: u64, offset: i64| pc.wrapping_add_signed(offset) & 0xffff_ffff;
        let mut out = Code::default();
        // (register, value, address) set by the last instruction.
        let mut auipc: Option<(u32, u64, u64)> = None;
        let mut offset = 0usize;
        while offset + 2 <= code.len() {
            let pc = base + offset as u64;
            out.starts.insert(pc);
            let half = u32::from(u16::from_le_bytes([code[offset], code[offset + 1]]));
            let last_auipc = auipc.take();
            if half & 3 != 3 {
                offset += 2;
                match (half & 3, half >> 13) {
                    // C.JAL (RV32) and C.J (a barrier after it).
                    (1, f @ (0b001 | 0b101)) => {
                        let imm = ((half >> 12) & 1) << 11
                            | ((half >> 11) & 1) << 4
                            | ((half >> 9) & 3) << 8
                            | ((half >> 8) & 1) << 10
                            | ((half >> 7) & 1) << 6
                            | ((half >> 6) & 1) << 7
                            | ((half >> 3) & 7) << 1
                            | ((half >> 2) & 1) << 5;
                        out.calls.push((pc, at(pc, sext(imm, 12))));
                        if f == 0b101 {
                            out.barriers.insert(pc + 2);
                        }
                    }
                    // C.JR / C.JALR rs1 (rs2 = 0): after `auipc rs1`, a call to its value;
                    // C.JR (bit 12 clear: `ret`, `tail`) is a barrier.
                    (2, 0b100) if (half >> 2) & 31 == 0 => {
                        let rs1 = (half >> 7) & 31;
                        if let Some((_, value, site)) =
                            last_auipc.filter(|a| a.0 == rs1 && rs1 != 0)
                        {
                            out.calls.push((site, value));
                        }
                        if half & (1 << 12) == 0 {
                            out.barriers.insert(pc + 2);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if offset + 4 > code.len() {
                break;
            }
            let bytes = [
                code[offset],
                code[offset + 1],
                code[offset + 2],
                code[offset + 3],
            ];
            let word = u32::from_le_bytes(bytes);
            offset += 4;
            let rd = (word >> 7) & 31;
            match word & 0x7f {
                0x17 => {
                    let value = at(pc, i64::from((word & 0xffff_f000) as i32));
                    auipc = Some((rd, value, pc));
                }
                0x6f => {
                    let imm = (word >> 31) << 20
                        | ((word >> 12) & 0xff) << 12
                        | ((word >> 20) & 1) << 11
                        | ((word >> 21) & 0x3ff) << 1;
                    out.calls.push((pc, at(pc, sext(imm, 21))));
                    if rd == 0 {
                        out.barriers.insert(pc + 4);
                    }
                }
                0x67 => {
                    let rs1 = (word >> 15) & 31;
                    if let Some((_, value, site)) = last_auipc.filter(|a| a.0 == rs1) {
                        out.calls
                            .push((site, at(value, i64::from((word as i32) >> 20))));
                    }
                    if rd == 0 {
                        out.barriers.insert(pc + 4);
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riscv_calls_decode_jal_call_tail_and_compressed_jumps() {
        // jal ra, +8; auipc ra, 0x1 + jalr ra, -4(ra); c.j -4; auipc t1, 0 + c.jr t1. Calls
        // through auipc are sited at the auipc.
        let code = [
            0xef, 0x00, 0x80, 0x00, // jal ra, 8
            0x97, 0x10, 0x00, 0x00, // auipc ra, 1
            0xe7, 0x80, 0xc0, 0xff, // jalr ra, -4(ra)
            0xf5, 0xbf, // c.j -4
            0x17, 0x03, 0x00, 0x00, // auipc t1, 0
            0x02, 0x83, // c.jr t1
        ];
        let decoded = Code::decode(0x1000, &code);
        assert!(decoded.barriers.contains(&0x100e)); // after c.j
        assert_eq!(decoded.starts.len(), 6);
        assert_eq!(
            decoded.calls,
            [
                (0x1000, 0x1008),
                (0x1004, 0x1004 + 0x1000 - 4),
                (0x100c, 0x1008),
                (0x100e, 0x100e)
            ]
        );
    }

    #[test]
    fn symbols_and_files_fall_into_modules() {
        assert_eq!(
            module_of_symbol("nanokafka::client::cluster::link_to"),
            "nk client"
        );
        assert_eq!(
            module_of_symbol("<nanokafka::protocol::fetch::FetchTopicResponse as nanokafka::wire::Decode>::decode"),
            "nk protocol"
        );
        assert_eq!(module_of_symbol("nanokafka::crc32::crc"), "nk other");
        assert_eq!(
            module_of_symbol("compiler_builtins::mem::memcpy"),
            "builtins"
        );
        assert_eq!(module_of_symbol("__aeabi_memclr4"), "builtins");
        assert_eq!(module_of_symbol("__INTERRUPTS"), "application");
        assert_eq!(
            module_of_symbol("nanokafka_firmware::job::run"),
            "application"
        );
        assert_eq!(
            module_of_file("/w/nk/core/src/records/batch.rs"),
            Some("nk records")
        );
        assert_eq!(module_of_file("/w/nk/core/src/lib.rs"), Some("nk other"));
        assert_eq!(
            module_of_file("/w/nk/examples/firmware/src/job.rs"),
            Some("application")
        );
        assert_eq!(
            module_of_file("/rustc/abc/library/core/src/result.rs"),
            None
        );
    }

    #[test]
    fn symbols_and_files_fall_into_parts() {
        assert_eq!(
            part_of_symbol("nanokafka::client::cluster::link_to"),
            "nanokafka"
        );
        assert_eq!(
            part_of_symbol("<nanokafka::protocol::fetch::FetchTopicResponse as nanokafka::wire::Decode>::decode"),
            "nanokafka"
        );
        assert_eq!(
            part_of_symbol("smoltcp::iface::interface::Interface::poll"),
            "smoltcp"
        );
        assert_eq!(
            part_of_symbol("virtio_drivers::queue::VirtQueue<H,_>::add"),
            "virtio"
        );
        assert_eq!(
            part_of_symbol("nanokafka_firmware_net::virtio::POOL"),
            "virtio"
        );
        assert_eq!(
            part_of_symbol("nanokafka_firmware::job::run"),
            "application"
        );
        assert_eq!(part_of_symbol("core::panicking::panic"), "application");
        assert_eq!(
            part_of_file("/rustc/abc/library/core/src/slice/index.rs"),
            None
        );
        assert_eq!(
            part_of_file("/r/.cargo/registry/src/x/smoltcp-0.14.0/src/wire/ipv4.rs"),
            Some("smoltcp")
        );
        assert_eq!(
            part_of_file("/w/nk/core/src/client/cluster.rs"),
            Some("nanokafka")
        );
        assert_eq!(
            part_of_file("/w/nk/examples/firmware/src/job.rs"),
            Some("application")
        );
        assert_eq!(
            part_of_file("/w/nk/examples/firmware-net/src/virtio.rs"),
            Some("virtio")
        );
    }
}
