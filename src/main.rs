fn main() -> std::process::ExitCode {
    let cli = meterscope::cli::Cli::parse_checked();
    meterscope::commands::run(cli)
}
