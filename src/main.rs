use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = meterscope::cli::Cli::parse();
    meterscope::commands::run(cli)
}
