// Shared build script of the crates that link tch (`cli/`, `model/`), included by their build.rs.
// With the `torch` feature: an rpath to the venv's `torch/lib` and `libtorch_cuda.so` kept linked
// (tch issues #907, #980), so binaries and tests use CUDA without LD_LIBRARY_PATH.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_USE_PYTORCH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../build-support/torch_link.rs");
    if std::env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let lib = torch_lib_dir();
    if let Some(dir) = lib {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:rustc-link-arg=-L{dir}");
    }
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    if lib
        .map(|d| std::path::Path::new(d).join("libtorch_cuda.so").exists())
        .unwrap_or(false)
    {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}

fn torch_lib_dir() -> Option<&'static str> {
    if let Ok(l) = std::env::var("LIBTORCH") {
        return Some(Box::leak(format!("{l}/lib").into_boxed_str()));
    }
    let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(py)
        .args([
            "-c",
            "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))",
        ])
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?;
    Some(Box::leak(s.trim().to_string().into_boxed_str()))
}
