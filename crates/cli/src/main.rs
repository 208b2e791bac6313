//! The standalone `escala` binary: commands that need no user model.

use std::path::PathBuf;
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
    /// Turn docker-compose files into an `infra.rs`.
    Import {
        /// The compose file.
        file: PathBuf,
        /// More compose files, merged in order (as `docker compose -f a -f b`).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        more: Vec<PathBuf>,
        /// The `.env` file for `${VAR}` interpolation (default: `.env` beside the first file).
        #[arg(long)]
        env_file: Option<PathBuf>,
        /// Write `infra.rs` here instead of printing it.
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
        /// Overwrite `--out` if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Scaffold a new infra repository: `Cargo.toml`, `infra.rs`, `.gitignore`.
    Init {
        /// The directory (created if missing). A compose file in it becomes the `infra.rs`.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Depend on escala's sources at this path (default: the checkout this binary was
        /// built from, if it is still there).
        #[arg(long)]
        escala_path: Option<PathBuf>,
    },
}

fn all_codes() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = escala_core::codes::ALL.to_vec();
    all.extend(escala_targets::codes());
    all.extend_from_slice(escala_cli::import::codes::ALL);
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
        Command::Import {
            file,
            more,
            env_file,
            out,
            force,
        } => escala_cli::cmd::import::run(&file, &more, env_file.as_deref(), out.as_deref(), force)
            .into(),
        Command::Init { dir, escala_path } => {
            escala_cli::cmd::init::run(&dir, escala_path.as_deref()).into()
        }
        Command::Schema => {
            print!("{}", escala_cli::schema_json());
            ExitCode::SUCCESS
        }
    }
}
