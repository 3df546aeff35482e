//! `gpuos fuzz --elf`: the ELF loader's mutation fuzzer.
//!
//! Mutants of a few static binaries (ELF header fields, program header fields and
//! counts, duplicated PT_LOADs, the sizes of PT_TLS, PT_GNU_RELRO and PT_GNU_STACK,
//! random bytes, truncations) each run as a child `gpuos run --backend cpu --max-insns N`
//! under a wall-clock bound. A mutant may be refused, run, or end in a guest signal; it
//! must never make gpuos panic or abort, run past the bound (the guest's instructions
//! are bounded, so gpuos itself would be stuck), or take more host memory than the bound
//! (the child's peak RSS from wait4(2)'s rusage). The same seed gives the same mutants.

use gpuos_dev::fuzz::Rng;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What `gpuos fuzz --elf` runs.
pub struct ElfFuzz {
    /// Seed of the mutations.
    pub seed: u64,
    /// Mutants to run.
    pub count: usize,
    /// The binaries to mutate.
    pub seeds: Vec<PathBuf>,
    /// Mutants run at once.
    pub jobs: usize,
    /// The guest's instruction bound (`gpuos run --max-insns`).
    pub max_insns: u64,
    /// Wall-clock bound of one run.
    pub timeout: Duration,
    /// Peak RSS bound of one run, in KiB.
    pub rss_limit_kib: u64,
    /// Where bad mutants are saved.
    pub keep: PathBuf,
    /// The gpuos executable.
    pub gpuos: PathBuf,
}

/// How a run of a mutant ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// The guest ran and exited.
    Exited,
    /// gpuos refused the program (one `gpuos:` line, exit status 126, 127, 1, or 255
    /// for an interpreter it cannot load).
    Refused,
    /// The guest was killed by a signal (128+signal and a `killed by` line).
    GuestSignal,
    /// gpuos panicked, aborted or died of a signal of its own.
    Panic,
    /// gpuos ran past the wall-clock bound.
    Hang,
    /// gpuos's peak RSS passed the bound.
    Memory,
}

impl Outcome {
    fn bad(self) -> bool {
        self >= Outcome::Panic
    }
}

/// Totals of a fuzzing run.
#[derive(Default)]
struct Tally {
    by_outcome: std::collections::BTreeMap<Outcome, usize>,
    peak_rss_kib: u64,
    reports: Vec<String>,
}

/// Run the mutants; the exit status is 0 when none was bad, 1 otherwise, 2 when the
/// fuzzer could not run.
pub fn run(f: &ElfFuzz) -> i32 {
    let seeds: Vec<(String, Vec<u8>)> = match f
        .seeds
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .map_or("prog".into(), |n| n.to_string_lossy().into_owned());
            std::fs::read(p)
                .map(|b| (name, b))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gpuos fuzz --elf: {e}");
            return 2;
        }
    };
    if seeds.is_empty() || f.count == 0 {
        eprintln!(
            "gpuos fuzz --elf: give seed binaries (FILES or --seeds-dir) and --count of at least 1"
        );
        return 2;
    }
    let work = std::env::temp_dir().join(format!("gpuos-fuzz-elf-{}", std::process::id()));
    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let tally = Mutex::new(Tally::default());
    let jobs = f.jobs.max(1);
    let failed = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs)
            .map(|w| {
                let (next, tally, seeds, work) = (&next, &tally, &seeds, &work);
                s.spawn(move || worker(f, seeds, &work.join(format!("w{w}")), next, tally))
            })
            .collect();
        workers
            .into_iter()
            .filter_map(|w| w.join().ok()?.err())
            .next()
    });
    let _ = std::fs::remove_dir_all(&work);
    if let Some(e) = failed {
        eprintln!("gpuos fuzz --elf: {e}");
        return 2;
    }
    let t = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    for r in &t.reports {
        eprint!("{r}");
    }
    let n = |o| t.by_outcome.get(&o).copied().unwrap_or(0);
    let bad = n(Outcome::Panic) + n(Outcome::Hang) + n(Outcome::Memory);
    println!(
        "gpuos fuzz --elf: seed {}: {} mutants of {} binaries in {:.1} s: {} refused, {} exited, {} guest signals; {} panics, {} hangs (over {} s), {} over {} MiB (peak RSS {} MiB)",
        f.seed,
        f.count,
        seeds.len(),
        t0.elapsed().as_secs_f64(),
        n(Outcome::Refused),
        n(Outcome::Exited),
        n(Outcome::GuestSignal),
        n(Outcome::Panic),
        n(Outcome::Hang),
        f.timeout.as_secs_f64(),
        n(Outcome::Memory),
        f.rss_limit_kib >> 10,
        t.peak_rss_kib >> 10,
    );
    i32::from(bad > 0)
}

/// One job: take mutant indices until `count`, run each, add to the tally.
fn worker(
    f: &ElfFuzz,
    seeds: &[(String, Vec<u8>)],
    dir: &Path,
    next: &AtomicUsize,
    tally: &Mutex<Tally>,
) -> Result<(), String> {
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd).map_err(|e| format!("{}: {e}", cwd.display()))?;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= f.count {
            return Ok(());
        }
        let (name, seed) = &seeds[i % seeds.len()];
        let mut rng = Rng::new(f.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut elf = seed.clone();
        let what = mutate(&mut elf, &mut rng);
        let prog = dir.join(name);
        std::fs::write(&prog, &elf).map_err(|e| format!("{}: {e}", prog.display()))?;
        let run = run_one(f, &prog, &cwd)
            .map_err(|e| format!("cannot run {}: {e}", f.gpuos.display()))?;
        // The guest may have written files: each mutant starts in an empty directory.
        if std::fs::read_dir(&cwd).map_or(true, |mut d| d.next().is_some()) {
            let _ = std::fs::remove_dir_all(&cwd);
            std::fs::create_dir_all(&cwd).map_err(|e| format!("{}: {e}", cwd.display()))?;
        }
        let report = run
            .outcome
            .bad()
            .then(|| save(f, i, name, &what, &elf, &run));
        let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
        *t.by_outcome.entry(run.outcome).or_default() += 1;
        t.peak_rss_kib = t.peak_rss_kib.max(run.rss_kib);
        t.reports.extend(report);
        let done: usize = t.by_outcome.values().sum();
        if done.is_multiple_of(10_000) {
            eprintln!("gpuos fuzz --elf: {done} of {} mutants run", f.count);
        }
    }
}

/// Save a bad mutant in `keep` and describe it, with the command that reproduces it.
fn save(f: &ElfFuzz, i: usize, name: &str, what: &[String], elf: &[u8], run: &Run) -> String {
    let file = f
        .keep
        .join(format!("{:?}-{i}-{name}", run.outcome).to_lowercase());
    let saved = std::fs::create_dir_all(&f.keep)
        .and_then(|()| std::fs::write(&file, elf))
        .map_or_else(
            |e| format!("not saved: {e}"),
            |()| format!("saved as {}", file.display()),
        );
    let head: String = run
        .stderr
        .lines()
        .take(3)
        .map(|l| format!("    {l}\n"))
        .collect();
    format!(
        "gpuos fuzz --elf: {:?} (status {}, {:.1} s, RSS {} MiB) on mutant {i} of {name}: {}; {saved}\n  reproduce: {} run --backend cpu --max-insns {} {}\n{head}",
        run.outcome,
        run.status,
        run.seconds,
        run.rss_kib >> 10,
        what.join(", "),
        f.gpuos.display(),
        f.max_insns,
        file.display(),
    )
}

/// What a run of one mutant gave.
struct Run {
    outcome: Outcome,
    /// The wait status, as text.
    status: String,
    seconds: f64,
    rss_kib: u64,
    /// The start of its stderr.
    stderr: String,
}

/// Stderr kept per run, in bytes (the rest is read and dropped).
const STDERR_KEEP: usize = 16 << 10;

/// Run `prog` under gpuos in `cwd`, bounded in time; classify the result.
fn run_one(f: &ElfFuzz, prog: &Path, cwd: &Path) -> std::io::Result<Run> {
    let t0 = Instant::now();
    let mut child = Command::new(&f.gpuos)
        .args(["run", "--backend", "cpu", "--threads", "1", "--max-insns"])
        .arg(f.max_insns.to_string())
        .arg(prog)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut keep = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.by_ref().take(STDERR_KEEP as u64).read_to_end(&mut keep);
            let _ = std::io::copy(p, &mut std::io::sink());
        }
        String::from_utf8_lossy(&keep).into_owned()
    });
    let (status, rss_kib, timed_out) = wait_bounded(child.id() as libc::pid_t, t0 + f.timeout)?;
    let stderr = reader.join().unwrap_or_default();
    let seconds = t0.elapsed().as_secs_f64();
    let outcome = classify(status, &stderr, timed_out, rss_kib > f.rss_limit_kib);
    let status = if libc::WIFEXITED(status) {
        format!("exit {}", libc::WEXITSTATUS(status))
    } else {
        format!("host signal {}", libc::WTERMSIG(status))
    };
    Ok(Run {
        outcome,
        status,
        seconds,
        rss_kib,
        stderr,
    })
}

/// Wait for child `pid` (wait4(2), polling with WNOHANG) until `deadline`, then kill it
/// (SIGKILL; it is ours to reap, so the pid cannot have been reused). Returns the wait
/// status, the peak RSS in KiB (ru_maxrss) and whether it was killed.
fn wait_bounded(pid: libc::pid_t, deadline: Instant) -> std::io::Result<(i32, u64, bool)> {
    let mut nap = Duration::from_micros(500);
    let mut killed = false;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        // SAFETY: wait4 fills the two locals; pid is our unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
        if r == pid {
            return Ok((status, ru.ru_maxrss.max(0) as u64, killed));
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
            continue;
        }
        if Instant::now() >= deadline {
            // SAFETY: pid is our child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
            continue;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

/// The outcome of a run from its wait status and stderr.
fn classify(status: i32, stderr: &str, timed_out: bool, over_memory: bool) -> Outcome {
    // A Rust panic prints "panicked at" (and exits 101); the kernel's gpuos_panic
    // prints "gpuos: internal error" and aborts. A guest's own exit status 101 is its
    // business.
    let crashed = !libc::WIFEXITED(status)
        || stderr.contains("panicked at")
        || stderr.contains("gpuos: internal error");
    if timed_out {
        Outcome::Hang
    } else if crashed {
        Outcome::Panic
    } else if over_memory {
        Outcome::Memory
    } else if stderr.contains(" killed by ") {
        Outcome::GuestSignal
    } else if matches!(libc::WEXITSTATUS(status), 1 | 126 | 127 | 255)
        && stderr.lines().count() == 1
        && stderr.starts_with("gpuos: ")
    {
        Outcome::Refused
    } else {
        Outcome::Exited
    }
}

// ---------------------------------------------------------------------------------
// Mutations

/// ELF header fields: offset, size in bytes, name.
const EHDR_FIELDS: [(usize, usize, &str); 17] = [
    (4, 1, "EI_CLASS"),
    (5, 1, "EI_DATA"),
    (6, 1, "EI_VERSION"),
    (7, 1, "EI_OSABI"),
    (16, 2, "e_type"),
    (18, 2, "e_machine"),
    (20, 4, "e_version"),
    (24, 8, "e_entry"),
    (32, 8, "e_phoff"),
    (40, 8, "e_shoff"),
    (48, 4, "e_flags"),
    (52, 2, "e_ehsize"),
    (54, 2, "e_phentsize"),
    (56, 2, "e_phnum"),
    (58, 2, "e_shentsize"),
    (60, 2, "e_shnum"),
    (62, 2, "e_shstrndx"),
];

/// Program header fields: offset in the header, size, name.
const PHDR_FIELDS: [(usize, usize, &str); 8] = [
    (0, 4, "p_type"),
    (4, 4, "p_flags"),
    (8, 8, "p_offset"),
    (16, 8, "p_vaddr"),
    (24, 8, "p_paddr"),
    (32, 8, "p_filesz"),
    (40, 8, "p_memsz"),
    (48, 8, "p_align"),
];

const PT_LOAD: u64 = 1;
const PT_TLS: u64 = 7;
const PT_GNU_STACK: u64 = 0x6474_e551;
const PT_GNU_RELRO: u64 = 0x6474_e552;
/// Segment types a p_type becomes: the loaded and special ones, and a few others.
const PT_TYPES: [u64; 10] = [
    0,
    PT_LOAD,
    2,
    3,
    4,
    6,
    PT_TLS,
    PT_GNU_STACK,
    PT_GNU_RELRO,
    0x7000_0003,
];
const PHENT: usize = 56;

/// Little-endian field of `n` bytes at `at`; 0 past the end.
fn get(b: &[u8], at: usize, n: usize) -> u64 {
    b.get(at..at + n).map_or(0, |s| {
        s.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x))
    })
}

/// Store a little-endian field of `n` bytes at `at`; nothing past the end.
fn put(b: &mut [u8], at: usize, n: usize, v: u64) {
    if let Some(s) = b.get_mut(at..at + n) {
        for (i, x) in s.iter_mut().enumerate() {
            *x = (v >> (8 * i)) as u8;
        }
    }
}

/// A value for a field that held `old`: boundaries of sizes, pages, address spaces and
/// the file, small changes, or random bits.
fn interesting(rng: &mut Rng, old: u64, file_len: u64) -> u64 {
    const FIXED: [u64; 24] = [
        0,
        1,
        2,
        8,
        0x38,
        0x40,
        0xfff,
        0x1000,
        0x1001,
        0xffff,
        0x1_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1 << 32,
        1 << 40,
        1 << 46,
        1 << 47,
        1 << 48,
        0x7fff_efff_f000,
        i64::MAX as u64,
        u64::MAX,
        u64::MAX - 0xfff,
        0x5555_5550_0000,
    ];
    match rng.below(6) {
        0 | 1 => FIXED[rng.below(FIXED.len() as u64) as usize],
        2 => [
            file_len,
            file_len + 1,
            file_len - file_len.min(1),
            file_len * 2,
        ][rng.below(4) as usize],
        3 => {
            let d = [1, 8, 0x1000, 0x10_0000, 1 << 32][rng.below(5) as usize];
            if rng.below(2) == 0 {
                old.wrapping_add(d)
            } else {
                old.wrapping_sub(d)
            }
        }
        4 => old ^ (1 << rng.below(64)),
        _ => rng.next_u64() >> rng.below(64),
    }
}

/// The program header table's offset and count as the header says.
fn phdrs(b: &[u8]) -> (usize, usize) {
    (
        get(b, 32, 8).min(usize::MAX as u64) as usize,
        get(b, 56, 2) as usize,
    )
}

/// Offsets of the program headers of type `ptype` (any type: None) that lie in the file.
fn phdrs_of(b: &[u8], ptype: Option<u64>) -> Vec<usize> {
    let (off, n) = phdrs(b);
    (0..n)
        .filter_map(|i| off.checked_add(i * PHENT))
        .filter(|&at| at.checked_add(PHENT).is_some_and(|e| e <= b.len()))
        .filter(|&at| ptype.is_none_or(|t| get(b, at, 4) == t))
        .collect()
}

fn pick<T: Copy>(rng: &mut Rng, v: &[T]) -> Option<T> {
    (!v.is_empty()).then(|| v[rng.below(v.len() as u64) as usize])
}

/// Apply one to three mutations to `b`; their descriptions.
fn mutate(b: &mut Vec<u8>, rng: &mut Rng) -> Vec<String> {
    (0..1 + rng.below(3)).map(|_| mutate_once(b, rng)).collect()
}

fn mutate_once(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    let len = b.len() as u64;
    match rng.below(20) {
        0..=2 => {
            let (at, n, name) = EHDR_FIELDS[rng.below(EHDR_FIELDS.len() as u64) as usize];
            let v = interesting(rng, get(b, at, n), len);
            put(b, at, n, v);
            format!("{name} = {:#x}", get(b, at, n))
        }
        3..=7 => set_phdr_field(b, rng, None),
        8..=9 => {
            let t = [PT_TLS, PT_GNU_RELRO, PT_GNU_STACK, PT_LOAD][rng.below(4) as usize];
            set_phdr_field(b, rng, Some(t))
        }
        10..=11 => duplicate_loads(b, rng),
        12 => {
            let n = [0, 1, 7, 73, 74, 0xffff][rng.below(6) as usize];
            put(b, 56, 2, n);
            format!("e_phnum = {n}")
        }
        13 => overlap_loads(b, rng),
        14..=16 => {
            let k = 1 + rng.below(16);
            let head = (phdrs(b).0 as u64)
                .saturating_add(73 * PHENT as u64)
                .clamp(64, len.max(64));
            for _ in 0..k {
                let span = if rng.below(4) == 0 {
                    len
                } else {
                    head.min(len)
                };
                if span > 0 {
                    let at = rng.below(span) as usize;
                    b[at] = rng.next_u64() as u8;
                }
            }
            format!("{k} random bytes")
        }
        _ => {
            let to = if rng.below(2) == 0 {
                rng.below(4096.min(len) + 1)
            } else {
                rng.below(len + 1)
            };
            b.truncate(to as usize);
            format!("truncated to {to} bytes")
        }
    }
}

/// Set one field of a program header (of type `ptype` when given and present).
fn set_phdr_field(b: &mut [u8], rng: &mut Rng, ptype: Option<u64>) -> String {
    let at = match pick(rng, &phdrs_of(b, ptype)).or_else(|| pick(rng, &phdrs_of(b, None))) {
        Some(at) => at,
        None => return "no program header to change".into(),
    };
    let (off, n, name) = if ptype.is_some() {
        // The fields that matter for a special segment: sizes, placement, alignment.
        [
            PHDR_FIELDS[2],
            PHDR_FIELDS[3],
            PHDR_FIELDS[5],
            PHDR_FIELDS[6],
            PHDR_FIELDS[7],
            PHDR_FIELDS[1],
        ][rng.below(6) as usize]
    } else {
        PHDR_FIELDS[rng.below(PHDR_FIELDS.len() as u64) as usize]
    };
    let v = if off == 0 {
        pick(rng, &PT_TYPES).unwrap_or(PT_LOAD)
    } else {
        interesting(rng, get(b, at + off, n), b.len() as u64)
    };
    let i = (at - phdrs(b).0) / PHENT;
    put(b, at + off, n, v);
    format!("phdr[{i}] (type {:#x}).{name} = {v:#x}", get(b, at, 4))
}

/// A new program header table with `k` more copies of PT_LOADs: in the file's gap after
/// the first PT_LOAD's file bytes (and that segment grown to cover it, so that the
/// program still finds its headers) when it fits, else at the end of the file.
fn duplicate_loads(b: &mut Vec<u8>, rng: &mut Rng) -> String {
    let all = phdrs_of(b, None);
    let loads = phdrs_of(b, Some(PT_LOAD));
    if loads.is_empty() {
        return "no PT_LOAD to duplicate".into();
    }
    let k = [1, 2, 10, 67, 68, 100, 2000, 1 + rng.below(3000)][rng.below(8) as usize] as usize;
    let one = rng.below(2) == 0;
    let mut table: Vec<u8> = all
        .iter()
        .flat_map(|&at| b[at..at + PHENT].to_vec())
        .collect();
    for j in 0..k {
        let at = if one {
            loads[0]
        } else {
            loads[j % loads.len()]
        };
        table.extend_from_slice(&b[at..at + PHENT]);
    }
    let n = (table.len() / PHENT).min(0xffff);
    // The first PT_LOAD's file end, and the next segment's file offset above it.
    let first = loads[0];
    let (off0, filesz0) = (get(b, first + 8, 8), get(b, first + 32, 8));
    let gap_lo = off0
        .checked_add(filesz0)
        .and_then(|e| e.checked_next_multiple_of(8))
        .unwrap_or(u64::MAX);
    let gap_hi = loads[1..]
        .iter()
        .map(|&at| get(b, at + 8, 8))
        .filter(|&o| o >= gap_lo)
        .min()
        .unwrap_or(0);
    let at = if gap_lo.saturating_add(table.len() as u64) <= gap_hi.min(b.len() as u64) {
        let grow = gap_lo + table.len() as u64 - off0;
        table.truncate(n * PHENT);
        b[gap_lo as usize..gap_lo as usize + table.len()].copy_from_slice(&table);
        // Grow the first PT_LOAD (its copy in the new table too) over the table.
        for t in [first, gap_lo as usize + (first - phdrs(b).0)] {
            for field in [t + 32, t + 40] {
                let v = grow.max(get(b, field, 8));
                put(b, field, 8, v);
            }
        }
        gap_lo
    } else {
        let at = b.len().next_multiple_of(8);
        b.resize(at, 0);
        b.extend_from_slice(&table);
        at as u64
    };
    put(b, 32, 8, at);
    put(b, 56, 2, n as u64);
    format!(
        "{k} more PT_LOADs ({}), e_phnum {n}, e_phoff {at:#x}",
        if one { "one copied" } else { "each copied" }
    )
}

/// Make one PT_LOAD overlap another: same p_vaddr and p_offset page, or the later one
/// first.
fn overlap_loads(b: &mut [u8], rng: &mut Rng) -> String {
    let loads = phdrs_of(b, Some(PT_LOAD));
    let (Some(x), Some(y)) = (pick(rng, &loads), pick(rng, &loads)) else {
        return "no PT_LOAD to overlap".into();
    };
    if rng.below(2) == 0 {
        let (hx, hy) = (b[x..x + PHENT].to_vec(), b[y..y + PHENT].to_vec());
        b[x..x + PHENT].copy_from_slice(&hy);
        b[y..y + PHENT].copy_from_slice(&hx);
        return "two PT_LOADs swapped".into();
    }
    for (off, n) in [(8, 8), (16, 8)] {
        let v = get(b, y + off, n);
        put(b, x + off, n, v);
    }
    "a PT_LOAD placed over another".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutants_are_deterministic_and_fields_round_trip() {
        let mut b = vec![0u8; 16];
        put(&mut b, 3, 4, 0x1234_5678);
        assert_eq!(get(&b, 3, 4), 0x1234_5678);
        put(&mut b, 14, 4, 1); // past the end: ignored
        assert_eq!(get(&b, 14, 4), 0);
        let seed: Vec<u8> = (0..8192).map(|i| i as u8).collect();
        let one = |i: u64| {
            let mut e = seed.clone();
            let d = mutate(&mut e, &mut Rng::new(i));
            (e, d)
        };
        assert_eq!(one(5), one(5));
        assert!((0..50).any(|i| one(i).0 != seed));
    }

    #[test]
    fn classification() {
        let exit = |c: i32| c << 8;
        assert_eq!(classify(exit(0), "", false, false), Outcome::Exited);
        assert_eq!(
            classify(exit(126), "gpuos: x: corrupt ELF: y\n", false, false),
            Outcome::Refused
        );
        assert_eq!(
            classify(
                exit(255),
                "gpuos: x: invalid PT_INTERP entry: y\n",
                false,
                false
            ),
            Outcome::Refused
        );
        assert_eq!(
            classify(
                exit(139),
                "gpuos: x killed by SIGSEGV at pc=0x0 addr=0x0\n",
                false,
                false
            ),
            Outcome::GuestSignal
        );
        assert_eq!(
            classify(
                exit(101),
                "thread 'main' panicked at src/x.rs\n",
                false,
                false
            ),
            Outcome::Panic
        );
        assert_eq!(classify(libc::SIGABRT, "", false, false), Outcome::Panic);
        assert_eq!(classify(exit(101), "", false, false), Outcome::Exited);
        assert_eq!(classify(libc::SIGKILL, "", true, false), Outcome::Hang);
        assert_eq!(classify(exit(0), "", false, true), Outcome::Memory);
    }
}
