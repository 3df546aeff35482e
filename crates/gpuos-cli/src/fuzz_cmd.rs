//! `gpuos fuzz`: the differential instruction fuzzer (gpuos vs qemu-aarch64).

use gpuos::fuzz::{self, Class, Config};
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
    /// Keep the generated ELF files in DIR.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Parallel jobs (default: every core).
    #[arg(long, default_value_t = 0)]
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
    /// Run gpuos through the translation tier: `always` runs each program twice with
    /// `--translate always` (profile, then compared fully translated); `never` (default)
    /// interprets.
    #[arg(long, value_name = "WHEN", default_value = "never")]
    translate: String,
}

/// Run the fuzzer; the exit status is 0 when every test matched, 1 on mismatches, 2
/// when the fuzzer could not run.
pub fn run(o: &FuzzOpts) -> i32 {
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
    let gpuos = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gpuos fuzz: cannot find the gpuos executable: {e}");
            return 2;
        }
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
