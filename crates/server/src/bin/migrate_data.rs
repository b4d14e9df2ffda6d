//! `migrate-data --from sqlite://PATH --to postgres://…`: copies a SQLite
//! installation into a fresh PostgreSQL database, keeping every id, in one
//! transaction, verified table by table (docs/deployment.md, "Growing out
//! of SQLite").

use std::process::ExitCode;

use livechat_store::transfer::{migrate_data, Options, Progress, TransferError};

const USAGE: &str = "usage: migrate-data --from sqlite://PATH --to postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE [--batch-size N]

Copies every table of a livechat SQLite database into an empty PostgreSQL
database (migrated first), keeping every id, in one transaction, then
verifies rows, ids and checksums per table and sets the sequences past the
highest ids. The source is only read, as one consistent snapshot.
--batch-size: rows per query (default 1000).

Exit codes: 0 copied, 1 the copy failed (nothing was committed),
2 bad arguments, 3 refused (e.g. the target is not empty).";

struct Args {
    from: String,
    to: String,
    options: Options,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let (mut from, mut to, mut options) = (None, None, Options::default());
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if !matches!(name, "--from" | "--to" | "--batch-size") {
            return Err(format!("unknown argument `{arg}`"));
        }
        let value = match inline {
            Some(v) => v,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name {
            "--from" => from = Some(value),
            "--to" => to = Some(value),
            _ => {
                options.batch_size = value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("--batch-size must be a number of at least 1, got `{value}`")
                })?;
            }
        }
    }
    match (from, to) {
        (Some(from), Some(to)) => Ok(Some(Args { from, to, options })),
        (None, _) => Err("--from is missing (the SQLite database: sqlite://PATH)".into()),
        (_, None) => Err("--to is missing (the PostgreSQL database: postgres://…)".into()),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("migrate-data: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut started = false;
    let mut progress = |p: Progress<'_>| {
        if !std::mem::replace(&mut started, true) {
            println!("migrate-data: copying in one transaction (nothing is committed until every table is verified)");
        }
        match p {
            Progress::Rows { table, rows } => println!("  {table}: {rows} rows so far"),
            Progress::Table(t) => println!("  {}: {} rows copied and verified", t.table, t.rows),
        }
    };
    match migrate_data(&args.from, &args.to, &args.options, &mut progress) {
        Ok(report) => {
            print!("{}", report.summary());
            println!(
                "migrate-data: committed {} tables; rows, ids and checksums match the source. \
                 Point DATABASE_URL at the PostgreSQL database and start the server.",
                report.tables.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migrate-data: {e}");
            ExitCode::from(match e {
                TransferError::Failed(_) => 1,
                TransferError::Usage(_) => 2,
                TransferError::Refused(_) => 3,
            })
        }
    }
}
