//! The `reghivedump` executable: see [`reghivedump::cli`].

#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(reghivedump::cli::main(&args));
}
