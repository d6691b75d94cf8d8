fn main() -> std::process::ExitCode {
    git_osa::main()
}
