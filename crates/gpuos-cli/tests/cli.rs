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

/// `prog` with its PT_INTERP (the first) replaced by `entry`, appended at the end of
/// the file, of `filesz` bytes (`entry.len()` when None).
fn with_interp(prog: &[u8], entry: &[u8], filesz: Option<u64>) -> Vec<u8> {
    let mut f = prog.to_vec();
    let n = u16::from_le_bytes([f[56], f[57]]) as usize;
    let i = (0..n).find(|&i| f[phdr(&f, i)] == 3).expect("a PT_INTERP");
    let at = f.len() as u64;
    f.extend_from_slice(entry);
    let ph = phdr(&f, i);
    for (off, v) in [(8, at), (16, at), (24, at)] {
        put64(&mut f, ph + off, v);
    }
    let size = filesz.unwrap_or(entry.len() as u64);
    put64(&mut f, ph + 32, size);
    put64(&mut f, ph + 40, size);
    f
}

/// A dynamically linked program whose interpreter cannot be used exits as under
/// `qemu-aarch64 -L SYSROOT` (255, qemu's status for any interpreter it cannot load),
/// with one `gpuos:` line saying why: the PT_INTERP entry (Linux's bounds: 2 to
/// PATH_MAX bytes, NUL-terminated, in the file), the interpreter's lookup in the
/// sysroot (missing, relative, a directory) and its format (not ELF, x86-64).
#[test]
fn dynamic_program_without_a_usable_interpreter_exits_as_qemu() {
    let d = tmp("interp-errors");
    let sr = d.join("sysroot");
    std::fs::create_dir_all(sr.join("lib")).unwrap();
    let exe = |path: &Path, bytes: &[u8]| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    exe(&sr.join("lib/notelf"), b"not an ELF file\n");
    exe(
        &sr.join("lib/x86"),
        &std::fs::read(std::env::current_exe().unwrap()).unwrap(),
    );
    let hello = std::fs::read(guest("hello_dyn")).unwrap();
    let long = [&[b'/'; 4096][..], b"\0"].concat();
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "missing",
            with_interp(&hello, b"/lib/nope.so\0", None),
            "cannot open its interpreter /lib/nope.so: No such file or directory",
        ),
        (
            "relative",
            with_interp(&hello, b"ld.so\0", None),
            "cannot open its interpreter ld.so: No such file or directory",
        ),
        (
            "dir",
            with_interp(&hello, b"/lib\0", None),
            "cannot open its interpreter /lib: Permission denied",
        ),
        (
            "notelf",
            with_interp(&hello, b"/lib/notelf\0", None),
            "interpreter /lib/notelf: not an ELF executable",
        ),
        (
            "x86",
            with_interp(&hello, b"/lib/x86\0", None),
            "interpreter /lib/x86: ELF for machine 62 (x86-64)",
        ),
        (
            "no-nul",
            with_interp(&hello, b"/lib/ld-linux-aarch64.so.1", None),
            "invalid PT_INTERP entry: the path is not NUL-terminated",
        ),
        (
            "empty",
            with_interp(&hello, b"\0x", None),
            "invalid PT_INTERP entry: the path is not NUL-terminated",
        ),
        (
            "too-long",
            with_interp(&hello, &long, None),
            "invalid PT_INTERP entry: p_filesz 4097",
        ),
        (
            "past-eof",
            with_interp(&hello, b"/lib/x\0", Some(4000)),
            "invalid PT_INTERP entry: 4000 bytes",
        ),
    ];
    let sysroot = sr.to_str().unwrap();
    for (name, bytes, needle) in cases {
        let prog = d.join(name);
        exe(&prog, bytes);
        let want = Command::new(qemu())
            .current_dir(&d)
            .args(["-L", sysroot])
            .arg(&prog)
            .output()
            .expect("qemu runs");
        let o = gpuos(
            &d,
            &[
                "run",
                "--backend",
                "cpu",
                "-L",
                sysroot,
                prog.to_str().unwrap(),
            ],
        );
        assert_eq!(
            want.status.code(),
            Some(255),
            "qemu {name}: {}",
            stderr(&want)
        );
        assert_refused(&o, 255, needle);
    }
    // No sysroot, no interpreter on this host: the line says how to give one.
    if !Path::new("/lib/ld-linux-aarch64.so.1").exists() {
        let o = gpuos(
            &d,
            &[
                "run",
                "--backend",
                "cpu",
                guest("hello_dyn").to_str().unwrap(),
            ],
        );
        assert_refused(&o, 255, "(AArch64 libraries: --sysroot DIR)");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A sysroot whose `/lib/ld-gpuos-tramp.so.1` is `interp` (the interpreter the auxv
/// programs name, tests/guest/build.sh).
fn tramp_sysroot(d: &Path, interp: &str) -> PathBuf {
    let sr = d.join("sysroot");
    std::fs::create_dir_all(sr.join("lib")).unwrap();
    std::fs::copy(guest(interp), sr.join("lib/ld-gpuos-tramp.so.1")).unwrap();
    sr
}

/// A program with an interpreter starts in the interpreter, which the initial stack
/// tells what qemu-aarch64's tells it: AT_BASE (its ELF header, page aligned, apart
/// from the program), AT_ENTRY (the program's _start), AT_PHDR and AT_PHNUM (the
/// program's headers), with the break after the program. The interpreter
/// (tests/guest/ld_tramp.S) jumps to AT_ENTRY; the program (tests/guest/auxv.c,
/// static and static-PIE with a PT_INTERP) prints these relations, which must be
/// qemu's byte for byte. An interpreter's own PT_INTERP is ignored, as by Linux and
/// qemu.
#[test]
fn dynamic_program_starts_in_its_interpreter_with_qemus_auxv() {
    let d = tmp("interp-auxv");
    for interp in ["ld_tramp", "ld_tramp_interp"] {
        let sr = tramp_sysroot(&d, interp);
        let sysroot = sr.to_str().unwrap();
        for prog in ["auxv", "auxv_interp", "auxv_pie_interp"] {
            let p = guest(prog);
            let want = Command::new(qemu())
                .current_dir(&d)
                .args(["-L", sysroot])
                .arg(&p)
                .args(["one", "two"])
                .output()
                .expect("qemu runs");
            let o = gpuos(
                &d,
                &[
                    "run",
                    "--backend",
                    "cpu",
                    "-L",
                    sysroot,
                    p.to_str().unwrap(),
                    "one",
                    "two",
                ],
            );
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(
                (o.status.code(), out.as_ref(), stderr(&o)),
                (
                    want.status.code(),
                    String::from_utf8_lossy(&want.stdout).as_ref(),
                    String::new()
                ),
                "{prog} with {interp}"
            );
            let base = if prog == "auxv" { 0 } else { 1 };
            assert!(out.contains(&format!("AT_BASE given: {base}\n")), "{out}");
            assert!(out.contains("AT_PHDR is the program headers: 1\n"), "{out}");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// glibc's `ld-linux-aarch64.so.1` starts as hello_dyn's interpreter from the sysroot
/// the cross toolchain installs (`-L /usr/aarch64-linux-gnu`): its first calls (brk,
/// then libc.so.6 found in the sysroot and its ELF header read) are traced. The rest
/// needs file-backed mmap (the conformance case dyn-hello compares it with qemu).
#[test]
fn glibc_ld_so_starts_from_the_sysroot() {
    let sr = Path::new("/usr/aarch64-linux-gnu");
    if !sr.join("lib/ld-linux-aarch64.so.1").exists() {
        eprintln!(
            "skipped: no {}/lib/ld-linux-aarch64.so.1 (libc6-arm64-cross)",
            sr.display()
        );
        return;
    }
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            "--strace",
            "-L",
            sr.to_str().unwrap(),
            guest("hello_dyn").to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    let calls: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("1000 "))
        .collect();
    assert!(
        calls
            .first()
            .is_some_and(|c| c.starts_with("brk(0x0) = 0x")),
        "{err}"
    );
    let libc = calls
        .iter()
        .position(|c| c.starts_with("openat(-100,\"/lib/libc.so.6\"") && c.ends_with(") = 3"))
        .unwrap_or_else(|| panic!("libc.so.6 not opened: {err}"));
    assert!(
        calls[libc + 1].starts_with("read(3,") && calls[libc + 1].ends_with(",832) = 832"),
        "{err}"
    );
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

/// The summary names at most eight distinct stdouts, most common first, however many
/// lanes differ (a sweep of 67,584 lanes printed 67,584 hashes on one line): 20 lanes of
/// `exit_codes none {lane}` print 19 distinct outputs (lane 0 passed through).
#[test]
fn summary_of_many_distinct_outputs_is_one_short_line() {
    let d = tmp("distinct");
    let prog = guest("exit_codes");
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "20",
            prog.to_str().unwrap(),
            "none",
            "{lane}",
        ],
    );
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err
        .lines()
        .find(|l| l.contains("distinct stdout"))
        .expect("a summary line");
    assert!(line.starts_with("gpuos: 19 distinct stdout"), "{line}");
    assert_eq!(line.matches("1x ").count(), 8, "{line}");
    assert!(
        line.ends_with(", and 11 more (see --lane-report)"),
        "{line}"
    );
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
/// notice every process posts (kernel/sched.h, `sched_end`), which gpu-check's
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

/// `hostile_mem` (tests/guest/hostile_mem.c) under gpuos with `args` (gpuos's options,
/// then the guest's), in its own scratch directory, with `env` set.
fn hostile_mem(name: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let d = tmp(name);
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpuos"));
    c.current_dir(&d).args(["run", "--backend", "cpu"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.args(args).output().expect("gpuos runs");
    let _ = std::fs::remove_dir_all(&d);
    o
}

/// Lanes 1.. of a `--lane-report` table: each must have qemu's exit status and stdout
/// (`want`: the innocent neighbour under qemu-aarch64).
fn assert_innocent_lanes(report: &str, lanes: usize, want: &Output) {
    let sha: String = gpuos::machine::sha256(&want.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let status = want.status.code().unwrap().to_string();
    let rows: Vec<Vec<&str>> = report
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), lanes, "{report}");
    for r in &rows[1..] {
        assert_eq!(
            (r[1], r[3]),
            (status.as_str(), sha.as_str()),
            "lane {}: {report}",
            r[0]
        );
    }
}

/// A memory hog in lane 0 beside 7 innocent lanes, each process limited to 32 MiB: the
/// hog's mallocs, and its mmap of more than the limit, fail with ENOMEM (RLIMIT_AS);
/// every innocent lane's status and output are qemu's.
#[test]
fn memory_hog_gets_enomem_and_leaves_its_neighbours() {
    let prog = guest("hostile_mem");
    let want = Command::new(qemu())
        .arg(&prog)
        .args(["neighbour", "1", "malloc"])
        .output()
        .expect("qemu runs");
    assert_eq!(want.status.code(), Some(0), "qemu: {}", stderr(&want));
    for (hog, says) in [("malloc", "hog: malloc failed"), ("64", "hog: mmap ENOMEM")] {
        let d = tmp("hog-enomem");
        let report = d.join("lanes.tsv");
        let o = gpuos(
            &d,
            &[
                "run",
                "--backend",
                "cpu",
                "--lanes",
                "8",
                "--mem-per-process",
                "32M",
                "--lane-report",
                report.to_str().unwrap(),
                prog.to_str().unwrap(),
                "neighbour",
                "{lane}",
                hog,
            ],
        );
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&d);
        assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with(says),
            "hog {hog}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert_innocent_lanes(&text, 8, &want);
    }
}

/// A hog that touches more than its share of a small frame pool (64 MiB, 4 lanes, the
/// default limit: a fair share of the pool each) is the one killed, with SIGKILL and
/// the cause on stderr; its neighbours run as under qemu.
#[test]
fn memory_hog_in_a_small_pool_is_the_one_killed() {
    let prog = guest("hostile_mem");
    let want = Command::new(qemu())
        .arg(&prog)
        .args(["neighbour", "1", "256"])
        .output()
        .expect("qemu runs");
    let d = tmp("hog-kill");
    let report = d.join("lanes.tsv");
    let o = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(&d)
        .env("GPUOS_POOL_MIB", "64")
        .args(["run", "--backend", "cpu", "--lanes", "4", "--lane-report"])
        .arg(&report)
        .arg(&prog)
        .args(["neighbour", "{lane}", "256"])
        .output()
        .expect("gpuos runs");
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(137), "stderr: {err}");
    assert!(
        err.contains("killed by SIGKILL (out of memory: resident limit ")
            && err.contains("reached)"),
        "{err}"
    );
    assert!(
        text.lines().nth(1).unwrap_or("").contains("SIGKILL"),
        "{text}"
    );
    assert_innocent_lanes(&text, 4, &want);
}

/// When the frame pool itself runs out (a 16 MiB pool, a limit above it), the process
/// whose page fault finds no frame is killed, and the message says so.
#[test]
fn frame_pool_exhaustion_kills_the_process_that_asks() {
    let o = hostile_mem(
        "pool-out",
        &[("GPUOS_POOL_MIB", "16")],
        &[
            "--mem-per-process",
            "1G",
            guest("hostile_mem").to_str().unwrap(),
            "hog",
            "256",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(137), "stderr: {err}");
    assert!(
        err.contains("killed by SIGKILL (out of memory: frame pool exhausted)"),
        "{err}"
    );
}

/// mprotect of 2^47 bytes, munmap and madvise of 2^46, a 64 GiB mmap with a few pages
/// touched, mremap to 16 GiB, huge brk: every answer is qemu's (qemu's munmap takes time
/// per page, so it answers the same program with 2^36 for 2^46: the output does not
/// show the size), under --max-insns, well within the bound (a hang detector, not a
/// timing test: before, mprotect of 2^47 bytes ran for minutes).
#[test]
fn huge_ranges_are_answered_at_once() {
    let prog = guest("hostile_mem");
    let want = Command::new(qemu())
        .arg(&prog)
        .args(["huge", "36"])
        .output()
        .expect("qemu runs");
    assert_eq!(want.status.code(), Some(0), "qemu: {}", stderr(&want));
    let t = std::time::Instant::now();
    let o = hostile_mem(
        "huge",
        &[],
        &[
            "--max-insns",
            "50000000",
            prog.to_str().unwrap(),
            "huge",
            "46",
        ],
    );
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
}

/// RLIMIT_AS is the process's --mem-per-process (unlimited by default, as on Linux);
/// the guest may lower it (setrlimit, prlimit64), which mmap, mremap and brk then obey
/// with ENOMEM, but not raise its hard limit (EPERM), as setrlimit(2) says. (qemu-user
/// ignores setrlimit of RLIMIT_AS, so it cannot be the oracle here.)
#[test]
fn rlimit_as_is_the_limit_and_the_guest_may_lower_it() {
    let prog = guest("hostile_mem");
    let o = hostile_mem(
        "rlimit",
        &[],
        &[
            "--mem-per-process",
            "200M",
            prog.to_str().unwrap(),
            "rlimit",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for line in [
        "start: RLIMIT_AS soft 209715200 hard 209715200",
        "lowered: RLIMIT_AS soft 67108864 hard 100663296",
        "mmap 128M: ENOMEM",
        "mmap 16M: ok",
        "mremap 16M -> 128M: ENOMEM",
        "brk +100M refused: yes",
        "setrlimit(hard 1T): EPERM",
        "setrlimit(soft > hard): EINVAL",
        "prlimit old soft 64M hard 96M",
        "end: RLIMIT_AS soft 33554432 hard 33554432",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{line:?} missing in:\n{out}"
        );
    }
    let o = hostile_mem("rlimit-default", &[], &[prog.to_str().unwrap(), "rlimit"]);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("start: RLIMIT_AS soft unlimited hard unlimited"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// --mem-per-process takes K, M and G suffixes; a bad size is refused with one line.
#[test]
fn mem_per_process_sizes() {
    let prog = guest("hostile_mem");
    for (size, want) in [
        ("48M", "50331648"),
        ("49152K", "50331648"),
        ("1G", "1073741824"),
    ] {
        let o = hostile_mem(
            "mem-size",
            &[],
            &["--mem-per-process", size, prog.to_str().unwrap(), "rlimit"],
        );
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.starts_with(&format!("start: RLIMIT_AS soft {want} hard {want}")),
            "{size}: {out}"
        );
    }
    let o = gpuos(
        &std::env::temp_dir(),
        &[
            "run",
            "--backend",
            "cpu",
            "--mem-per-process",
            "12Q",
            prog.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad size"), "{}", stderr(&o));
}

/// A PT_GNU_RELRO of 2^46 bytes: glibc's start-up mprotects it read-only, which must
/// answer ENOMEM at once (the range is not mapped), so glibc reports it and exits 127,
/// as on Linux. (Before, that mprotect walked 2^34 pages; qemu-aarch64 still does, for
/// minutes, so it cannot be the oracle here.)
#[test]
fn huge_relro_is_refused_at_once() {
    let mut elf = std::fs::read(guest("hello")).unwrap();
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(&elf, 0x36), u16_at(&elf, 0x38));
    let relro = (0..count)
        .map(|i| phoff + i * size)
        .find(|&o| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 0x6474_e552)
        .expect("hello has a PT_GNU_RELRO");
    elf[relro + 0x28..relro + 0x30].copy_from_slice(&(1u64 << 46).to_le_bytes());
    let d = tmp("relro");
    let prog = d.join("hello_relro");
    std::fs::write(&prog, &elf).unwrap();
    let t = std::time::Instant::now();
    let o = gpuos(&d, &["run", "--backend", "cpu", prog.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&d);
    assert!(t.elapsed().as_secs() < 20, "took {:?}", t.elapsed());
    assert_eq!(o.status.code(), Some(127), "stderr: {}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot apply additional memory protection after relocation"),
        "{}",
        stderr(&o)
    );
}

// ---- the loader: bounded memory and time on hostile ELF files --------------------------

/// How a bounded run ended: exit status, stdout, stderr, peak RSS in KiB.
struct Measured {
    status: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    rss_kib: u64,
}

/// Run `cmd` with stdout and stderr captured and no stdin; fail the test when it runs
/// longer than `limit` (it is killed). The peak RSS is the child's own (wait4(2)'s
/// rusage), not that of the other tests' children.
fn run_measured(cmd: &mut Command, limit: std::time::Duration) -> Measured {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let (status, rss_kib) = wait_measured(child, limit);
    Measured {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        rss_kib,
    }
}

/// Wait for `child`, killing it and failing the test once it has run longer than
/// `limit`; its exit status and peak RSS in KiB (wait4(2)'s rusage: the child's own, and
/// a forked child's count starts from its parent's size at the fork).
fn wait_measured(child: std::process::Child, limit: std::time::Duration) -> (Option<i32>, u64) {
    let pid = child.id() as libc::pid_t;
    // Reaped below by wait4(2), for its rusage, which std's `wait` cannot give.
    std::mem::forget(child);
    let t0 = std::time::Instant::now();
    let (mut status, mut killed) = (0, false);
    // SAFETY: rusage is plain old data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is this test's child, reaped only here; the locals outlive the call.
    while unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) } != pid {
        if t0.elapsed() > limit && !killed {
            // SAFETY: the child is not reaped yet, so the pid is still its own.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(!killed, "still running after {limit:?}: killed");
    (
        libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        ru.ru_maxrss as u64,
    )
}

/// `gpuos run --backend cpu PROG` in `cwd`, measured, within 30 s.
fn gpuos_measured(cwd: &Path, prog: &Path, extra: &[&str]) -> Measured {
    run_measured(
        Command::new(env!("CARGO_BIN_EXE_gpuos"))
            .current_dir(cwd)
            .args(["run", "--backend", "cpu"])
            .args(extra)
            .arg(prog),
        std::time::Duration::from_secs(30),
    )
}

/// A refusal as `assert_refused` wants it, quick and small.
fn assert_refused_small(m: &Measured, needle: &str) {
    assert_eq!(m.status, Some(126), "stderr: {}", m.stderr);
    assert_eq!(m.stderr.lines().count(), 1, "{}", m.stderr);
    assert!(
        m.stderr.contains(needle),
        "expected {needle:?} in: {}",
        m.stderr
    );
    assert!(m.rss_kib < 64 << 10, "peak RSS {} KiB", m.rss_kib);
}

/// Write an executable file (qemu-aarch64, like execve(2), wants execute permission).
fn write_prog(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The same program under qemu-aarch64: (stdout, exit status).
fn qemu_output(cwd: &Path, prog: &Path) -> (Vec<u8>, Option<i32>) {
    let o = Command::new(qemu())
        .current_dir(cwd)
        .arg(prog)
        .output()
        .expect("qemu runs");
    (o.stdout, o.status.code())
}

/// Offset of program header `i` of an ELF64 file.
fn phdr(elf: &[u8], i: usize) -> usize {
    u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize + 56 * i
}

fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The index of hello's writable PT_LOAD (the data and .bss).
fn data_load(elf: &[u8]) -> usize {
    let n = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    (0..n)
        .find(|&i| elf[phdr(elf, i)] == 1 && elf[phdr(elf, i) + 4] & 2 != 0)
        .expect("a writable PT_LOAD")
}

/// `gpuos run PROGRAM` on a file that is not regular is refused at once (execve(2):
/// EACCES), as a shell refuses it: /dev/zero was read until the host ran out of memory,
/// and a FIFO made gpuos wait for a writer.
#[test]
fn special_files_are_refused_quickly() {
    let d = tmp("special");
    let m = gpuos_measured(&d, Path::new("/dev/zero"), &[]);
    assert_refused_small(&m, "cannot execute a character device");
    let fifo = d.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: c is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    assert_refused_small(&gpuos_measured(&d, &fifo, &[]), "cannot execute a FIFO");
    assert_refused_small(&gpuos_measured(&d, &d, &[]), "cannot execute a directory");
    let _ = std::fs::remove_dir_all(&d);
}

/// A .bss of 3 GiB costs nothing until touched (the loader zeroed frames for all of it):
/// hello runs as under qemu in a small RSS. Sizes past what gpuos loads, or past the
/// address space, are refused with the reason.
#[test]
fn huge_p_memsz_is_lazy_or_refused() {
    let d = tmp("memsz");
    let mut elf = std::fs::read(guest("hello")).unwrap();
    let memsz = phdr(&elf, data_load(&elf)) + 40;
    let grown = get64(&elf, memsz) + (3 << 30);
    put64(&mut elf, memsz, grown);
    let prog = d.join("hello-3g");
    write_prog(&prog, &elf);
    let m = gpuos_measured(&d, &prog, &[]);
    assert_eq!((m.stdout, m.status), qemu_output(&d, &prog), "{}", m.stderr);
    assert!(m.rss_kib < 64 << 10, "peak RSS {} KiB", m.rss_kib);

    put64(&mut elf, memsz, 1 << 40);
    write_prog(&prog, &elf);
    let m = gpuos_measured(&d, &prog, &[]);
    assert_refused_small(&m, "the segments need 1048577 MiB of memory");
    put64(&mut elf, memsz, u64::MAX - 0xfff);
    write_prog(&prog, &elf);
    assert_refused_small(&gpuos_measured(&d, &prog, &[]), "beyond the program area");
    let _ = std::fs::remove_dir_all(&d);
}

/// hello with `k` more copies of its writable PT_LOAD, of type `ptype` (PT_LOAD: 1,
/// or PT_NULL: 0 for a table of the same size without them). The new program header table
/// goes into the file's gap after the text segment's bytes, which grows to cover it
/// (so that the program finds its headers through AT_PHDR), or at the end of the file
/// when it does not fit there.
fn hello_with_load_copies(k: usize, ptype: u8) -> Vec<u8> {
    let mut elf = std::fs::read(guest("hello")).unwrap();
    let n = u16::from_le_bytes([elf[56], elf[57]]) as usize;
    let mut table = elf[phdr(&elf, 0)..phdr(&elf, n)].to_vec();
    let data = phdr(&elf, data_load(&elf));
    for _ in 0..k {
        table.extend_from_slice(&elf[data..data + 56]);
        let copy = table.len() - 56;
        table[copy] = ptype;
    }
    let text = phdr(&elf, 0);
    let gap = (get64(&elf, text + 32) as usize).next_multiple_of(8);
    let at = if gap + table.len() <= get64(&elf, data + 8) as usize {
        let size = (gap + table.len()) as u64;
        put64(&mut table, 32, size);
        put64(&mut table, 40, size);
        elf[gap..gap + table.len()].copy_from_slice(&table);
        gap
    } else {
        let at = elf.len().next_multiple_of(8);
        elf.resize(at, 0);
        elf.extend_from_slice(&table);
        at
    };
    put64(&mut elf, 32, at as u64);
    elf[56..58].copy_from_slice(&((n + k) as u16).to_le_bytes());
    elf
}

/// Duplicated PT_LOADs: within Linux's 73 program headers each copy maps the same pages
/// again, replacing them (mmap(MAP_FIXED)), so the program runs as under qemu and the
/// image template is no larger than without the copies; 2,000 of them are refused as
/// Linux refuses them, at once and in little memory (they cost 2 GiB before).
#[test]
fn duplicated_pt_loads_take_no_more_memory() {
    let d = tmp("dups");
    let template_kib = |m: &Measured| -> String {
        let line = m.stderr.lines().find(|l| l.contains("shared image"));
        let words = line.unwrap_or_else(|| panic!("no memory line in: {}", m.stderr));
        words
            .split("memory: ")
            .nth(1)
            .unwrap()
            .split(" KiB")
            .next()
            .unwrap()
            .to_string()
    };
    // The same file with PT_NULL copies (its text segment grown alike).
    let prog = d.join("hello-table");
    write_prog(&prog, &hello_with_load_copies(67, 0));
    let one = gpuos_measured(&d, &prog, &["-v"]);
    assert_eq!(one.status, Some(0), "{}", one.stderr);
    let prog = d.join("hello-dups");
    write_prog(&prog, &hello_with_load_copies(67, 1));
    let m = gpuos_measured(&d, &prog, &["-v"]);
    assert_eq!(
        (m.stdout.clone(), m.status),
        qemu_output(&d, &prog),
        "{}",
        m.stderr
    );
    assert_eq!(template_kib(&m), template_kib(&one));
    assert!(m.rss_kib < 64 << 10, "peak RSS {} KiB", m.rss_kib);

    write_prog(&prog, &hello_with_load_copies(2000, 1));
    let m = gpuos_measured(&d, &prog, &[]);
    assert_refused_small(&m, "e_phnum 2006");
    let _ = std::fs::remove_dir_all(&d);
}

/// A static-PIE program (ET_DYN without an interpreter) runs as under qemu.
#[test]
fn static_pie_runs_as_under_qemu() {
    let d = tmp("pie");
    let prog = guest("hello_pie");
    let m = gpuos_measured(&d, &prog, &[]);
    assert_eq!((m.stdout, m.status), qemu_output(&d, &prog), "{}", m.stderr);
    let _ = std::fs::remove_dir_all(&d);
}

/// `unshare` arguments that run a command in a PID namespace of its own (with a user
/// namespace when not root) and, through `setsid`, in a session and process group of
/// its own, not as the namespace's init; None where that cannot be made. kill(-1) and
/// kill(0) under qemu are the host's: outside such a namespace and group they would
/// signal every process of the user, or the test's own process group.
fn pid_namespace() -> Option<Vec<&'static str>> {
    let tries: [&[&'static str]; 2] = [
        &["--pid", "--fork", "--kill-child"],
        &[
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--kill-child",
        ],
    ];
    let wrap = ["sh", "-c", "setsid \"$@\"; exit $?", "sh"];
    tries
        .into_iter()
        .map(|t| t.iter().chain(&wrap).copied().collect::<Vec<_>>())
        .find(|t| {
            Command::new("unshare")
                .args(t)
                .arg("true")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// kill(-1, SIGTERM) spares the caller (kill(2); Linux's kill_something_info skips it)
/// and reaches its children: one dies by it, one runs its handler, one ignores it.
/// Before, gpuos sent it to the caller alone, which died. kill(0) and kill(-pgid) reach
/// the children and the caller. qemu runs in a PID namespace
/// of its own; where none can be made, gpuos's output is checked by itself.
#[test]
fn kill_minus_one_spares_the_caller() {
    let prog = guest("hostile_proc_kill");
    let d = tmp("kill-minus-one");
    let o = gpuos(&d, &["run", "--backend", "cpu", prog.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.starts_with("kill(-1, SIGTERM) = 0: the caller is still alive\n"),
        "{out}"
    );
    assert!(out.contains("A (default): killed by signal 15\n"), "{out}");
    match pid_namespace() {
        Some(ns) => {
            let want = Command::new("unshare")
                .args(ns)
                .arg(qemu())
                .arg(&prog)
                .current_dir(&d)
                .output()
                .expect("qemu runs");
            assert_eq!(want.status.code(), Some(0), "qemu: {}", stderr(&want));
            assert_eq!(out, String::from_utf8_lossy(&want.stdout), "gpuos vs qemu");
        }
        None => eprintln!("no PID namespace: qemu not run (kill(-1) would reach the host)"),
    }
}

/// Fork and wait do not grow with the family: 2000 children alive at once (then
/// zombies), reaped with wait(-1), by pid in fork order and newest first, as under qemu. 16,384
/// children took 46 s before (a walk of the whole family per fork, end and reap;
/// docs/BENCHMARKS.md).
#[test]
fn many_children_fork_and_wait() {
    let prog = guest("hostile_proc_fork");
    let d = tmp("many-children");
    for how in ["any", "order", "reverse"] {
        let want = Command::new(qemu())
            .args([prog.to_str().unwrap(), "2000", how])
            .output()
            .expect("qemu runs");
        let o = gpuos(
            &d,
            &[
                "run",
                "--backend",
                "cpu",
                "--child-slots",
                "2048",
                prog.to_str().unwrap(),
                "2000",
                how,
            ],
        );
        assert_eq!(o.status.code(), want.status.code(), "{}", stderr(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&want.stdout)
        );
    }
}

/// One lane's many children cannot take every child slot from the others: with 64
/// slots for two lanes, lane 0 wants all 64 at once and gets EAGAIN once 7/8 of the
/// pool is in use and it holds more than its fair share of 32 (its fork fails, its
/// status 4), whatever lane 1 does; lane 1's eight children always find slots, its
/// output qemu's (kernel/proc/family.h `slot_take`).
#[test]
fn one_lane_cannot_take_every_child_slot() {
    let prog = guest("hostile_proc_fork");
    let p = prog.to_str().unwrap();
    let d = tmp("slot-share");
    std::fs::write(d.join("jobs.txt"), format!("{p} 64\n{p} 8\n")).unwrap();
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--child-slots",
            "64",
            "--jobs",
            "jobs.txt",
            "--output-dir",
            "out",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(4),
        "lane 0 took every slot: {}",
        stderr(&o)
    );
    let want = Command::new(qemu())
        .args([p, "8"])
        .output()
        .expect("qemu runs");
    assert_eq!(want.status.code(), Some(0));
    let got = std::fs::read(d.join("out/lane-1.stdout")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want.stdout),
        "{}",
        stderr(&o)
    );
}

/// A write or read larger than the request buffer takes several host requests, but
/// `--strace` shows one line per guest call, with the guest's own arguments and the
/// call's total (kernel/sys/marshal.h logs the whole call when its last chunk is done).
#[test]
fn strace_shows_one_line_per_large_call() {
    let d = tmp("strace-large");
    let prog = guest("hostile_io");
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--strace",
            prog.to_str().unwrap(),
            "file",
            "300000",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let calls = |name: &str| -> Vec<&str> {
        err.lines()
            .filter(|l| l.split(' ').nth(1).is_some_and(|c| c.starts_with(name)))
            .collect()
    };
    let big_writes: Vec<&str> = calls("write(3,")
        .into_iter()
        .filter(|l| l.contains(",300000) = "))
        .collect();
    assert_eq!(big_writes.len(), 1, "{err}");
    assert!(big_writes[0].ends_with(",300000) = 300000"), "{err}");
    assert!(big_writes[0].contains("\"..."), "{err}");
    let reads = calls("read(3,");
    assert_eq!(reads.len(), 2, "{err}");
    assert!(reads[0].ends_with(",304096) = 300000"), "{err}");
    assert!(
        calls("pwrite64(3,")[0].ends_with(",300000,12345) = 300000"),
        "{err}"
    );
    assert!(calls("writev(3,")[0].ends_with(",4) = 300000"), "{err}");
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

/// Output is streamed, not held: two lanes writing 200 MiB each to stdout, with
/// `--lane-report` and `--output-dir`, keep gpuos under 100 MiB of resident memory
/// (it once kept every lane's output until the lane ended: 400 MiB and more), with the
/// files held open and, under a limit of 512 open files (two files per lane do not fit
/// with the reserve, `lane::lane_files_fit`), written through a small buffer. Files,
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
    // Both runs first, while this process is small (a forked child's peak RSS starts
    // from its parent's size at the fork).
    let runs: Vec<(bool, PathBuf, Option<i32>, u64)> = [false, true]
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
            let child = cmd.spawn().expect("gpuos runs");
            let (code, maxrss_kib) = wait_measured(child, std::time::Duration::from_secs(600));
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

/// `-v` after a stop says where the unfinished lane was: a shell in wait4 for a
/// pipeline whose first process sleeps, one line a process, then the count by state.
#[test]
fn verbose_stop_reports_where_the_lanes_were() {
    let d = tmp("stop-report");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(&d)
        .args(["run", "--backend", "cpu", "--threads", "2", "-v"])
        .arg(busybox())
        .args(["sh", "-c", "echo started; busybox sleep 30 | busybox cat"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("gpuos runs");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "started\n");
    // Time for the shell to start the pipeline (a loaded CI machine included).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("gpuos: stopped lane 0: 3 processes and threads"),
        "{err}"
    );
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("gpuos:   pid "))
        .collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains(": blocked in wait4, home, pc 0x"),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.contains("nanosleep")), "{err}");
    assert!(
        err.contains("gpuos: 1 stopped lanes; their live processes and threads by state:"),
        "{err}"
    );
    assert!(
        err.contains("gpuos: interrupted by SIGTERM; 1 lane stopped"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&d);
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

/// Everything after PROGRAM is the guest's, as with qemu-user: gpuos's own options
/// (`-v`, `--strace`, `-h`, `--lanes`) after it go to the program unread, and before it
/// they are still gpuos's.
#[test]
fn options_after_program_belong_to_the_guest() {
    let d = tmp("after-program");
    let bb = busybox();
    let args = ["echo", "-v", "--strace", "-h", "--lanes", "2", "--"];
    let want = Command::new(qemu())
        .arg(&bb)
        .args(args)
        .output()
        .expect("qemu runs");
    let mut cmd = vec!["run", "--backend", "cpu", bb.to_str().unwrap()];
    cmd.extend(args);
    let o = gpuos(&d, &cmd);
    assert_eq!(o.status.code(), want.status.code(), "{}", stderr(&o));
    assert_eq!(o.stdout, want.stdout, "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&want.stdout),
        "-v --strace -h --lanes 2 --\n"
    );
    assert!(
        stderr(&o).is_empty(),
        "gpuos read an option: {}",
        stderr(&o)
    );
    // Before PROGRAM, --strace is gpuos's.
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--strace",
            bb.to_str().unwrap(),
            "true",
        ],
    );
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("1000 getuid() = "), "{}", stderr(&o));
}

/// `--sysroot DIR`, `-L DIR` and `GPUOS_SYSROOT=DIR` give busybox what `qemu-aarch64
/// -L DIR` gives it, byte for byte with the exit status: absolute paths name DIR's
/// entries first (a file, a directory listing, the root, a relative symlink, an
/// absolute symlink to a host file) and the host's where DIR has none; a path relative
/// to the working directory is not redirected, nor is PROGRAM.
#[test]
fn sysroot_is_looked_up_first_as_qemu_l() {
    let bb = busybox();
    let d = tmp("sysroot");
    let sr = d.join("sysroot");
    std::fs::create_dir_all(sr.join("etc")).unwrap();
    std::fs::create_dir_all(sr.join("usr/lib")).unwrap();
    std::fs::write(sr.join("etc/gpuos-sysroot-probe"), "from the sysroot\n").unwrap();
    std::fs::write(sr.join("usr/lib/lib.so"), "a library\n").unwrap();
    std::os::unix::fs::symlink("usr/lib", sr.join("lib")).unwrap();
    std::os::unix::fs::symlink("gpuos-sysroot-probe", sr.join("etc/rel-link")).unwrap();
    let host_only = d.join("host-only");
    std::fs::write(&host_only, "only on the host\n").unwrap();
    std::os::unix::fs::symlink(&host_only, sr.join("etc/abs-link")).unwrap();
    let host_only = host_only.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["cat", "/etc/gpuos-sysroot-probe"],
        &["cat", "/etc/rel-link"],
        &["cat", "/etc/abs-link"],
        &["cat", "/lib/lib.so"],
        &["readlink", "/etc/rel-link"],
        &["stat", "-c", "%n %s %F", "/etc/gpuos-sysroot-probe", "/lib"],
        &["ls", "/", "/etc", "/lib/"],
        &["cat", host_only],
        &["head", "-c", "5", "/etc/passwd"],
        &["cat", "etc/gpuos-sysroot-probe"],
        &["cat", "/etc/gpuos-sysroot-missing"],
    ];
    let sysroot = sr.to_str().unwrap();
    for (i, args) in cases.iter().enumerate() {
        let want = Command::new(qemu())
            .current_dir(&d)
            .args(["-L", sysroot])
            .arg(&bb)
            .args(*args)
            .output()
            .expect("qemu runs");
        let run = |opts: &[&str], env: Option<&str>| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_gpuos"));
            c.current_dir(&d)
                .args(["run", "--backend", "cpu"])
                .args(opts);
            if let Some(e) = env {
                c.env("GPUOS_SYSROOT", e);
            }
            c.arg(&bb).args(*args).output().expect("gpuos runs")
        };
        // Every way to name it, the last one only on some of the cases (time).
        let mut ways = vec![("--sysroot", run(&["--sysroot", sysroot], None))];
        if i % 3 == 0 {
            ways.push(("-L", run(&["-L", sysroot], None)));
            ways.push(("GPUOS_SYSROOT", run(&[], Some(sysroot))));
        }
        for (how, o) in ways {
            assert_eq!(
                (o.status.code(), &o.stdout, stderr(&o)),
                (want.status.code(), &want.stdout, stderr(&want)),
                "{how} {args:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// The sysroot is read-only: writing, creating or removing there is EROFS, and it
/// stays as it was.
#[test]
fn sysroot_is_read_only() {
    let bb = busybox();
    let d = tmp("sysroot-ro");
    let sr = d.join("sysroot");
    std::fs::create_dir_all(sr.join("etc")).unwrap();
    std::fs::write(sr.join("etc/probe"), "kept\n").unwrap();
    let sysroot = sr.to_str().unwrap();
    let bbs = bb.to_str().unwrap();
    for args in [
        &["touch", "/etc/probe"][..],
        &["rm", "/etc/probe"],
        &["cp", "/etc/probe", "/etc/copy"],
        &["mkdir", "/etc/dir"],
    ] {
        let mut cmd = vec!["run", "--backend", "cpu", "-L", sysroot, bbs];
        cmd.extend(args);
        let o = gpuos(&d, &cmd);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("Read-only file system"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let left: Vec<_> = std::fs::read_dir(sr.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["probe"]);
    assert_eq!(std::fs::read(sr.join("etc/probe")).unwrap(), b"kept\n");
    let _ = std::fs::remove_dir_all(&d);
}

/// execve of programs other than the run's own image (a busybox shell running the
/// static guests, a `#!` script with an interpreter argument, a script whose
/// interpreter is a script) and its errors: the shell's output must be what
/// qemu-aarch64 gives for each program run on its own, put together as the shell puts
/// it (qemu-user cannot be the whole oracle here: without binfmt_misc its guest's
/// execve of an AArch64 program fails on an x86 host).
#[test]
fn execve_runs_other_programs_and_scripts() {
    let bb = busybox();
    let d = tmp("exec-other");
    let bbs = bb.to_str().unwrap();
    let hello = guest("hello");
    let exit = guest("exit_codes");
    let (hello, exit) = (hello.to_str().unwrap(), exit.to_str().unwrap());
    std::fs::write(
        d.join("s.sh"),
        format!("#!{bbs} sh\necho \"script: $0 $*\"\n{hello} from-script\n"),
    )
    .unwrap();
    std::fs::write(d.join("s2.sh"), format!("#!{}/s.sh\n", d.display())).unwrap();
    std::fs::write(d.join("noexec.sh"), "#!/bin/sh\n").unwrap();
    std::fs::write(d.join("empty.sh"), "#!\n").unwrap();
    for f in ["s.sh", "s2.sh", "empty.sh"] {
        std::fs::set_permissions(
            d.join(f),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    let script = format!(
        "{hello} x 'y z'; echo rc=$?; {exit} 42; echo rc=$?; ./s.sh p q; echo rc=$?; \
         ./s2.sh r; echo rc=$?; ./noexec.sh; echo rc=$?; env ./empty.sh; echo rc=$?; ./missing; echo rc=$?"
    );
    let o = gpuos(&d, &["run", "--backend", "cpu", bbs, "sh", "-c", &script]);
    let q = |args: &[&str]| -> String {
        let o = Command::new(qemu())
            .current_dir(&d)
            .args(args)
            .output()
            .expect("qemu runs");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let mut want = q(&[hello, "x", "y z"]);
    want += "rc=0\n";
    want += &q(&[exit, "42"]);
    want += "rc=42\n";
    want += "script: ./s.sh p q\n";
    want += &q(&[hello, "from-script"]);
    want += "rc=0\n";
    // s2.sh runs s.sh as its interpreter: argv is s.sh, then the script, then "r".
    want += &format!("script: {}/s.sh ./s2.sh r\n", d.display());
    want += &q(&[hello, "from-script"]);
    want += "rc=0\n";
    // (`env`, not the shell, for empty.sh: a shell runs a file that execve refuses with
    // ENOEXEC as a script of its own.)
    want += "rc=126\nrc=126\nrc=127\n";
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        want,
        "stderr: {}",
        stderr(&o)
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("noexec.sh: Permission denied"), "{err}");
    assert!(err.contains("'./empty.sh': Exec format error"), "{err}");
}

/// After an execve of another program, `/proc/self/exe` names that program (as Linux's
/// does: the file the process runs), and executing `/proc/self/exe` runs it again; an
/// execve of the run's own program names it again.
#[test]
fn proc_self_exe_follows_execve() {
    let d = tmp("exe-follows");
    let probe = guest("exe_probe");
    let bb = busybox();
    let (probe, bb) = (probe.to_str().unwrap(), bb.to_str().unwrap());
    let script = format!("readlink /proc/self/exe; exec {probe}");
    let o = gpuos(
        &d,
        &["run", "--backend", "cpu", probe, bb, "sh", "-c", &script],
    );
    let want = format!("exe: {probe}\n{bb}\nexe: {probe}\n");
    assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{}", stderr(&o));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--jobs FILE`: each line runs on a lane of its own (different programs, quoting, a
/// `-C DIR` working directory made below the working directory, `{lane}`); each lane's
/// stdout is what qemu-aarch64 prints for that command line, its status qemu's, the lane
/// report names the job, and gpuos exits with the first failing job's status.
#[test]
fn jobs_run_different_programs_one_per_lane() {
    let d = tmp("jobs");
    let (hello, exit, bb) = (guest("hello"), guest("exit_codes"), busybox());
    let (hello, exit, bb) = (
        hello.to_str().unwrap(),
        exit.to_str().unwrap(),
        bb.to_str().unwrap(),
    );
    let jobs: [(&str, Vec<&str>, Option<&str>); 5] = [
        ("first 'two words'", vec![hello, "first", "two words"], None),
        ("7", vec![exit, "7"], None),
        (
            "sh -c 'pwd; echo x > f.txt'",
            vec![bb, "sh", "-c", "pwd; echo x > f.txt"],
            Some("runs/2"),
        ),
        ("lane={lane}", vec![hello, "lane=3"], None),
        ("echo \"a  b\" c", vec![bb, "echo", "a  b", "c"], None),
    ];
    let mut text = String::from("# jobs\n\n");
    for (rest, argv, dir) in &jobs {
        let c = dir.map(|_| "-C runs/{lane} ").unwrap_or("");
        text += &format!("{c}{} {rest}\n", argv[0]);
    }
    std::fs::write(d.join("jobs.txt"), &text).unwrap();
    let o = gpuos(
        &d,
        &[
            "run",
            "--backend",
            "cpu",
            "--jobs",
            "jobs.txt",
            "--output-dir",
            "out",
            "--lane-report",
            "rep.tsv",
        ],
    );
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let rep = std::fs::read_to_string(d.join("rep.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = rep.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0].last(), Some(&"job"));
    for (lane, (_, argv, dir)) in jobs.iter().enumerate() {
        let cwd = dir.map_or(d.clone(), |p| d.join(p));
        let mut q = Command::new(qemu());
        q.current_dir(&cwd).args(argv);
        let want = q.output().expect("qemu runs");
        let got = std::fs::read(d.join(format!("out/lane-{lane}.stdout"))).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want.stdout),
            "lane {lane}"
        );
        let row = &rows[lane + 1];
        assert_eq!(
            row[1],
            want.status.code().unwrap().to_string(),
            "lane {lane}: {row:?}"
        );
        assert_eq!(
            row[8],
            text.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .nth(lane)
                .unwrap()
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.join("runs/2/f.txt")).unwrap(),
        "x\n"
    );
    // A job that cannot run is named, before anything runs.
    std::fs::write(d.join("bad.txt"), format!("{hello}\n./missing arg\n")).unwrap();
    let o = gpuos(&d, &["run", "--backend", "cpu", "--jobs", "bad.txt"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("job 2 (./missing arg): cannot execute ./missing: ENOENT"),
        "{}",
        stderr(&o)
    );
}

/// Lanes that share memory (one file mapped MAP_SHARED by every lane: one frame of the
/// page cache) update it with load/store-exclusives of every size, a 16-byte pair,
/// GCC's atomics and a spinlock: no update is lost (the global monitor of
/// kernel/a64/ldst.h), as with the same number of qemu processes at once. Before it, a
/// store-exclusive passed on its own lane's monitor alone and the lanes lost updates
/// and hung (the spinlock ended up held by nobody for ever). The CPU backend runs the lanes on
/// several host threads at once; the file exists before, so no lane truncates it.
#[test]
fn lanes_sharing_memory_lose_no_exclusive_update() {
    let (lanes, iters) = (8, "40000");
    let x = guest("xlane");
    let check = |d: &Path| {
        let o = Command::new(qemu())
            .current_dir(d)
            .args([
                x.to_str().unwrap(),
                "ctr.bin",
                "check",
                &lanes.to_string(),
                iters,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let d = tmp("xlane");
    std::fs::write(d.join("ctr.bin"), [0u8; 4096]).unwrap();
    // Bounded: a lost update of the spinlock's release (a lane's exchange storing 1
    // over the holder's 0) leaves it held for ever, and the lanes spin.
    let o = Command::new("timeout")
        .current_dir(&d)
        .args([
            "300",
            env!("CARGO_BIN_EXE_gpuos"),
            "run",
            "--backend",
            "cpu",
            "--threads",
            "4",
        ])
        .args([
            "--lanes",
            &lanes.to_string(),
            x.to_str().unwrap(),
            "ctr.bin",
            iters,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let got = check(&d);
    // The oracle: as many qemu processes updating one file at once.
    let q = tmp("xlane-qemu");
    std::fs::write(q.join("ctr.bin"), [0u8; 4096]).unwrap();
    let kids: Vec<_> = (0..lanes)
        .map(|_| {
            Command::new(qemu())
                .current_dir(&q)
                .args([x.to_str().unwrap(), "ctr.bin", iters])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    let want = check(&q);
    assert!(want.ends_with("all exact\n"), "qemu: {want}");
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(&q);
}

/// A process's threads run on spare lanes beside its own lane (issue 16,
/// kernel/proc/spare.h): with three spare lanes, every section of tests/guest/spare.c
/// (threads that compute while the process maps and unmaps memory, forks, changes
/// protections, signals them or exits) gives qemu's output and exit status, and the
/// spare lanes ran guest instructions (`-v`'s line). Bounded by `timeout`: a task that
/// never came home would hang its lane.
#[test]
fn threads_run_on_spare_lanes_as_under_qemu() {
    let bin = guest("spare");
    for section in [
        "compute", "churn", "fork", "mprotect", "signal", "exit", "forks",
    ] {
        let want = Command::new(qemu())
            .args([bin.to_str().unwrap(), section, "4"])
            .output()
            .expect("qemu runs");
        let got = Command::new("timeout")
            .args([
                "120",
                env!("CARGO_BIN_EXE_gpuos"),
                "run",
                "--backend",
                "cpu",
            ])
            .args(["--threads", "1", "--spare-lanes", "3", "-v"])
            .args([bin.to_str().unwrap(), section, "4"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{section}: stderr {}",
            stderr(&got)
        );
        assert_eq!(
            got.status.code(),
            want.status.code(),
            "{section}: {}",
            stderr(&got)
        );
        if section == "compute" {
            let err = stderr(&got);
            let ran: u64 = err
                .lines()
                .find_map(|l| l.split(" and ran ").nth(1))
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no spare-lane line in: {err}"));
            assert!(ran > 0, "the spare lanes ran nothing: {err}");
        }
    }
}
