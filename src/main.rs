//! `callpro`: the one binary. `serve` runs the management API (and, as they land, the engine,
//! dialer and IVR); `migrate` applies database migrations; `user create` adds an account.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context as _;
use callpro_api::config::Config;
use callpro_api::db::Db;
use callpro_api::models::user::Role;
use callpro_api::outbound::DialerConfig;
use callpro_api::{server, telemetry};
use clap::{Parser, Subcommand, ValueEnum};

/// Telephony-first contact-center engine beside Asterisk.
#[derive(Debug, Parser)]
#[command(name = "callpro", version, about)]
struct Cli {
    /// TOML configuration file (every key can also be set with a CALLPRO_* variable).
    #[arg(long, global = true, env = "CALLPRO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run the PACE-1 call-center simulation and print the pacing scorecard.
    Simulate {
        /// Scenario name (e.g. `n50-r30`, `n200-r30-drift`) or `all`.
        #[arg(long, default_value = "all")]
        scenario: String,
        /// Pacing policy: progressive, power or predictive.
        #[arg(long, default_value = "predictive")]
        policy: String,
        /// Seed range, inclusive (`1000..1019` are the reporting seeds).
        #[arg(long, default_value = "1000..1019")]
        seeds: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Render Asterisk's configuration (pjsip, dialplan with the DIDs, queues, ConfBridge, AMI)
    /// from the database.
    AsteriskConfig {
        /// Directory to write `pjsip.conf`, `extensions.conf`, `queues.conf`,
        /// `confbridge.conf` and `manager.conf` into (created if missing).
        #[arg(long, default_value = "asterisk-rendered")]
        out: PathBuf,
        /// `host:port` Asterisk reaches callpro's FastAGI server at (default: `agi.bind`, with
        /// an unspecified address replaced by 127.0.0.1).
        #[arg(long)]
        agi_address: Option<String>,
        /// Render only this call center's trunks, agents, DIDs and queues.
        #[arg(long)]
        call_center: Option<i64>,
    },
    /// Manage users from the command line.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; prints the generated password when none is given.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Call center id (required for every role but super-admin).
        #[arg(long)]
        call_center: Option<i64>,
        /// Display name (defaults to the email).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from this environment variable instead of generating one.
        #[arg(long)]
        password_env: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    SuperAdmin,
    Owner,
    Supervisor,
    Agent,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::SuperAdmin => Role::SuperAdmin,
            RoleArg::Owner => Role::Owner,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Agent => Role::Agent,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Simulate {
        scenario,
        policy,
        seeds,
        json,
    } = &cli.command
    {
        // Pure computation: no configuration, database or runtime needed.
        return simulate(scenario, policy, seeds, *json);
    }
    // One TLS crypto provider for the whole process, before anything builds a rustls config.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve => runtime.block_on(serve(config)),
        Command::Migrate => {
            let db = Db::connect(&config.database)?;
            let applied = db.migrate()?;
            println!("{applied} migration(s) applied ({})", db.kind().as_str());
            Ok(())
        }
        Command::User { command } => create_user(config, command),
        Command::AsteriskConfig {
            out,
            agi_address,
            call_center,
        } => asterisk_config(config, &out, agi_address, call_center),
        Command::Simulate { .. } => Ok(()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.http.bind.clone();
    let public_url = config.public_url();
    let (state, admin) = server::prepare(config).await?;
    let engine = state.engine.clone();
    if let Some(admin) = admin {
        match admin.generated_password {
            Some(password) => eprintln!(
                "callpro: created the super admin {} with password {password}\n\
                 callpro: this password is shown once; change it after logging in",
                admin.email
            ),
            None => eprintln!("callpro: created the super admin {}", admin.email),
        }
    }
    let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
    let dialer = callpro_api::outbound::runtime::spawn(state.clone(), DialerConfig::default());
    if dialer.is_none() {
        tracing::info!("no Asterisk connection configured: campaigns are not dialed");
    }
    let outbox = state.config.email.worker.then(|| {
        callpro_api::email::worker::spawn(state.clone(), state.config.email.worker_config())
    });
    let sweeper = state.config.leads.sweeper.then(|| {
        callpro_api::leadflow::reminders::spawn(
            state.clone(),
            state.config.leads.reminder_config(&public_url),
        )
    });
    let server = server::start(state, listener, true)?;
    tracing::info!(url = %public_url, "callpro is listening");
    println!("callpro listening on {public_url}");
    server.await?;
    if let Some(dialer) = dialer {
        dialer.shutdown().await;
    }
    if let Some(sweeper) = sweeper {
        sweeper.shutdown().await;
    }
    if let Some(outbox) = outbox {
        outbox.shutdown().await;
    }
    engine.shutdown().await;
    tracing::info!("callpro stopped");
    Ok(())
}

fn create_user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        email,
        role,
        call_center,
        name,
        password_env,
    } = command;
    let password = match password_env {
        Some(var) => Some(std::env::var(&var).with_context(|| format!("{var} is not set"))?),
        None => None,
    };
    let db = Db::connect(&config.database)?;
    db.migrate()?;
    let created = callpro_api::admin::create_user(
        &db,
        callpro_api::admin::NewUserSpec {
            email,
            display_name: name,
            role: role.into(),
            call_center_id: call_center,
            password,
        },
    )?;
    println!(
        "created user {} ({}) with id {}",
        created.email, created.role, created.id
    );
    if let Some(password) = created.generated_password {
        println!("password: {password}");
    }
    Ok(())
}

fn asterisk_config(
    config: Config,
    out: &std::path::Path,
    agi_address: Option<String>,
    call_center_id: Option<i64>,
) -> anyhow::Result<()> {
    use callpro_api::asterisk::{self, RenderOptions};
    let agi_address = match agi_address {
        Some(a) => a,
        None => {
            let bind: std::net::SocketAddr = config
                .agi
                .bind
                .parse()
                .with_context(|| format!("agi.bind {:?} is not an address", config.agi.bind))?;
            let ip = if bind.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                bind.ip()
            };
            std::net::SocketAddr::new(ip, bind.port()).to_string()
        }
    };
    let ami_account = match &config.ami.url {
        Some(url) => {
            let ami = callpro_engine::ami::AmiConfig::from_url(url.expose())?;
            Some((ami.username.clone(), ami.secret.expose().to_owned()))
        }
        None => None,
    };
    let secrets = callpro_api::crypto::SecretBox::from_config(&config.secrets)?;
    let db = Db::connect(&config.database)?;
    db.migrate()?;
    let mut conn = db.get()?;
    let rendered = asterisk::render(
        &mut conn,
        &secrets,
        &RenderOptions {
            agi_address,
            ami_account,
            call_center_id,
        },
    )?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for file in &rendered.files {
        let path = out.join(file.name);
        write_file(&path, &file.contents, file.secret)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "{} trunk(s), {} agent endpoint(s), {} new agent SIP password(s), {} DID(s), {} queue(s)",
        rendered.trunks,
        rendered.agents,
        rendered.generated_secrets,
        rendered.dids,
        rendered.queues
    );
    Ok(())
}

/// Writes a file; files holding passwords are readable by their owner only.
fn write_file(path: &std::path::Path, contents: &str, secret: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents.as_bytes())
}

fn simulate(scenario: &str, policy: &str, seeds: &str, json: bool) -> anyhow::Result<()> {
    use callpro_dialer::pacing::PacingMode;
    use callpro_dialer::sim::{self, Scenario, Seeds};
    let scenarios = Scenario::parse(scenario)?;
    let mode = PacingMode::from_name(policy)?;
    let seeds: Seeds = seeds.parse()?;
    let reports = sim::run_all(&scenarios, &mode, seeds)?;
    if json {
        println!("{}", sim::to_json(&reports)?);
    } else {
        print!("{}", sim::format_table(&reports));
    }
    Ok(())
}
