//! Helpers of the `pixelrnn` binary's end-to-end tests: running it, writing PNGs, reading them
//! back, and what a folder holds. Each test file uses some of them.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_pixelrnn");

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("runs")
}

pub fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn write_png(dir: &Path, name: &str, w: u32, h: u32, c: u8) -> PathBuf {
    let px: Vec<u8> = (0..w * h * c as u32).map(|i| (i * 37 % 251) as u8).collect();
    let p = dir.join(name);
    let color = [
        image::ExtendedColorType::L8,
        image::ExtendedColorType::La8,
        image::ExtendedColorType::Rgb8,
        image::ExtendedColorType::Rgba8,
    ][c as usize - 1];
    image::save_buffer(&p, &px, w, h, color).unwrap();
    p
}

pub fn pixels(p: &Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(p).unwrap();
    (img.width(), img.height(), img.into_bytes())
}

/// `info` on `prnn` (in `dir`) prints `text`, and `decompress` gives back `png`'s pixels (as
/// `out`).
pub fn info_says_and_decodes(dir: &Path, prnn: &str, text: &str, (png, out): (&str, &str)) {
    let o = run(dir, &["info", prnn]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(text), "{prnn}: no {text:?}");
    let o = run(dir, &["decompress", prnn, "-o", out]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pixels(&dir.join(png)), pixels(&dir.join(out)), "{prnn}");
}

/// Only the named files exist in `dir` (no temporary or partial files).
pub fn assert_files(dir: &Path, want: &[&str]) {
    let mut got: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}
