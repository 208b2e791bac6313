//! Command-line arguments (clap), shared by `escala::run` and the `escala` binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Arguments of a user's `infra.rs` program (`cargo run -- build`).
#[derive(Debug, Parser)]
#[command(about = "Compile this system's model into deployment files", version)]
pub struct InfraCli {
    /// What to do.
    #[command(subcommand)]
    pub command: InfraCommand,
    /// Output options.
    #[command(flatten)]
    pub global: Global,
}

/// Subcommands of a user's `infra.rs` program.
#[derive(Debug, Subcommand)]
pub enum InfraCommand {
    /// Write the generated files under `--out`.
    Build(BuildArgs),
    /// Show how the files on disk differ from what would be generated (exit 1 if they do).
    Diff(Selection),
    /// Exit 1, listing the files, when the files on disk differ from what would be generated.
    Check(Selection),
    /// Print the plan of a phase (`PLAN.md`): capacity, cost, the move from the previous
    /// phase (or FROM) and its checklist.
    Plan(PlanArgs),
}

/// Arguments of `plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The phase moved from (the one before TO unless given), then the phase moved to.
    #[arg(value_name = "PHASE", num_args = 1..=2, required = true)]
    pub phases: Vec<String>,
}

/// Options every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// When to color the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human, global = true)]
    pub error_format: ErrorFormat,
}

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// For people, on stderr.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// Which phases and targets to generate, and where.
#[derive(Debug, Clone, Args)]
pub struct Selection {
    /// The output directory; files go to `<out>/<phase>/<target>/`.
    #[arg(long, default_value = "deploy")]
    pub out: PathBuf,
    /// Only these phases (repeatable).
    #[arg(long = "phase", value_name = "PHASE")]
    pub phases: Vec<String>,
    /// Only these targets (repeatable).
    #[arg(long = "target", value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Treat fidelity warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Threads to render on (default: one per core for a large model, one for a small one).
    /// The files are the same for any number.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Arguments of `build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Which phases and targets.
    #[command(flatten)]
    pub selection: Selection,
    /// Delete generated files that the model no longer produces.
    #[arg(long)]
    pub prune: bool,
}
