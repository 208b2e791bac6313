//! The standalone `escala` binary: commands that need no user model.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// escala: describe a system once in Rust, compile it to deployment files.
///
/// Building, diffing and checking run from your own `infra.rs` (`cargo run -- build`);
/// this binary holds the commands that need no model.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every diagnostic code with its summary.
    Codes,
    /// Explain one diagnostic code.
    Explain {
        /// The code, e.g. `escala::ref::unknown`.
        code: String,
    },
    /// Print the JSON Schema of the model (`System`).
    Schema,
}

fn all_codes() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = escala_core::codes::ALL.to_vec();
    all.extend(escala_targets::codes());
    all
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Codes => {
            for (code, summary) in all_codes() {
                println!("{code:48} {summary}");
            }
            ExitCode::SUCCESS
        }
        Command::Explain { code } => {
            match all_codes().into_iter().find(|(c, _)| *c == code) {
                Some((c, summary)) => {
                    println!("{c}: {summary}\nSee the book's \"Diagnostics\" page for an example and a fix.");
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("error: unknown code `{code}`; `escala codes` lists them all");
                    ExitCode::from(2)
                }
            }
        }
        Command::Schema => {
            print!("{}", escala_cli::schema_json());
            ExitCode::SUCCESS
        }
    }
}
