//! Bad input and sandbox tests of the `gpuos` command (CPU backend).
//!
//! Every bad input must give one clear line on stderr and exit status 126 or 127 (as a
//! shell does for a program it cannot execute or find), never a panic. Guest faults end
//! the guest with 128+signal and a `killed by` line. The sandbox must refuse writes
//! outside what was granted, including through `..` and symlinks.
//!
//! Needs the guest programs (`tests/guest/build.sh`) and busybox
//! (`scripts/fetch-deps.sh`); `scripts/test.sh` provides both.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn guest(name: &str) -> PathBuf {
    let p = root().join("tests/guest/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run tests/guest/build.sh",
        p.display()
    );
    p
}

fn busybox() -> PathBuf {
    let p = root().join(".deps/busybox");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-deps.sh",
        p.display()
    );
    p
}

fn gpuos(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("gpuos runs")
}

/// A `gpuos` command in `cwd` under an open-file limit of `nofile` (soft and hard;
/// gpuos told to keep it, GPUOS_NOFILE_KEEP=1), for the tests of the out-of-descriptors
/// paths; the caller adds gpuos's arguments.
fn gpuos_limited(cwd: &Path, nofile: u32) -> Command {
    let mut c = Command::new("/bin/sh");
    c.current_dir(cwd)
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$@\""))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_gpuos"))
        .env("GPUOS_NOFILE_KEEP", "1");
    c
}

/// Busybox `sh -c SCRIPT` on the CPU backend under an open-file limit of `nofile`.
fn limited_sh(cwd: &Path, nofile: u32, script: &str) -> Output {
    gpuos_limited(cwd, nofile)
        .args(["run", "--backend", "cpu"])
        .arg(busybox())
        .args(["sh", "-c", script])
        .output()
        .expect("gpuos runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One line, no panic or backtrace, the expected status.
fn assert_refused(o: &Output, status: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(status), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpuos-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_file(name: &str, bytes: &[u8]) -> Output {
    let d = tmp(name);
    let f = d.join("prog");
    std::fs::write(&f, bytes).unwrap();
    let o = gpuos(&d, &["run", "--backend", "cpu", f.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&d);
    o
}

#[test]
fn missing_file_is_127() {
    let o = gpuos(
        &std::env::temp_dir(),
        &["run", "--backend", "cpu", "/nonexistent/gpuos/prog"],
    );
    assert_refused(&o, 127, "cannot read");
}

#[test]
fn not_an_elf_is_126() {
    assert_refused(
        &run_file("text", b"#!/bin/sh\necho hi\n"),
        126,
        "not an ELF",
    );
    assert_refused(&run_file("empty", b""), 126, "not an ELF");
}

#[test]
fn truncated_and_corrupt_elf_are_126() {
    let hello = std::fs::read(guest("hello")).unwrap();
    assert_refused(&run_file("trunc", &hello[..200]), 126, "corrupt ELF");
    assert_refused(&run_file("trunc64", &hello[..40]), 126, "corrupt ELF");
    // Program headers pointing past the end of the file.
    let mut bad = hello[..4096].to_vec();
    bad[32..40].copy_from_slice(&0x7fff_ffffu64.to_le_bytes()); // e_phoff
    assert_refused(&run_file("phoff", &bad), 126, "corrupt ELF");
}

#[test]
fn wrong_architecture_is_126() {
    // An x86-64 ELF: the test binary itself.
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert_refused(&run_file("x86", &me), 126, "x86-64");
    // A 32-bit ELF header.
    let mut h = std::fs::read(guest("hello")).unwrap();
    h[4] = 1; // ELFCLASS32
    assert_refused(&run_file("elf32", &h), 126, "32-bit");
}

#[test]
fn dynamic_elf_is_126() {
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            guest("hello_dyn").to_str().unwrap(),
        ],
    );
    assert_refused(&o, 126, "dynamically linked");
}

#[test]
fn null_pointer_write_is_sigsegv_of_the_guest_only() {
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            guest("crash_null").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(128 + 11), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("killed by SIGSEGV at pc=0x") && err.contains("addr=0x0"),
        "{err}"
    );
}

#[test]
fn undefined_instruction_is_sigill_with_pc_and_word() {
    let o = gpuos(
        &std::env::temp_dir(),
        &["run", "--backend", "cpu", guest("undef").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(128 + 4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("killed by SIGILL at pc=0x") && err.contains("insn=0x00001234"),
        "{err}"
    );
}

#[test]
fn sigill_in_one_lane_leaves_the_others() {
    // Lane 0 crashes in every copy here, so check that all lanes end the same way and
    // the summary counts them: no lane takes the host or another lane down.
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "8",
            guest("undef").to_str().unwrap(),
        ],
    );
    assert!(stderr(&o).contains("8 killed by SIGILL"), "{}", stderr(&o));
}

#[test]
fn unknown_syscall_is_enosys_and_traced() {
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            "--strace",
            guest("nosys").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(38), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown syscall 999"), "{}", stderr(&o));
}

#[test]
fn abort_is_sigabrt() {
    let o = gpuos(
        &std::env::temp_dir(),
        &["run", "--backend", "cpu", guest("abort").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(128 + 6), "{}", stderr(&o));
}

#[test]
fn max_insns_stops_the_guest() {
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            "--max-insns",
            "1000",
            guest("spin").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(128 + 24), "{}", stderr(&o));
}

#[test]
fn sandbox_refuses_writes_outside_the_grant() {
    let bb = busybox();
    let work = tmp("sandbox-work");
    let outside = tmp("sandbox-outside");
    let secret = outside.join("secret.txt");
    std::fs::write(&secret, "original\n").unwrap();
    let bbs = bb.to_str().unwrap();
    // Direct write to an absolute path outside the working directory.
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            bbs,
            "cp",
            "/etc/hostname",
            secret.to_str().unwrap(),
        ],
    );
    assert_ne!(
        o.status.code(),
        Some(0),
        "write outside the grant succeeded"
    );
    // Through `..` from the working directory.
    let rel = format!(
        "../{}/secret.txt",
        outside.file_name().unwrap().to_str().unwrap()
    );
    let o = gpuos(
        &work,
        &["run", "--backend", "cpu", bbs, "cp", "/etc/hostname", &rel],
    );
    assert_ne!(o.status.code(), Some(0), "write through .. succeeded");
    // Through a symlink inside the working directory (absolute and relative targets).
    std::os::unix::fs::symlink(&secret, work.join("abs-link")).unwrap();
    std::os::unix::fs::symlink(&rel, work.join("rel-link")).unwrap();
    for link in ["abs-link", "rel-link"] {
        let o = gpuos(
            &work,
            &["run", "--backend", "cpu", bbs, "cp", "/etc/hostname", link],
        );
        assert_ne!(o.status.code(), Some(0), "write through {link} succeeded");
    }
    // Deleting outside is refused too.
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            bbs,
            "rm",
            "-f",
            secret.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.code() != Some(0) || secret.exists(),
        "delete outside the grant succeeded"
    );
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "original\n",
        "the file outside was changed"
    );
    // Reading is allowed (the host filesystem is visible read-only).
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            bbs,
            "cat",
            secret.to_str().unwrap(),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "original\n");
    // Writing in the working directory works.
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            bbs,
            "cp",
            "/etc/hostname",
            "copy.txt",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(work.join("copy.txt").exists());
    // An explicit read-write mount grants writes there.
    let m = format!("{}:/granted:rw", outside.display());
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--mount",
            &m,
            bbs,
            "cp",
            "/etc/hostname",
            "/granted/new.txt",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(outside.join("new.txt").exists());
    let _ = std::fs::remove_dir_all(work);
    let _ = std::fs::remove_dir_all(outside);
}

#[test]
fn cuda_backend_without_gpu_fails_cleanly_and_auto_falls_back() {
    let hello = guest("hello");
    let o = gpuos(
        &std::env::temp_dir(),
        &["run", "--backend", "cuda", hello.to_str().unwrap()],
    );
    let auto = gpuos(
        &std::env::temp_dir(),
        &["run", "--backend", "auto", hello.to_str().unwrap()],
    );
    if gpuos::backend::cuda::available() {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stderr(&auto).is_empty(), "{}", stderr(&auto));
    } else {
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("CUDA backend is not available"), "{err}");
        assert_eq!(auto.status.code(), Some(0));
        assert!(
            stderr(&auto).contains("using the CPU backend"),
            "{}",
            stderr(&auto)
        );
    }
    assert!(String::from_utf8_lossy(&auto.stdout).starts_with("Hello, world!"));
}

#[test]
fn every_lane_reads_its_own_copy_of_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let d = tmp("stdin-lanes");
    let out = d.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(&d)
        .args([
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "3",
            "--output-dir",
            out.to_str().unwrap(),
            busybox().to_str().unwrap(),
            "cat",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "one\ntwo\n");
    for lane in 0..3 {
        let got = std::fs::read_to_string(out.join(format!("lane-{lane}.stdout"))).unwrap();
        assert_eq!(got, "one\ntwo\n", "lane {lane}");
    }
    // The summary counts the lanes by their real output, also where it went to the
    // lanes' files as they ran (not the empty capture).
    let h = gpuos::machine::sha256(b"one\ntwo\n");
    let prefix: String = h[..6].iter().map(|b| format!("{b:02x}")).collect();
    let err = stderr(&o);
    assert!(
        err.contains(&format!("1 distinct stdout (sha256 prefix): 3x {prefix}")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// When the host process runs out of file descriptors and none can be closed while
/// idle (a device such as /dev/null has no path to be reopened by; regular files and
/// directories do), the guest gets EMFILE as open(2) describes, never gpuos's internal
/// retry code (errno 513) nor a crash.
#[test]
fn host_out_of_descriptors_gives_the_guest_emfile() {
    let d = tmp("emfile");
    let f = "/dev/null";
    let script = format!("exec 3>{f} 4>{f} 5>{f} 6>{f} 7>{f} 8>{f}; echo opened");
    let o = limited_sh(&d, 9, &script);
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("Too many open files"), "stderr: {err}");
    assert!(
        !err.contains("513") && !err.contains("panicked"),
        "stderr: {err}"
    );
}

/// `--lane-report` lists every lane, lane 0 included, with its shell status and the
/// SHA-256 and size of what it wrote; lane 0's output still reaches stdout.
#[test]
fn lane_report_hashes_every_lane() {
    let d = tmp("lane-report");
    let report = d.join("lanes.tsv");
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "3",
            "--lane-report",
            report.to_str().unwrap(),
            busybox().to_str().unwrap(),
            "sh",
            "-c",
            "echo out-{lane}; echo err >&2; test {lane} != 2 || kill -SEGV $$; exit {lane}",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out-0\n");
    let text = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert_eq!(
        rows[0][..7],
        [
            "lane",
            "status",
            "signal",
            "stdout_sha256",
            "stdout_bytes",
            "stderr_sha256",
            "stderr_bytes"
        ]
    );
    let hex = |b: &[u8]| -> String {
        gpuos::machine::sha256(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    for lane in 0..3usize {
        let out = format!("out-{lane}\n");
        let (status, signal) = if lane == 2 {
            ("139", "SIGSEGV")
        } else {
            (if lane == 0 { "0" } else { "1" }, "-")
        };
        assert_eq!(rows[lane + 1][0], lane.to_string());
        assert_eq!(rows[lane + 1][1], status, "{text}");
        assert_eq!(rows[lane + 1][2], signal, "{text}");
        assert_eq!(rows[lane + 1][3], hex(out.as_bytes()), "{text}");
        assert_eq!(rows[lane + 1][4], out.len().to_string());
        assert_eq!(rows[lane + 1][5], hex(b"err\n"), "{text}");
        assert_eq!(rows[lane + 1][6], "4");
        assert!(rows[lane + 1][7].parse::<u64>().unwrap() > 0, "{text}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A process that ends with files still open gives their host descriptors back when it
/// ends, not when the run does: 200 lanes that each leave /dev/null open twice (a
/// device: its descriptors can be neither shared nor closed while idle) fit a limit of
/// 64 open files (each would otherwise keep two until all 200 had ended, and the later
/// ones would get EMFILE). On this backend a lane's host state also ends with the lane;
/// on CUDA, where every lane's host state lives until the run ends, it is the end
/// notice every process posts (kernel/proc/sched.h, `sched_end`), which gpu-check's
/// 100,000-lane runs of cases that write files exercise.
#[test]
fn ended_processes_give_back_their_host_descriptors() {
    let d = tmp("fd-leak");
    let report = d.join("lanes.tsv");
    let o = gpuos_limited(&d, 64)
        .args(["run", "--backend", "cpu", "--lanes", "200", "--lane-report"])
        .arg(&report)
        .arg(busybox())
        .args(["sh", "-c", "exec 3>/dev/null 4>/dev/null; echo opened"])
        .output()
        .expect("gpuos runs");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "stderr: {err}");
    let text = std::fs::read_to_string(&report).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let want = gpuos::machine::sha256(b"opened\n");
    let want: String = want.iter().map(|b| format!("{b:02x}")).collect();
    let bad: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            f[1] != "0" || f[3] != want
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} lanes failed, e.g. {:?}; stderr: {err}",
        bad.len(),
        bad.first()
    );
}

/// The qemu-aarch64 oracle: $QEMU, then qemu-aarch64 on PATH, then
/// .deps/qemu-aarch64-static (as scripts/conformance.sh looks for it).
fn qemu() -> PathBuf {
    if let Some(q) = std::env::var_os("QEMU") {
        return PathBuf::from(q);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("qemu-aarch64"))
        .find(|p| p.is_file());
    let p = on_path.unwrap_or_else(|| root().join(".deps/qemu-aarch64-static"));
    assert!(
        p.exists(),
        "no qemu-aarch64: apt-get install qemu-user, or run scripts/fetch-deps.sh"
    );
    p
}

/// Guest fds need no host descriptor each: fdmany holds 800 fds at once (one file
/// opened 300 times, a directory 200 times, 150 pipes) in each of 5 lanes, while gpuos
/// may open only 40 files. Read-only opens share one host descriptor per file
/// (host/shared.rs) and pipes live in gpuos's memory (host/pipe.rs); before, the first
/// lane got EMFILE at its 17th open. Every lane's output and status must be qemu's.
#[test]
fn guest_fds_do_not_use_up_host_descriptors() {
    let prog = guest("fdmany");
    let want = Command::new(qemu()).arg(&prog).output().expect("qemu runs");
    assert_eq!(want.status.code(), Some(0), "qemu: {}", stderr(&want));
    let d = tmp("fd-share");
    let report = d.join("lanes.tsv");
    let o = gpuos_limited(&d, 40)
        .args(["run", "--backend", "cpu", "--lanes", "5", "--lane-report"])
        .arg(&report)
        .arg(&prog)
        .output()
        .expect("gpuos runs");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "stderr: {err}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&want.stdout),
        "lane 0's output"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let sha: String = gpuos::machine::sha256(&want.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 5, "{text}");
    for r in rows {
        assert_eq!((r[1], r[3]), ("0", sha.as_str()), "lane {}: {text}", r[0]);
    }
}

/// `--lane-dir` starts each lane in its own directory below the working directory, so
/// copies that write the same file names keep their own; a pattern that leaves the
/// working directory is refused with one line before anything runs.
#[test]
fn lane_dirs_keep_each_lanes_files() {
    let d = tmp("lane-dir");
    std::fs::write(d.join("in.txt"), "input\n").unwrap();
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "4",
            "--lane-dir",
            "runs/{lane}",
            busybox().to_str().unwrap(),
            "sh",
            "-c",
            "echo lane {lane} >out.txt; read x <../../in.txt; echo $x >>out.txt; pwd",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    for lane in 0..4 {
        let got = std::fs::read_to_string(d.join(format!("runs/{lane}/out.txt"))).unwrap();
        assert_eq!(got, format!("lane {lane}\ninput\n"));
    }
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim_end(),
        d.join("runs/0").canonicalize().unwrap().to_str().unwrap()
    );
    assert!(!d.join("out.txt").exists());
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--lane-dir",
            "../elsewhere-{lane}",
            busybox().to_str().unwrap(),
            "true",
        ],
    );
    assert_refused(&o, 1, "below the working directory");
    let _ = std::fs::remove_dir_all(&d);
}

/// Files of a lane's own share no host descriptor with other lanes: one shell holding
/// 60 different files open at once, under a limit of 40 open files, gets through only
/// because gpuos closes the idle shared descriptors and reopens them by path when used
/// (`SharedFds::park_idle`). Its output must be qemu's.
#[test]
fn idle_host_descriptors_are_closed_and_reopened() {
    let d = tmp("fd-park");
    let mut opens = String::new();
    let mut reads = String::new();
    for i in 0..60 {
        std::fs::write(d.join(format!("f{i}")), format!("line of file {i}\n")).unwrap();
        opens += &format!(" {}<f{i}", i + 3);
        reads += &format!(" read x <&{}; echo $x;", i + 3);
    }
    let script = format!("exec{opens};{reads}");
    let want = Command::new(qemu())
        .current_dir(&d)
        .arg(busybox())
        .args(["sh", "-c", &script])
        .output()
        .expect("qemu runs");
    assert_eq!(want.status.code(), Some(0), "qemu: {}", stderr(&want));
    let o = limited_sh(&d, 40, &script);
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
}

/// The same for files open for writing: one shell holding 60 files it writes, under a
/// limit of 40, writes each twice with all the others written in between; a parked
/// file comes back at its offset. The files must be what qemu writes.
#[test]
fn parked_files_open_for_writing_keep_their_offsets() {
    let mut opens = String::new();
    let mut writes = String::new();
    for i in 0..60 {
        opens += &format!(" {}>g{i}", i + 3);
        writes += &format!(" echo \"$w {i}\" >&{};", i + 3);
    }
    let script = format!("exec{opens}; for w in one two; do{writes} done");
    let run = |name: &str, limited: bool| -> (Output, Vec<String>) {
        let d = tmp(name);
        let o = if limited {
            limited_sh(&d, 40, &script)
        } else {
            Command::new(qemu())
                .current_dir(&d)
                .arg(busybox())
                .args(["sh", "-c", &script])
                .output()
                .expect("qemu runs")
        };
        let files = (0..60)
            .map(|i| std::fs::read_to_string(d.join(format!("g{i}"))).unwrap_or_default())
            .collect();
        let _ = std::fs::remove_dir_all(&d);
        (o, files)
    };
    let (q, want) = run("fd-park-w-qemu", false);
    assert_eq!(q.status.code(), Some(0), "qemu: {}", stderr(&q));
    assert_eq!(want[7], "one 7\ntwo 7\n");
    let (o, got) = run("fd-park-w", true);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(got, want);
}

/// `hostile_host bigout MIB`'s stdout (tests/guest/hostile_host.c): 64 KiB blocks of
/// a-z, each block's first byte its index mod 10 in ASCII.
fn bigout(mib: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..65536).map(|i| b'a' + (i % 26) as u8).collect();
    let mut v = Vec::with_capacity(mib << 20);
    for k in 0..mib * 16 {
        v.extend_from_slice(&block);
        let at = v.len() - block.len();
        v[at] = b'0' + (k % 10) as u8;
    }
    v
}

/// Run `cmd` to its end; its exit status and peak resident memory in KiB (wait4(2)'s
/// rusage, ru_maxrss: the largest of the process and the children it waited for).
/// A forked child's count starts from its parent's size at the fork (Linux keeps the
/// high-water mark across exec), so the caller must not be large yet.
// The child is reaped by wait4, which std's `wait` cannot give the rusage of.
#[allow(clippy::zombie_processes)]
fn run_measured(cmd: &mut Command) -> (Option<i32>, i64) {
    let child = cmd.spawn().expect("gpuos runs");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child we spawned; the pointers are to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, ru.ru_maxrss)
}

/// Output is streamed, not held: two lanes writing 200 MiB each to stdout, with
/// `--lane-report` and `--output-dir`, keep gpuos under 100 MiB of resident memory
/// (it once kept every lane's output until the lane ended: 400 MiB and more), with the
/// files held open and, under a limit of 512 open files (two files per lane do not fit
/// with the reserve, `machine::lane_files_fit`), written through a small buffer. Files,
/// hashes and sizes are the known content's, which is qemu's output.
#[test]
fn streamed_output_keeps_host_memory_bounded() {
    const MIB: usize = 200;
    let prog = guest("hostile_host");
    let q = Command::new(qemu())
        .args([prog.as_os_str(), "bigout".as_ref(), "1".as_ref()])
        .output()
        .expect("qemu runs");
    assert_eq!(q.stdout, bigout(1), "the known content is qemu's");
    // Both runs first, while this process is small (see run_measured).
    let runs: Vec<(bool, PathBuf, Option<i32>, i64)> = [false, true]
        .into_iter()
        .map(|limited| {
            let d = tmp(&format!("bigout-{limited}"));
            let mut cmd = if limited {
                gpuos_limited(&d, 512)
            } else {
                let mut c = Command::new(env!("CARGO_BIN_EXE_gpuos"));
                c.current_dir(&d);
                c
            };
            cmd.args(["run", "--backend", "cpu", "--lanes", "2", "--threads", "2"])
                .args(["--lane-report", "lanes.tsv", "--output-dir", "."])
                .arg(&prog)
                .args(["bigout", &MIB.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let (code, maxrss_kib) = run_measured(&mut cmd);
            (limited, d, code, maxrss_kib)
        })
        .collect();
    let want = bigout(MIB);
    let sha = hex(&gpuos::machine::sha256(&want));
    for (limited, d, code, maxrss_kib) in runs {
        assert_eq!(code, Some(0), "limited {limited}");
        assert!(
            maxrss_kib < 100 << 10,
            "gpuos peaked at {maxrss_kib} KiB (limited {limited})"
        );
        let text = std::fs::read_to_string(d.join("lanes.tsv")).unwrap();
        for lane in 0..2 {
            let row: Vec<&str> = text.lines().nth(lane + 1).unwrap().split('\t').collect();
            assert_eq!((row[3], row[4]), (sha.as_str(), "209715200"), "{text}");
            let f = std::fs::read(d.join(format!("lane-{lane}.stdout"))).unwrap();
            assert!(f == want, "lane {lane}'s file (limited {limited})");
            let err = std::fs::metadata(d.join(format!("lane-{lane}.stderr"))).unwrap();
            assert_eq!(err.len(), 0);
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// SIGINT and SIGTERM stop a run within a second whatever its guests do (sleep alone,
/// sleep in forked children, read gpuos's own stdin that nobody writes, or before they
/// start, while gpuos reads the stdin every lane gets a copy of): one line, exit 130 or
/// 143, and what they wrote before is in the output files.
#[test]
fn sigint_and_sigterm_stop_the_run_promptly() {
    let prog = guest("hostile_host");
    let bb = busybox();
    let sh = |script: &'static str| -> Vec<std::ffi::OsString> {
        vec![bb.clone().into(), "sh".into(), "-c".into(), script.into()]
    };
    let mut sleep = vec![prog.clone().into_os_string()];
    sleep.extend(["sleep".into(), "30".into()]);
    // (name, argv, lanes, whether the guests print a first line)
    let cases = [
        ("sleep", sleep.clone(), 2, true),
        (
            "family",
            sh("echo before sleeping; sleep 30 & sleep 30; wait"),
            2,
            true,
        ),
        ("stdin", sh("echo before sleeping; cat"), 1, true),
        ("slurp", sleep, 2, false),
    ];
    for (name, argv, lanes, prints) in &cases {
        for (sig, sig_name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
            let d = tmp(&format!("signal-{name}-{sig}"));
            let mut child = Command::new(env!("CARGO_BIN_EXE_gpuos"))
                .current_dir(&d)
                .args([
                    "run",
                    "--backend",
                    "cpu",
                    "--threads",
                    "2",
                    "--output-dir",
                    ".",
                ])
                .arg("--lanes")
                .arg(lanes.to_string())
                .args(argv)
                .stdin(if *lanes == 1 || !*prints {
                    std::process::Stdio::piped() // held open, never written
                } else {
                    std::process::Stdio::null()
                })
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("gpuos runs");
            let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
            if *prints {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut out, &mut line).unwrap();
                assert_eq!(line, "before sleeping\n", "{name}");
                // Every lane has started (its file has its first line).
                for lane in 0..*lanes {
                    let f = d.join(format!("lane-{lane}.stdout"));
                    let t = std::time::Instant::now();
                    while std::fs::read(&f).map_or(0, |b| b.len()) == 0 {
                        assert!(
                            t.elapsed().as_secs() < 20,
                            "{name}: lane {lane} did not start"
                        );
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
            // SAFETY: signals our own child.
            assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
            let t = std::time::Instant::now();
            let status = loop {
                if let Some(s) = child.try_wait().unwrap() {
                    break s;
                }
                if t.elapsed().as_secs() >= 10 {
                    let _ = child.kill();
                    panic!("{name}: {sig_name} did not stop gpuos");
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            let took = t.elapsed();
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert_eq!(status.code(), Some(128 + sig), "{name}: {err}");
            assert!(took.as_millis() < 1500, "{name}: {sig_name} took {took:?}");
            let plural = if *lanes == 1 { "lane" } else { "lanes" };
            assert_eq!(
                err,
                format!("gpuos: interrupted by {sig_name}; {lanes} {plural} stopped\n"),
                "{name}"
            );
            for lane in (0..*lanes).filter(|_| *prints) {
                let f = std::fs::read_to_string(d.join(format!("lane-{lane}.stdout"))).unwrap();
                assert_eq!(f, "before sleeping\n", "{name}: lane {lane}");
            }
            let _ = std::fs::remove_dir_all(&d);
        }
    }
}

/// A guest of one run plants `runs -> ../outside`; the next run with `--lane-dir
/// 'runs/{lane}'` must not create its lane directories there: refused with one line
/// naming the symlink, nothing made outside, nothing run.
#[test]
fn lane_dir_does_not_follow_a_planted_symlink() {
    let d = tmp("lane-dir-link");
    let work = d.join("work");
    let outside = d.join("outside");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let bb = busybox();
    let bbs = bb.to_str().unwrap();
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            bbs,
            "ln",
            "-s",
            "../outside",
            "runs",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for pattern in ["runs/{lane}", "runs/x/{lane}"] {
        let o = gpuos(
            &work,
            &[
                "run",
                "--backend",
                "cpu",
                "--lanes",
                "3",
                "--lane-dir",
                pattern,
                bbs,
                "sh",
                "-c",
                "echo ran >ran.txt",
            ],
        );
        assert_refused(&o, 1, "runs is a symbolic link (not followed)");
        assert!(stderr(&o).contains("--lane-dir runs/"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "made outside"
        );
    }
    // A planted link deeper down: the lanes before it ran, its own is refused.
    std::fs::remove_file(work.join("runs")).unwrap();
    std::fs::create_dir(work.join("runs")).unwrap();
    std::os::unix::fs::symlink(&outside, work.join("runs/1")).unwrap();
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "2",
            "--threads",
            "1",
            "--lane-dir",
            "runs/{lane}",
            bbs,
            "sh",
            "-c",
            "echo ran >ran.txt",
        ],
    );
    assert_refused(&o, 1, "runs/1 is a symbolic link (not followed)");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "made outside"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// `--hide PATH`: the guest gets ENOENT for the subtree, also through `..` and a
/// symlink it makes; a --hide path that does not exist is refused with one line.
#[test]
fn hide_keeps_a_host_subtree_from_the_guest() {
    let d = tmp("hide");
    let work = d.join("work");
    let secret = d.join("secret");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("key"), "s3cr3t\n").unwrap();
    let bb = busybox();
    let script = "cat ../secret/key; ln -s ../secret l; cat l/key; ls ../secret; \
                  cd ../secret; echo visible: ../*";
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--hide",
            secret.to_str().unwrap(),
            bb.to_str().unwrap(),
            "sh",
            "-c",
            script,
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    assert!(
        !out.contains("s3cr3t") && !err.contains("s3cr3t"),
        "{out}{err}"
    );
    assert_eq!(err.matches("No such file or directory").count(), 4, "{err}");
    // Hidden by name: its parent still lists it.
    assert_eq!(out, "visible: ../secret ../work\n");
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--hide",
            "no-such",
            bb.to_str().unwrap(),
            "true",
        ],
    );
    assert_refused(&o, 1, "cannot hide no-such");
    std::fs::write(work.join("file"), "").unwrap();
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--output-dir",
            "file/out",
            bb.to_str().unwrap(),
            "true",
        ],
    );
    assert_refused(&o, 1, "--output-dir file/out: ");
    let _ = std::fs::remove_dir_all(&d);
}

/// The guest races itself: a forked child renames directory `d` and a symlink to a
/// hidden `outside` back and forth 2000 times while the parent creates and reads files
/// beneath `d`. Nothing appears outside and the hidden secret is never read.
#[test]
fn guest_rename_race_between_a_directory_and_a_symlink_stays_inside() {
    let d = tmp("guest-race");
    let work = d.join("work");
    let outside = d.join("outside");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "secret\n").unwrap();
    let out = outside.to_str().unwrap();
    let prog = guest("hostile_host");
    let o = gpuos(
        &work,
        &[
            "run",
            "--backend",
            "cpu",
            "--hide",
            out,
            prog.to_str().unwrap(),
            "race",
            "2000",
            out,
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("race: ") && text.ends_with(" created beneath d, 0 reads of the secret\n"),
        "{text}"
    );
    let names: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["secret"], "created outside");
    let _ = std::fs::remove_dir_all(&d);
}
