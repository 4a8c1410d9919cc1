//! The command line: `serve`, `migrate`, `openapi`, `backup`, `keys rotate`, `retries run`,
//! `seller create|list`, `token create|list|revoke`.

mod accounts;

use std::io::{BufRead, Write};
use std::path::PathBuf;

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{ServeArgs, StoreArgs, SyncArgs};
use crate::domain::{Email, Password, limits, optional_bounded};
use crate::store::{Store, latest_version};
use crate::sync::Engine;
use crate::{Error, Result, api, app, datadir};

/// On-premise order-to-POS sync: MenuMaker orders into Square, Zoho Inventory and Dine POS.
#[derive(Debug, Parser)]
#[command(name = "possync", version, about, long_about = None)]
pub struct Cli {
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `possync=debug,info`).
    #[arg(long, env = "POSSYNC_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log line format on stderr.
    #[arg(
        long,
        env = "POSSYNC_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line (for journald/Loki/ELK).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API, sync workers and scheduler.
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database, then exit.
    Migrate(StoreArgs),
    /// Print the OpenAPI spec (JSON).
    Openapi,
    /// Manage seller accounts.
    #[command(subcommand)]
    Seller(SellerCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Work the sync outbox by hand.
    #[command(subcommand)]
    Retries(RetriesCommand),
    /// Copy the database consistently while the service runs (SQLite online backup).
    Backup {
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Manage the master keys that seal POS tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new master key to the key file and re-seal every stored token under it, in one
    /// transaction. Old keys stay in the file (back it up with the database).
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetriesCommand {
    /// Push every sync log that is due now, once, and print how many (the integration guide's
    /// cron job; `serve` does this continuously).
    Run {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        sync: Box<SyncArgs>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SellerCommand {
    /// Create a seller; the password is read from `--password-file` or the first line of stdin.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// Login email.
        #[arg(long, env = "POSSYNC_EMAIL")]
        email: String,
        /// Display name.
        #[arg(long, env = "POSSYNC_NAME")]
        name: Option<String>,
        /// File whose first line is the password.
        #[arg(long, env = "POSSYNC_PASSWORD_FILE")]
        password_file: Option<PathBuf>,
    },
    /// List every seller (id, email, name, created), one a line, tab-separated.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a long-lived API token for a machine client and print it once.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The seller the token acts for.
        #[arg(long, env = "POSSYNC_EMAIL")]
        email: String,
        /// What the token is for (e.g. `menumaker-cloud`).
        #[arg(long, env = "POSSYNC_TOKEN_NAME")]
        name: String,
    },
    /// List a seller's tokens (id, kind, name, created, expires, state), one a line,
    /// tab-separated; never their values, which possync does not keep.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// The seller whose tokens to list.
        #[arg(long, env = "POSSYNC_EMAIL")]
        email: String,
    },
    /// Revoke a token by its id (from `token list`): the next request with it is a 401.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The token's id.
        #[arg(long)]
        id: String,
    },
}

fn open(store: &StoreArgs) -> Result<Store> {
    Ok(app::open_store(store, 2)?.0)
}

/// The database of a command that works on what is there: never created, so a mistyped
/// `--data-dir` is an error naming where it looked, not an empty success.
fn open_existing(store: &StoreArgs) -> Result<Store> {
    let path = datadir::existing_database(store)?;
    Store::open_existing(&path, store.durability, 2)
}

fn read_password(file: Option<&PathBuf>) -> Result<Password> {
    let line = match file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line
        }
    };
    Password::parse(line.trim_end_matches(['\r', '\n']))
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => crate::run(*args),
        Command::Migrate(args) => {
            let store = open(&args)?;
            println!(
                "{} is at schema version {} (this possync knows up to {})",
                args.database_path().display(),
                store.schema_version()?,
                latest_version()
            );
            Ok(())
        }
        Command::Openapi => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", api::spec_json())?;
            Ok(())
        }
        Command::Seller(SellerCommand::Create {
            store,
            email,
            name,
            password_file,
        }) => {
            let email = Email::parse("email", &email)?;
            let name = optional_bounded("name", name.as_deref(), limits::NAME)?;
            let password = read_password(password_file.as_ref())?;
            let store = open(&store)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let seller =
                runtime.block_on(crate::accounts::register(&store, email, password, name))?;
            println!("created seller {} <{}>", seller.id, seller.email);
            Ok(())
        }
        Command::Retries(RetriesCommand::Run { store, sync }) => {
            datadir::existing_database(&store)?;
            let (store, keyring) = app::open_store(&store, 2)?;
            let engine = Engine::new(store, Arc::new(keyring), &sync)?;
            engine.reclaim(false)?;
            let processed = engine.run_due()?;
            println!("processed {processed} due sync logs");
            Ok(())
        }
        Command::Backup { store, to } => {
            let db = open_existing(&store)?;
            db.backup_to(&to)?;
            println!(
                "backed up {} to {}",
                store.database_path().display(),
                to.display()
            );
            eprintln!(
                "Keep a copy of {} with it: the POS tokens in the backup open only with that key.",
                store.master_key_path().display()
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { store: args }) => {
            if args.master_key.is_some() {
                return Err(Error::Config(
                    "keys rotate works on the key file; POSSYNC_MASTER_KEY is set. Rotate by \
                     moving to a key file (--master-key-file) first"
                        .into(),
                ));
            }
            // Check the current key opens everything before touching anything.
            datadir::existing_database(&args)?;
            let (store, _old) = app::open_store(&args, 2)?;
            let path = args.master_key_path();
            let keyring = std::sync::Arc::new(crate::crypto::Keyring::add_key_to_file(&path)?);
            let sealing = keyring.clone();
            let resealed =
                store.write(move |tx| crate::store::integrations::reseal_all(tx, &sealing))?;
            println!(
                "re-sealed {resealed} tokens under new master key {} ({})",
                keyring.current_id(),
                path.display()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create { store, email, name }) => {
            let email = Email::parse("email", &email)?;
            let name = crate::domain::bounded("name", &name, limits::NAME)?;
            let store = open_existing(&store)?;
            let token = crate::accounts::create_api_token(&store, &email, &name)?;
            println!("{}", token.expose());
            eprintln!("This token is shown once and does not expire; store it in a secret store.");
            Ok(())
        }
        Command::Token(TokenCommand::List { store, email }) => {
            let email = Email::parse("email", &email)?;
            accounts::list_tokens(&open_existing(&store)?, &email)
        }
        Command::Token(TokenCommand::Revoke { store, id }) => {
            let id = crate::domain::parse_id("id", &id)?.to_string();
            accounts::revoke_token(&open_existing(&store)?, &id)
        }
        Command::Seller(SellerCommand::List { store }) => {
            accounts::list_sellers(&open_existing(&store)?)
        }
    }
}
