use crate::cli::TuiArgs;

pub fn run(args: &TuiArgs) -> anyhow::Result<()> {
    let _ = args;
    crate::tui::check_this_terminal()?;
    anyhow::bail!("the console is not finished yet")
}
