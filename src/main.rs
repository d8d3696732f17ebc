fn main() -> std::process::ExitCode {
    probtrack::run(std::env::args_os())
}
