//! `gpuos fuzz`: the differential instruction fuzzer (gpuos vs qemu-aarch64), and with
//! `--elf` the ELF loader's mutation fuzzer (`fuzz_elf`).

use gpuos_dev::fuzz::{self, Class, Config};
use std::path::PathBuf;

/// Options of `gpuos fuzz`.
#[derive(clap::Args, Clone)]
pub struct FuzzOpts {
    /// Seed of the run (the same seed generates the same tests).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of random instruction sequences.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Instructions per sequence.
    #[arg(long, default_value_t = 8)]
    len: usize,
    /// Instruction classes: int, fp, simd or all (comma-separated lists allowed).
    #[arg(long, default_value = "int")]
    class: String,
    /// The reference emulator.
    #[arg(long, value_name = "PATH", default_value = "qemu-aarch64")]
    qemu: PathBuf,
    /// Keep the generated ELF files in DIR (with --elf: the bad mutants; default
    /// fuzz-elf-bad).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Parallel jobs (default: every core).
    #[arg(long, visible_alias = "jobs", default_value_t = 0)]
    threads: usize,
    /// Encodings that qemu rejects to run alone, expecting SIGILL (default: count/4).
    #[arg(long, value_name = "N")]
    undef: Option<usize>,
    /// Test documented gpuos FP limitations too: compare every FPSR bit (by default OFC,
    /// UFC and IXC, not tracked for FP arithmetic, are left out) and set FPCR.AHP
    /// (alternative half precision, ignored by gpuos) in random initial states.
    #[arg(long)]
    strict: bool,
    /// Print each mismatch as it is found and progress details.
    #[arg(long, short)]
    verbose: bool,
    /// Fuzz the ELF loader instead: run mutants of static AArch64 binaries (FILES and
    /// --seeds-dir) under `gpuos run --backend cpu`; no run may panic, hang or pass the
    /// memory bound.
    #[arg(long)]
    elf: bool,
    /// With --elf: every file in DIR is a binary to mutate too.
    #[arg(long, value_name = "DIR", requires = "elf")]
    seeds_dir: Option<PathBuf>,
    /// With --elf: each mutant's guest instruction bound (`gpuos run --max-insns`).
    #[arg(long, value_name = "N", default_value_t = 100_000, requires = "elf")]
    max_insns: u64,
    /// With --elf: each mutant's wall-clock bound, in seconds.
    #[arg(long, value_name = "S", default_value_t = 10.0, requires = "elf")]
    timeout: f64,
    /// With --elf: each mutant's host memory bound (gpuos's peak RSS), in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512, requires = "elf")]
    rss_limit: u64,
    /// With --elf: the binaries to mutate.
    #[arg(value_name = "FILES", requires = "elf")]
    files: Vec<PathBuf>,
    /// Run gpuos through the translation tier: `always` runs each program twice with
    /// `--translate always` (profile, then compared fully translated); `never` (default)
    /// interprets.
    #[arg(long, value_name = "WHEN", default_value = "never")]
    translate: String,
}

/// Run the fuzzer; the exit status is 0 when every test matched, 1 on mismatches, 2
/// when the fuzzer could not run.
pub fn run(o: &FuzzOpts) -> i32 {
    if o.elf {
        return run_elf(o);
    }
    let classes = match Class::parse_list(&o.class) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gpuos fuzz: {e}");
            return 2;
        }
    };
    if o.len == 0 || o.count == 0 {
        eprintln!("gpuos fuzz: --count and --len must be at least 1");
        return 2;
    }
    let Some(gpuos) = gpuos_exe() else {
        return 2;
    };
    let cfg = Config {
        seed: o.seed,
        count: o.count,
        len: o.len,
        classes: classes.clone(),
        qemu: o.qemu.clone(),
        gpuos,
        keep: o.keep.clone(),
        threads: o.threads,
        undef_checks: o.undef,
        fpsr_ignore: if o.strict { 0 } else { fuzz::FPSR_UNTRACKED },
        strict: o.strict,
        verbose: o.verbose,
        translate: match o.translate.as_str() {
            "never" => false,
            "always" => true,
            t => {
                eprintln!("gpuos fuzz: --translate is never or always, not {t:?}");
                return 2;
            }
        },
    };
    let rep = match fuzz::run(&cfg) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gpuos fuzz: {e}");
            return 2;
        }
    };
    if !o.verbose {
        for f in &rep.failures {
            eprint!("{}", f.text);
        }
    }
    let cls: Vec<String> = classes
        .iter()
        .map(|c| format!("{c:?}").to_lowercase())
        .collect();
    println!(
        "gpuos fuzz: seed {} class {} len {}: {} sequences matched, {} SIGILL in both, {} mismatches ({} of {} screened encodings rejected by qemu) in {:.1} s",
        o.seed,
        cls.join(","),
        o.len,
        rep.matched,
        rep.sigill_both,
        rep.failures.len(),
        rep.rejected,
        rep.screened,
        rep.seconds
    );
    if cfg.translate {
        println!(
            "gpuos fuzz: {} of {} guest instructions ran translated",
            rep.translated, rep.insns
        );
    }
    if rep.failures.is_empty() {
        0
    } else {
        println!(
            "gpuos fuzz: mismatches by instruction: {}",
            fuzz::summarize(&rep)
        );
        1
    }
}

/// This gpuos executable, which runs the tests.
fn gpuos_exe() -> Option<PathBuf> {
    std::env::current_exe()
        .map_err(|e| eprintln!("gpuos fuzz: cannot find the gpuos executable: {e}"))
        .ok()
}

/// `gpuos fuzz --elf`: the seeds are FILES and the files of --seeds-dir (sorted).
fn run_elf(o: &FuzzOpts) -> i32 {
    let mut seeds = o.files.clone();
    if let Some(dir) = &o.seeds_dir {
        let listed: std::io::Result<Vec<PathBuf>> =
            std::fs::read_dir(dir).and_then(|d| d.map(|e| e.map(|e| e.path())).collect());
        match listed {
            Ok(mut v) => {
                v.retain(|p| p.is_file());
                v.sort();
                seeds.extend(v);
            }
            Err(e) => {
                eprintln!("gpuos fuzz --elf: {}: {e}", dir.display());
                return 2;
            }
        }
    }
    if !(o.timeout > 0.0 && o.timeout < 1e6) {
        eprintln!("gpuos fuzz --elf: --timeout must be a positive number of seconds");
        return 2;
    }
    let Some(gpuos) = gpuos_exe() else {
        return 2;
    };
    let jobs = if o.threads > 0 {
        o.threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    crate::fuzz_elf::run(&crate::fuzz_elf::ElfFuzz {
        seed: o.seed,
        count: o.count,
        seeds,
        jobs,
        max_insns: o.max_insns,
        timeout: std::time::Duration::from_secs_f64(o.timeout),
        rss_limit_kib: o.rss_limit << 10,
        keep: o
            .keep
            .clone()
            .unwrap_or_else(|| PathBuf::from("fuzz-elf-bad")),
        gpuos,
    })
}
